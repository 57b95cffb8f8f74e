"""Fixtures for the processing tests: the real Mauna Loa CO2 series and synthetic gappy frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapcast.processing import SeriesFrame

SHIPPED_CSV = Path(__file__).parents[2] / "src" / "gapcast" / "data" / "mauna_loa_co2_weekly.csv"
RAW_CSV = Path("/tmp/co2_raw.csv")  # the original download: `date` YYYYMMDD, `co2`

HOUR = 3_600 * 10**9
WEEK = 7 * 24 * HOUR


def read_co2() -> pd.DataFrame:
    """The weekly CO2 series as `timestamp`, `co2_ppm`, from whichever copy exists."""
    if SHIPPED_CSV.exists():
        return pd.read_csv(SHIPPED_CSV)
    if RAW_CSV.exists():
        raw = pd.read_csv(RAW_CSV, dtype={"date": str})
        return pd.DataFrame(
            {"timestamp": pd.to_datetime(raw["date"], format="%Y%m%d"), "co2_ppm": raw["co2"]}
        )
    raise FileNotFoundError(f"neither {SHIPPED_CSV} nor {RAW_CSV} exists")


@pytest.fixture(scope="session")
def co2_frame() -> SeriesFrame:
    return SeriesFrame.from_pandas(read_co2())


def gappy_frame(
    n: int = 500,
    channels: int = 2,
    seed: int = 0,
    gaps: tuple[tuple[int, int], ...] = ((50, 2), (120, 20), (300, 1), (410, 3)),
    freq: int = HOUR,
) -> SeriesFrame:
    """An hourly multichannel series with a trend, a daily season and the given (start, length)
    gaps, half of them as absent rows and half as NaN values."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = np.stack(
        [
            10.0 * c + 0.05 * t + np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(n)
            for c in range(channels)
        ]
    )
    keep = np.ones(n, bool)
    for i, (start, length) in enumerate(gaps):
        if i % 2:
            keep[start : start + length] = False
        else:
            values[:, start : start + length] = np.nan
    ts = 1_700_000_000 * 10**9 - (1_700_000_000 * 10**9) % (24 * HOUR) + t * freq
    return SeriesFrame.from_arrays(ts[keep], values[:, keep], [f"ch{c}" for c in range(channels)])


@pytest.fixture
def frame() -> SeriesFrame:
    return gappy_frame()
