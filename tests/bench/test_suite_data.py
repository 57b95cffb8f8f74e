"""The forecast-quality suite: every CSV imports with gapcast's own ingest, on the grid the loader
claims, with the outages bench/suite/README.md describes."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from gapcast.ingest import read_file
from gapcast.processing._time import infer_frequency

BENCH = Path(__file__).parents[2] / "bench"


def _load_suite_data() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the module from its file.
    spec = importlib.util.spec_from_file_location("suite_data", BENCH / "suite_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("suite_data", module)
    spec.loader.exec_module(module)
    return module


suite_data = _load_suite_data()
SUITE = {s.name: s for s in suite_data.load_suite()}
HELD_OUT = {s.name: s for s in suite_data.load_held_out()}
README = (suite_data.SUITE_DIR / "README.md").read_text()
HELD_OUT_README = (suite_data.HELD_OUT_DIR / "README.md").read_text()


def grid(name: str) -> tuple[np.ndarray, np.ndarray]:
    ts, values = suite_data.to_grid(SUITE[name])
    return ts, values


def gap_runs(values: np.ndarray) -> np.ndarray:
    """Lengths of the runs of unobserved steps."""
    edges = np.diff(np.concatenate([[0], np.isnan(values).astype(int), [0]]))
    return np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)


def test_the_suite_has_five_series_with_distinct_frequencies() -> None:
    assert len(SUITE) >= 5
    assert [s.freq for s in SUITE.values()] == ["5min", "30min", "1h", "1D", "7D"]


@pytest.mark.parametrize(
    ("directory", "name"),
    [(suite_data.SUITE_DIR, name) for name in SUITE]
    + [(suite_data.HELD_OUT_DIR, name) for name in HELD_OUT],
)
def test_csv_imports_with_gapcast_ingest_on_the_claimed_grid(directory: Path, name: str) -> None:
    series = {**SUITE, **HELD_OUT}[name]
    path = directory / f"{name}.csv"
    assert path.stat().st_size <= 1_500_000
    table = read_file(path)
    assert table.channels == [series.value_column]
    # Unobserved steps are absent rows, not rows with an empty value.
    assert table.missing_cells == {series.value_column: 0}
    assert table.duplicates_merged == 0
    assert table.timestamps_ns.tolist() == (
        series.frame["timestamp"].dt.as_unit("ns").astype("int64").tolist()
    )
    np.testing.assert_array_equal(table.values[0], series.frame[series.value_column].to_numpy())
    assert infer_frequency(table.timestamps_ns) == pd.Timedelta(series.freq).value
    ts, values = suite_data.to_grid(series)
    assert np.all(np.diff(ts) == series.step_ns)
    assert ts[0] == table.timestamps_ns[0] and ts[-1] == table.timestamps_ns[-1]
    assert int(np.count_nonzero(~np.isnan(values))) == len(series.frame)
    # Every series has gaps; the longest season fits in the training part (the first 85%) and
    # the test part holds several horizons.
    assert np.isnan(values).any()
    assert max(series.seasons) < 0.85 * len(values) and 0.15 * len(values) > 3 * series.horizon


def test_to_grid_refuses_a_timestamp_off_the_grid() -> None:
    series = SUITE["uk_demand_30min"]
    frame = series.frame.copy()
    frame.loc[3, "timestamp"] += pd.Timedelta("7min")
    moved = suite_data.SuiteSeries(**{**series.__dict__, "frame": frame})
    with pytest.raises(ValueError, match=r"expected every timestamp on a 30min grid"):
        suite_data.to_grid(moved)


def test_readme_describes_every_file_and_only_those() -> None:
    files = sorted(p.name for p in suite_data.SUITE_DIR.glob("*.csv"))
    assert files == sorted(f"{name}.csv" for name in SUITE)
    for name, series in SUITE.items():
        assert f"### `{name}.csv`" in README
        assert f"| `{name}.csv` |" in README
        row = next(line for line in README.splitlines() if line.startswith(f"| `{name}.csv` |"))
        assert f"| {len(series.frame):,} |" in row
        stamps = series.frame["timestamp"]
        shape = "%Y-%m-%d %H:%M" if series.step_ns < 86_400 * 10**9 else "%Y-%m-%d"
        assert f"| {stamps.iloc[0]:{shape}} – {stamps.iloc[-1]:{shape}} |" in row
        assert row.rstrip().endswith(f"| {series.outages} |")
        if series.outages != "real":
            seed = re.fullmatch(r"cut at seed (\d+)", series.outages)
            assert seed is not None and f"seed {seed[1]})" in README


def test_held_out_readme_describes_every_file_and_only_those() -> None:
    files = sorted(p.name for p in suite_data.HELD_OUT_DIR.glob("*.csv"))
    assert files == sorted(f"{name}.csv" for name in HELD_OUT)
    # Every series of both sample sets: four M4 hourly series and ten Wikipedia pages.
    assert [s.freq for s in HELD_OUT.values()] == ["1h"] * 4 + ["1D"] * 10
    assert not set(HELD_OUT) & set(SUITE)
    for name, series in HELD_OUT.items():
        row = next(
            line for line in HELD_OUT_README.splitlines() if line.startswith(f"| `{name}.csv` |")
        )
        assert f"| {len(series.frame):,} |" in row
        assert row.rstrip().endswith(f"| {series.outages} |")
        _, values = suite_data.to_grid(series)
        assert f"| {len(values):,} |" in row
        assert f"| {gap_runs(values).max()} " in row


def test_held_out_outages_are_one_per_third_plus_isolated_points() -> None:
    for series in HELD_OUT.values():
        _, values = suite_data.to_grid(series)
        runs = gap_runs(values)
        longest = 24 if series.freq == "1h" else 7
        assert len(runs[runs > 1]) == 3 and runs.max() <= longest
        assert np.sum(runs == 1) == round(0.01 * len(values))


def test_uk_demand_misses_every_sunday_maintenance_window() -> None:
    ts, values = grid("uk_demand_30min")
    when = pd.to_datetime(ts, utc=True)
    window = (when.day_of_week == 6) & (when.hour < 3)
    assert window.sum() == 12 * 6
    assert np.isnan(values[window]).all()
    # The cut at seed 1: five outages of 2 h to 1 day plus 40 isolated half-hours.
    runs = gap_runs(np.where(window, 0.0, values))
    assert np.sum(runs == 1) == 40
    long = runs[runs >= 4]
    assert len(long) == 5 and long.max() <= 48
    observed = ~np.isnan(values)
    assert observed[0] and observed[-1]


def test_sea_temp_and_bike_outages_cut_as_described() -> None:
    ts, temp = grid("sea_temp_hourly")
    runs = gap_runs(temp)
    assert np.sum(runs == 1) == 96
    # Six cut outages and the buoy's real 12-hour gap of 2016-07-08.
    assert sorted(runs[runs > 1].tolist()) == [5, 10, 12, 12, 12, 20, 21]
    real = (ts >= pd.Timestamp("2016-07-08T02:00Z").value) & (
        ts <= pd.Timestamp("2016-07-08T13:00Z").value
    )
    assert real.sum() == 12 and np.isnan(temp[real]).all()
    _, rentals = grid("bike_sharing_daily")
    runs = gap_runs(rentals)
    assert np.sum(runs == 1) == 7
    assert sorted(runs[runs > 1].tolist()) == [3, 3, 6, 7]
    # The 7-day outage falls in the test part (the last 15% of the grid).
    test_start = round(len(rentals) * 0.85)
    assert gap_runs(rentals[test_start:]).tolist() == [7]


def test_real_outages_are_kept() -> None:
    ts, glucose = grid("glucose_5min")
    runs = gap_runs(glucose)
    assert runs.max() * 5 / 60 > 27  # the ~28 h sensor outage of July 2010
    assert np.sum(runs * 5 >= 6 * 60) >= 5
    assert len(ts) < 30_000
    _, co2 = grid("co2_weekly")
    assert int(np.isnan(co2).sum()) == 59
    assert gap_runs(co2).max() == 18
