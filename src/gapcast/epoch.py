"""Epoch numbers as times: seconds, milli-, micro- or nanoseconds since 1970, told apart by size.

One rule for every door data comes in by (``gapcast import``, a DataFrame given to the library):
JavaScript, Kafka and many loggers write milliseconds, databases Unix seconds, numpy nanoseconds.
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


def epoch_unit(numbers: pd.Series) -> str:
    """The epoch unit of a numeric time column, from the size of its median value."""
    typical = float(numbers.abs().median())
    return next((unit for unit, start in EPOCH_FROM if typical >= start), "s")


def epoch_out_of_range(numbers: pd.Series, unit: str) -> NDArray[np.bool_]:
    """Where epoch numbers in ``unit`` fall outside what a nanosecond timestamp holds."""
    seconds = numbers.astype("float64") / EPOCH_UNITS[unit]
    return np.asarray(~(seconds.abs() < MAX_EPOCH_S), dtype=bool)


def from_epoch(numbers: pd.Series, unit: str) -> pd.Series:
    """Epoch numbers in ``unit`` (in range) as UTC datetimes, NaT where a number is missing."""
    if unit == "ns" and pd.api.types.is_integer_dtype(numbers):
        return pd.to_datetime(numbers, utc=True, unit="ns")  # exact, not via float
    seconds = numbers.astype("float64") / EPOCH_UNITS[unit]
    return pd.to_datetime(seconds * 1e9, utc=True, unit="ns")
