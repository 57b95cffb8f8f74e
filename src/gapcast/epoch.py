"""Epoch numbers as times: seconds, milli-, micro- or nanoseconds since 1970, told apart by size.

One rule for every door data comes in by (``gapcast import``, a DataFrame given to the library):
JavaScript, Kafka and many loggers write milliseconds, databases Unix seconds, numpy nanoseconds.
Spreadsheets write serial dates, days since 1899-12-30 (45292.5 is noon on 1 January 2024): a
column whose numbers all lie between 20,000 and 80,000 (1954 to 2119) is read so, since as epoch
seconds every one of them would fall on 1 January 1970.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

# Inside the range of a nanosecond timestamp (1677-09-21 to 2262-04-11), with a margin.
MAX_EPOCH_S = 9.2e9
# Epoch numbers per second by unit, and the size from which a column's typical value is read in
# that unit: 1e11 seconds is the year 5138, 1e11 milliseconds is March 1973.
EPOCH_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
EPOCH_FROM = (("ns", 1e17), ("us", 1e14), ("ms", 1e11))
SERIAL_DAYS = (20_000.0, 80_000.0)
SERIAL_ORIGIN = pd.Timestamp("1899-12-30", tz="UTC")
SPREADSHEET = "days"  # the unit of spreadsheet serial dates


def epoch_unit(numbers: pd.Series) -> str:
    """The epoch unit of a numeric time column, from the size of its median value; ``"days"``:
    spreadsheet serial dates (see the module docstring)."""
    if SERIAL_DAYS[0] <= float(numbers.min()) and float(numbers.max()) <= SERIAL_DAYS[1]:
        return SPREADSHEET
    typical = float(numbers.abs().median())
    return next((unit for unit, start in EPOCH_FROM if typical >= start), "s")


def epoch_out_of_range(numbers: pd.Series, unit: str) -> NDArray[np.bool_]:
    """Where epoch numbers in ``unit`` fall outside what a nanosecond timestamp holds."""
    if unit == SPREADSHEET:
        return np.zeros(len(numbers), dtype=bool)  # 1954 to 2119, by the rule that chose it
    seconds = numbers.astype("float64") / EPOCH_UNITS[unit]
    return np.asarray(~(seconds.abs() < MAX_EPOCH_S), dtype=bool)


def from_epoch(numbers: pd.Series, unit: str) -> pd.Series:
    """Epoch numbers in ``unit`` (in range) as UTC datetimes, NaT where a number is missing."""
    if unit == SPREADSHEET:
        # A serial date's fraction of a day is a binary fraction (1 h = 0.041666...): rounded to
        # the millisecond, an hour is an hour.
        days = pd.to_timedelta(numbers.astype("float64"), unit="D").dt.round("ms")
        return SERIAL_ORIGIN + days
    if unit == "ns" and pd.api.types.is_integer_dtype(numbers):
        return pd.to_datetime(numbers, utc=True, unit="ns")  # exact, not via float
    seconds = numbers.astype("float64") / EPOCH_UNITS[unit]
    return pd.to_datetime(seconds * 1e9, utc=True, unit="ns")
