"""Rows named by the period they cover, as business and statistics exports write them: quarters
('2024Q1', '2024-Q1', 'Q1 2024'), months ('Jan-2024', 'January 2024', 'Jan-24' as Excel's
mmm-yy writes it, '01/2024', '2024M01'), ISO weeks ('2024-W05') and years (2024, in a column
named for years). Each reads as the first instant of its period, which the grid then bins by
calendar period. ('2024-01' is ISO 8601 and reads as such.)
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Names of a column of periods, checked after the time columns' own names (a file's 'date' wins).
PERIOD_NAMES = (
    *("period", "month", "quarter", "week", "year", "yearmonth", "monthyear", "yearquarter"),
    *("periode", "monat", "quartal", "woche", "jahr", "mois", "trimestre", "semaine", "annee"),
    *("année", "mes", "semana", "año", "ano", "periodo", "maand", "kwartaal", "jaar"),
)
YEAR_NAMES = ("year", "yr", "jahr", "annee", "année", "año", "ano", "jaar", "fy", "fiscalyear")
# Whole years as numbers: from the first calendars a sensor or ledger could hold to well ahead.
FIRST_YEAR, LAST_YEAR = 1000, 2999

# Month names and abbreviations in English and in the languages of the exports users bring most
# (German, French, Spanish, Italian, Dutch; 'Mrz 24' is German Excel's mmm yy): none names two
# months.
_MONTH_NAMES = (
    ("jan", "january", "januar", "janv", "janvier", "ene", "enero", "gen", "gennaio", "januari"),
    ("feb", "february", "februar", "februari", "févr", "fevr", "février", "febrero", "febbraio"),
    ("mar", "march", "mrz", "märz", "maerz", "mars", "marzo", "mrt", "maart"),
    ("apr", "april", "avr", "avril", "abr", "abril", "aprile"),
    ("may", "mai", "mayo", "mag", "maggio", "mei"),
    ("jun", "june", "juni", "juin", "junio", "giu", "giugno"),
    ("jul", "july", "juli", "juil", "juillet", "julio", "lug", "luglio"),
    ("aug", "august", "août", "aout", "ago", "agosto", "augustus"),
    ("sep", "sept", "september", "septembre", "septiembre", "setiembre", "set", "settembre"),
    ("oct", "october", "okt", "oktober", "octobre", "octubre", "ott", "ottobre"),
    ("nov", "november", "novembre", "noviembre"),
    ("dec", "december", "dez", "dezember", "déc", "décembre", "dic", "diciembre", "dicembre"),
)
_MONTHS = {name: i + 1 for i, names in enumerate(_MONTH_NAMES) for name in names}
_MONTH = "(?P<name>[^\\W\\d_]{3,10})\\.?"
_SEP = r"\s*[-/ .]?\s*"
_WEEK = r"(?:W|KW|CW|WK|Week|Woche|Semaine|Semana|Settimana)"


def _patterns(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


# (what the rows are, the patterns of that kind; each names its year, and its quarter, month
# number, month name or week)
_KINDS: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = (
    (
        "quarters",
        _patterns(
            rf"^(?P<year>\d{{4}}){_SEP}Q(?P<quarter>[1-4])$",
            rf"^Q(?P<quarter>[1-4]){_SEP}(?P<year>\d{{4}})$",
        ),
    ),
    (
        "months",
        _patterns(
            r"^(?P<year>\d{4})M(?P<month>\d{2})$",
            r"^(?P<month>\d{1,2})[/.-](?P<year>\d{4})$",
            r"^(?P<year>\d{4})/(?P<month>\d{1,2})$",
            rf"^{_MONTH}{_SEP}(?P<year>\d{{4}}|\d{{2}})$",
            rf"^(?P<year>\d{{4}}){_SEP}{_MONTH}$",
        ),
    ),
    (
        "ISO weeks",
        _patterns(
            r"^(?P<year>\d{4})-?W(?P<week>\d{2})(?:-?[1-7])?$",
            # 'W05 2024', 'KW 5/2024' (German Kalenderwoche), 'CW 5 2024', 'Week 5, 2024'
            rf"^{_WEEK}\s*(?P<week>\d{{1,2}})[\s/,.-]+(?P<year>\d{{4}})$",
            rf"^(?P<year>\d{{4}})[\s/,.-]+{_WEEK}\s*(?P<week>\d{{1,2}})$",
        ),
    ),
)
# Two-digit years as strptime's %y reads them (POSIX): 69-99 are 1969-1999, 00-68 2000-2068.
_CENTURY_PIVOT = 69


def read_periods(text: pd.Series) -> tuple[pd.Series, str] | None:
    """The first instant (UTC) of the period each value names, and what the values are
    ('quarters'): the kind most values name, when at least half do; None otherwise. Values that
    name no period of that kind (or none that exists, 'Foo-2024', '2024-W60') stay NaT, so they
    are refused by line as any unreadable time."""
    # Positions, not labels: a transposed file's rows share their row's line as index.
    cells = text.astype(str).str.strip().reset_index(drop=True)
    filled = cells[(cells != "") & (cells.str.lower() != "nan")]
    if filled.empty:
        return None
    best: tuple[pd.Series, str] | None = None
    for kind, patterns in _KINDS:
        parts = _matched(filled, patterns)
        if parts is None:
            continue
        starts = _starts(kind, parts)
        if best is None or starts.notna().sum() > best[0].notna().sum():
            best = starts, kind
    if best is None or best[0].notna().sum() < len(filled) / 2:
        return None
    out = pd.Series(pd.NaT, index=cells.index, dtype="datetime64[ns, UTC]")
    out[filled.index] = best[0]
    out.index = text.index
    return out, best[1]


def read_years(column: pd.Series, name: str) -> pd.Series | None:
    """January 1st (UTC) of each year of a column named for years ('year', 'Jahr', 'FY') holding
    whole numbers from 1000 to 2999; None otherwise (epoch seconds, say, under another name)."""
    if _bare(name) not in YEAR_NAMES:
        return None
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.isna().any() or not (numbers % 1 == 0).all():
        return None
    if not numbers.between(FIRST_YEAR, LAST_YEAR).all():
        return None
    years = numbers.astype("int64").astype(str)
    return pd.to_datetime(years, format="%Y", utc=True)


def is_period_name(name: str) -> bool:
    return _bare(name) in PERIOD_NAMES or _bare(name) in YEAR_NAMES


def _bare(name: str) -> str:
    return re.sub(r"[\s_-]+", "", name.strip().lower())


def _matched(values: pd.Series, patterns: tuple[re.Pattern[str], ...]) -> pd.DataFrame | None:
    """The named parts of each value, read by the first pattern that matches it (NaN where none
    does); None when no value matches."""
    found: list[pd.DataFrame] = []
    rest = values
    for pattern in patterns:
        parts = rest.str.extract(pattern)
        hit = parts.notna().any(axis=1)
        found.append(parts[hit])
        rest = rest[~hit]
        if rest.empty:
            break
    if all(f.empty for f in found):
        return None
    return pd.concat(found).reindex(values.index)


def _starts(kind: str, parts: pd.DataFrame) -> pd.Series:
    year = pd.to_numeric(parts["year"])
    year = year.where(
        year.isna() | (year >= 100), year + np.where(year >= _CENTURY_PIVOT, 1900, 2000)
    )
    if kind == "ISO weeks":
        week = parts["week"].astype(str).str.zfill(2)
        text = year.astype("Int64").astype(str) + "-W" + week + "-1"
        return pd.to_datetime(text, format="%G-W%V-%u", errors="coerce", utc=True)
    if kind == "quarters":
        month = (pd.to_numeric(parts["quarter"]) - 1) * 3 + 1
    else:
        month = pd.Series(np.nan, index=parts.index)
        if "month" in parts:
            month = month.fillna(pd.to_numeric(parts["month"], errors="coerce"))
        if "name" in parts:
            month = month.fillna(parts["name"].str.lower().map(_MONTHS))
        month = month.where(month.between(1, 12))
        if _days_read_as_years(parts["year"], year * 12 + month):
            return pd.Series(pd.NaT, index=parts.index, dtype="datetime64[ns, UTC]")
    known = year.notna() & month.notna()
    frame = pd.DataFrame(
        {"year": year.where(known, 2000), "month": month.where(known, 1), "day": 1}
    )
    starts = pd.to_datetime(frame.astype("int64"), errors="coerce", utc=True)
    return starts.where(known)


def _days_read_as_years(written: pd.Series, months: pd.Series) -> bool:
    """Whether two-digit 'years' after month names are days: 'Jan-24, Jan-25, ..., Feb-01' is a
    year of days written without their year, not Excel's mmm-yy months (Jan-24, Feb-24, ...).
    Months in a file's order step by one, or three in a quarterly file; such days read as years
    step by twelve (so do 'Jan-20, Jan-21, ...', which are more likely days than years)."""
    if not (written.str.len() == 2).any():
        return False
    steps = np.abs(np.diff(months.dropna().to_numpy()))
    return bool(steps.size and np.median(steps) >= 12)
