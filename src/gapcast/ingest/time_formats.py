"""The time formats loggers and spreadsheets write besides ISO 8601 ('15.01.2024 10:00',
'01/15/24 10:00:00 AM'), recognised when exactly one reads every time of a column. Day-first and
month-first dates both read '01/02/2024': such a column is refused, naming both, never guessed.
"""

from __future__ import annotations

import warnings

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


def infer_time_format(text: pd.Series, name: str) -> str | None:
    """The one format of :data:`FORMATS` that reads every non-empty value of ``text``, None when
    none does; refused when several read them differently (day-first and month-first)."""
    values = text[text.str.len() > 0]
    if values.empty:
        return None
    sample = pd.concat([values.head(SAMPLE), values.tail(SAMPLE)]).drop_duplicates()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns about formats it cannot vectorise
        fits = [f for f in FORMATS if _reads(sample, f)]
        fits = [f for f in fits if _reads(values, f)]
        if len(fits) > 1:
            first = pd.to_datetime(values, format=fits[0])
            differ = [f for f in fits[1:] if not first.equals(pd.to_datetime(values, format=f))]
            if differ:
                raise InvalidInput(
                    f"timestamp column {name!r}: times such as {values.iloc[0]!r} read as "
                    f"{fits[0]!r} or as {differ[0]!r} (day and month both at most 12); give the "
                    f"one meant with time_format (--time-format {fits[0]!r})",
                    field="time_format",
                )
    return fits[0] if fits else None


def _reads(values: pd.Series, fmt: str) -> bool:
    return bool(pd.to_datetime(values, format=fmt, errors="coerce").notna().all())
