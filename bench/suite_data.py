"""The forecast-quality suite: real series as small CSVs in bench/suite/, and their regular grids.

Each CSV is ``timestamp,<value>`` with ISO 8601 UTC timestamps; an unobserved step is an absent
row, the way a user uploads gappy data to gapcast. bench/suite/README.md says where each series
comes from, its licence and what was cut; bench/suite/export_suite.py wrote the files.

Nothing here needs the ``bench`` extra: the tests import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

SUITE_DIR = Path(__file__).resolve().parent / "suite"


@dataclass(frozen=True, eq=False)
class SuiteSeries:
    """One suite series as read from its CSV (``timestamp`` UTC + one value column)."""

    name: str
    frame: pd.DataFrame
    value_column: str
    freq: str  # pandas alias of the grid step: '5min', '30min', '1h', '1D', '7D'
    description: str
    outages: str  # "real" or "cut at seed N"
    seasons: tuple[int, ...]  # season lengths in steps, the main (shortest) first
    horizon: int  # steps forecast from each backtest origin

    @property
    def step_ns(self) -> int:
        return int(pd.Timedelta(self.freq).value)


@dataclass(frozen=True)
class _Entry:
    file: str
    value_column: str
    freq: str
    seasons: tuple[int, ...]
    horizon: int
    outages: str
    description: str


CATALOG: tuple[_Entry, ...] = (
    _Entry(
        "glucose_5min.csv",
        "glucose_mg_dl",
        "5min",
        (288,),
        72,
        "real",
        "Continuous glucose monitor of one person, 5-min readings, Jul-Oct 2010 "
        "(bokeh_sampledata); real sensor outages up to ~28 h",
    ),
    _Entry(
        "uk_demand_30min.csv",
        "demand_mw",
        "30min",
        (48, 336),
        48,
        "cut at seed 1",
        "Half-hourly electricity demand, England and Wales, Jun-Aug 2000 (Taylor 2003, via "
        "pytimetk); Sunday 00:00-02:59 maintenance windows, random outages and points cut",
    ),
    _Entry(
        "sea_temp_hourly.csv",
        "temp_c",
        "1h",
        (24,),
        24,
        "cut at seed 2",
        "Hourly sea surface temperature, NERACOOS buoy B01 (Gulf of Maine), Feb 2016-Mar 2017 "
        "(bokeh_sampledata); one real 12-h gap, random outages and points cut",
    ),
    _Entry(
        "bike_sharing_daily.csv",
        "rentals",
        "1D",
        (7, 365),
        14,
        "cut at seed 3",
        "Capital Bikeshare daily rentals 2011-2012 (UCI, via pytimetk); multi-day outages and "
        "days cut",
    ),
    _Entry(
        "co2_weekly.csv",
        "co2_ppm",
        "7D",
        (52,),
        13,
        "real",
        "Mauna Loa weekly atmospheric CO2, 1958-2001 (statsmodels); real missing weeks",
    ),
)


# The held-out series (bench/held_out/README.md): no default was chosen on them, so they check
# that what the suite chose carries over. Every series of two sample sets, none left out.
HELD_OUT_DIR = Path(__file__).resolve().parent / "held_out"
M4_HOURLY_IDS = ("H10", "H150", "H410", "H50")
WIKIPEDIA_PAGES = (
    "DaiGo (ja, mobile web)",
    "Death of Freddie Gray (en, mobile web)",
    "Gordon Ramsay (en, all access)",
    "Philip, Duke of Edinburgh (de, desktop)",
    "Strasbourg (fr, all access)",
    "Robert De Niro (ru, desktop)",
    "International Space Station (ru, all access)",
    "Pornography (ru, desktop)",
    "Lev Yashin (ru, mobile web)",
    "Gen Hoshino (ja, all access)",
)
HELD_OUT: tuple[_Entry, ...] = tuple(
    _Entry(
        f"m4_{key}_hourly.csv",
        "value",
        "1h",
        (24, 168),
        24,
        f"cut at seed {10 + i}",
        f"M4 competition hourly series {key} (via pytimetk); outages and points cut",
    )
    for i, key in enumerate(M4_HOURLY_IDS)
) + tuple(
    _Entry(
        f"wiki_{i + 1:02d}_daily.csv",
        "views",
        "1D",
        (7,),
        14,
        f"cut at seed {20 + i}",
        f"Daily Wikipedia page views, {page}, Jul 2015-Dec 2016 (via pytimetk); outages and "
        "days cut",
    )
    for i, page in enumerate(WIKIPEDIA_PAGES)
)


def read_series(entry: _Entry, directory: Path = SUITE_DIR) -> SuiteSeries:
    frame = pd.read_csv(directory / entry.file)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    frame[entry.value_column] = frame[entry.value_column].astype("float64")
    return SuiteSeries(
        name=entry.file.removesuffix(".csv"),
        frame=frame,
        value_column=entry.value_column,
        freq=entry.freq,
        description=entry.description,
        outages=entry.outages,
        seasons=entry.seasons,
        horizon=entry.horizon,
    )


def load_suite(directory: Path = SUITE_DIR) -> list[SuiteSeries]:
    """Every suite series, in catalogue order."""
    return [read_series(entry, directory) for entry in CATALOG]


def load_held_out(directory: Path = HELD_OUT_DIR) -> list[SuiteSeries]:
    """Every held-out series, in catalogue order."""
    return [read_series(entry, directory) for entry in HELD_OUT]


def to_grid(series: SuiteSeries) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The regular grid from the first to the last timestamp, and values with NaN where absent.

    Raises ValueError when a timestamp is off the grid (the loader's frequency would be wrong).
    """
    ts = series.frame["timestamp"].dt.as_unit("ns").astype("int64").to_numpy()
    step = series.step_ns
    offsets = ts - ts[0]
    if np.any(offsets % step):
        bad = int(np.flatnonzero(offsets % step)[0])
        raise ValueError(
            f"{series.name}: expected every timestamp on a {series.freq} grid from the first, "
            f"received {series.frame['timestamp'].iloc[bad]} at row {bad}"
        )
    index = offsets // step
    grid_ts = ts[0] + np.arange(int(index[-1]) + 1, dtype=np.int64) * step
    values = np.full(grid_ts.size, np.nan)
    values[index] = series.frame[series.value_column].to_numpy(dtype=np.float64)
    return grid_ts, values
