"""The time formats loggers and spreadsheets write besides ISO 8601 ('15.01.2024 10:00',
'01/15/24 10:00:00 AM'), recognised when exactly one reads every time of a column. Day-first and
month-first dates both read '01/02/2024': such a column is refused, naming both, never guessed.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import pandas as pd

from gapcast.errors import InvalidInput

_DATES = (
    *("%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y", "%Y/%m/%d"),
    *("%d-%m-%Y", "%m-%d-%Y", "%d-%b-%Y", "%d %b %Y", "%b %d %Y", "%b %d, %Y"),
)
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p")
FORMATS = tuple(date + time for date in _DATES for time in _TIMES)
# Values tried with every format before the whole column is: the head and the tail of a file
# show its format (and a day above 12, when there is one, in a month of readings).
SAMPLE = 500


def infer_time_format(text: pd.Series, name: str) -> TimeFormat | None:
    """The one format of :data:`FORMATS` that reads every non-empty value of ``text`` (or, as
    spreadsheets write midnight, one with a time of day whose date alone reads the rest), None
    when none does; refused when several read them differently (day-first and month-first)."""
    values = text[text.str.len() > 0]
    if values.empty:
        return None
    sample = pd.concat([values.head(SAMPLE), values.tail(SAMPLE)]).drop_duplicates()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about formats it cannot vectorise
        fits = [TimeFormat(f) for f in FORMATS if _reads(sample, f)]
        if not fits:
            fits = [
                TimeFormat(date + time, date)
                for date in _DATES
                for time in _TIMES[1:]
                if TimeFormat(date + time, date).reads(sample)
            ]
        fits = [f for f in fits if f.reads(values)]
        if len(fits) > 1:
            first = fits[0].parse(values)
            differ = [f for f in fits[1:] if not first.equals(f.parse(values))]
            if differ:
                raise InvalidInput(
                    f"timestamp column {name!r}: times such as {values.iloc[0]!r} read as "
                    f"{fits[0].format!r} or as {differ[0].format!r} (day and month both at most "
                    f"12); give the one meant with time_format (--time-format "
                    f"{fits[0].format!r})",
                    field="time_format",
                )
    return fits[0] if fits else None


@dataclass(frozen=True)
class TimeFormat:
    """A strftime format, and the date alone that some rows write for midnight ('1/15/2024'
    among '1/15/2024 6:00': what spreadsheets export for a time of 0:00)."""

    format: str
    midnight: str | None = None

    def parse(self, values: pd.Series) -> pd.Series:
        return self.parse_counting(values)[0]

    def parse_counting(self, values: pd.Series) -> tuple[pd.Series, int]:
        """The times, and how many of them were read as the date alone (midnight)."""
        parsed = pd.to_datetime(values, utc=True, format=self.format, errors="coerce")
        if self.midnight is None or not parsed.isna().any():
            return parsed, 0
        rest = parsed.isna()
        parsed[rest] = pd.to_datetime(values[rest], utc=True, format=self.midnight, errors="coerce")
        return parsed, int((rest & parsed.notna()).sum())

    def reads(self, values: pd.Series) -> bool:
        if self.midnight is not None and not _reads(values, self.format, some=True):
            return False  # not one time of day: the date-only format alone says so
        return bool(self.parse(values).notna().all())

    def __str__(self) -> str:
        said = repr(self.format)
        return said + (f" (midnight as the date alone, {self.midnight!r})" if self.midnight else "")


def with_midnight(fmt: str) -> TimeFormat:
    """A format given by the user, reading midnight written as the date alone too ('%d/%m/%Y'
    of '%d/%m/%Y %H:%M'), as the formats found for a column do."""
    cut = _TIME_OF_DAY.search(fmt)
    return TimeFormat(fmt, fmt[: cut.start()] if cut and cut.start() else None)


_TIME_OF_DAY = re.compile(r"[ T]%[HI]")


def _reads(values: pd.Series, fmt: str, some: bool = False) -> bool:
    read = pd.to_datetime(values, format=fmt, errors="coerce").notna()
    return bool(read.any() if some else read.all())
