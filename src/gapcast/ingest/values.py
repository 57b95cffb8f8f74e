"""Value columns: numbers (with a decimal comma when asked), the usual missing-value tokens, and
the runs of nines loggers write for "no reading"; refusals name the lines and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.ingest.common import DecimalMark, FileKind, rows_refused, split_unit

_MINUS = "\u2212"
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d+)?$")
_ONE_GROUP = re.compile(r"^[-+]?\d{1,3},\d{3}$")
# A comma no thousands separator could be: fewer or more than three digits after it.
_PLAIN_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,(?:\d{1,2}|\d{4,})$")
_DECIMAL_POINT = re.compile(r"^[-+]?\d*\.\d+$")
# The cells of each value column that decide whether a file writes decimal commas: a column's
# head shows its notation, and a regex over millions of cells would cost seconds.
SNIFF_CELLS = 1000
# Cells that mean "no reading": pandas.read_csv's default missing-value strings (what Excel,
# R and database exports write), so a file pandas reads cleanly imports the same way, and the
# NAN of the commonest environmental loggers.
MISSING_TOKENS = frozenset(
    {
        *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"),
        *("1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
        "NAN",  # Campbell Scientific loggers' (TOA5)
    }
)


def parse_values(
    column: pd.Series,
    name: str,
    kind: FileKind,
    decimal: DecimalMark = ".",
    missing: Collection[str] = (),
    units: dict[str, str] | None = None,
    grouped: dict[str, str] | None = None,
    money: dict[str, tuple[str | None, str | None]] | None = None,
    states: dict[str, tuple[str, str]] | None = None,
) -> NDArray[np.float64]:
    """A value column's numbers, NaN where a cell is empty or a missing marker (pandas' and
    ``missing``: a logger's 'ERR', '---'); any other text refuses the column by line. Cells that
    all carry one unit after the number ('21.5 °C', '45 %') are read as numbers, the unit going
    to ``units[name]``; numbers written with thousands separators that cannot be read otherwise
    ('12,389.68', '1 234,5') are read, the first such cell going to ``grouped[name]``; amounts
    as spreadsheets format money ('$1,234.50', '(500.00)' for -500, '-€12,50') are read, the
    currency and the first negative in parentheses going to ``money[name]``; a switch's two
    states ('on'/'off', 'true'/'false', a JSON boolean) are read as 1 and 0, the words as
    written going to ``states[name]``."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        values[~np.isfinite(values)] = np.nan
        return values
    text = column.astype(str).str.strip()
    empty = text.isin(MISSING_TOKENS) | text.isin(missing) | column.isna()
    work = text.where(~empty)
    numbers = text_to_numbers(work, decimal)
    bad = (numbers.isna() & ~empty).to_numpy()
    if bad.any() and text[bad].str.contains(_MINUS, regex=False).any():
        # The typographic minus sign (U+2212) of exports from web pages, Numbers, some locales.
        text = text.str.replace(_MINUS, "-", regex=False)
        work = text.where(~empty)
        numbers = text_to_numbers(work, decimal)
        bad = (numbers.isna() & ~empty).to_numpy()
    unit: str | None = None
    amounts: tuple[str | None, str | None] | None = None
    if bad.any() and states is not None and (read_states := _two_states(text[~empty])):
        numbers = pd.Series(np.nan, index=text.index)
        numbers[~empty] = (text[~empty].str.lower() == read_states[0].lower()).astype(np.float64)
        states[name] = read_states
        bad = np.zeros(len(text), dtype=bool)
    if bad.any() and units is not None:
        if (unit := _one_unit(text[~empty])) is not None:
            work = work.str[: -len(unit)].str.strip()
        elif money is not None and (read := _money(text[~empty])) is not None:
            stripped, *said = read
            work = work.copy()
            work[~empty] = stripped
            amounts = (said[0], said[1])
        numbers = text_to_numbers(work, decimal)
        bad = (numbers.isna() & ~empty).to_numpy()
    if bad.any() and grouped is not None:
        plain = _without_thousands(work, bad, decimal)
        if plain is not None:
            numbers = text_to_numbers(plain, decimal)
            grouped[name] = str(text[bad].iloc[0])
            bad = (numbers.isna() & ~empty).to_numpy()
    if not bad.any():
        if unit is not None and units is not None:
            units[name] = unit
        if amounts is not None and money is not None:
            money[name] = amounts
    if bad.any():
        rows = np.flatnonzero(bad)
        first = str(column.iloc[int(rows[0])])
        # A number written another way is named as such, not called a column of text.
        number = _number_hint(first.strip(), decimal)
        raise rows_refused(
            column,
            rows,
            kind,
            f"column {name!r}: {len(rows)} non-numeric value(s)",
            field=f"columns.{name}",
            after=f" (first: {first!r})"
            + (f" with the decimal mark {decimal!r}" if decimal == "," else "")
            + number
            + (
                ("" if number else _TEXT_COLUMN_HINT)
                if bool(bad[~empty.to_numpy()].all())
                else _marker_hint(text[bad], int((~empty).sum()))
            ),
        )
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    # 'inf' parses as a number but is never a measurement; treat it as a missing cell.
    values[~np.isfinite(values)] = np.nan
    return values


# The number may be grouped by thousands ('1,234.5 kWh', '1 234,5 kWh'): read as the thousands
# step reads any number, once the unit is off.
_NUMBER_AND_UNIT = re.compile(
    r"^[-+]?\d(?:[\d.,'\u00a0\u202f]|\s(?=\d{3}\b))*(?:[eE][-+]?\d+)?\s*"
    r"(?P<unit>[^\d\s.,;:+-].{0,15})$"
)


def _one_unit(cells: pd.Series) -> str | None:
    """The unit every cell writes after its number ('°C' of '21.5 °C'), or None. One regex pass,
    run only over a column whose cells are not all numbers."""
    units = cells.str.extract(_NUMBER_AND_UNIT)["unit"]
    if units.isna().any():
        return None
    found = set(units.str.strip())
    if len(found) != 1:
        return None
    unit = str(found.pop())
    if not unit.isprintable():
        return None  # a NUL or control character is a broken cell, not a unit
    # 'kWh', '°C', 'm/s', '%'; not a word such as 'volts' or 'pending'.
    return unit if not unit.isalpha() or len(unit) <= 4 else None


# Currencies as spreadsheets write them before an amount: symbols and ISO codes.
_CURRENCY = r"(?:US\$|[ACR]\$|[$€£¥₹₩₽₺]|USD|EUR|GBP|JPY|CHF|CAD|AUD|SEK|NOK|DKK|INR)"
_PREFIXED = re.compile(rf"^(?P<sign>[-+]?)\s*(?P<currency>{_CURRENCY})\s*(?P<rest>.*)$")
_PARENTHESISED = r"^\(.*\)$"


def _money(cells: pd.Series) -> tuple[pd.Series, str | None, str | None] | None:
    """The cells without one currency written before every amount ('$1,234.50', '-€12,50',
    '€ -12,50') and with negatives in parentheses ('(500.00)', '$(500.00)', '($500.00)': the
    accounting format) signed, the currency and the first such negative; None when the cells
    show neither."""
    outer = cells.str.match(_PARENTHESISED)
    work = cells.where(~outer, cells.str[1:-1].str.strip())
    parts = work.str.extract(_PREFIXED)
    priced = parts["currency"].notna()
    currency = None
    if priced.any():
        found = set(parts["currency"][priced])
        if len(found) != 1 or not priced.all():
            return None  # two currencies, or amounts without theirs: not one column's unit
        currency = found.pop()
        work = parts["sign"] + parts["rest"].str.strip()
    inner = work.str.match(_PARENTHESISED)
    negative = outer | inner
    if not (priced.any() or negative.any()):
        return None
    work = work.where(~inner, work.str[1:-1].str.strip())
    bare = work.str.lstrip("+-")
    work = work.where(~negative, "-" + bare)
    first = str(cells[negative].iloc[0]) if negative.any() else None
    return work, currency, first


# Thousands separators: a space of any width or an apostrophe (Swiss) with either decimal mark; a
# comma with a decimal point, a point with a decimal comma.
_GROUP_MARKS = {".": ", '\u00a0\u202f", ",": ". '\u00a0\u202f"}


def _without_thousands(
    text: pd.Series, bad: NDArray[np.bool_], decimal: DecimalMark
) -> pd.Series | None:
    """``text`` with the thousands separators of the cells that did not read taken out, when
    every such cell is a number grouped by threes with one and the same separator; None
    otherwise. A comma is a separator only beside a decimal point: when no cell shows it to be
    one (a fraction after the groups, or two groups: '1,234.5', '1,234,567'), '1,234' could as
    well be 1.234 written with a decimal comma, and the column is refused as before."""
    cells = text[bad]
    found = None
    for mark in _GROUP_MARKS[decimal]:
        fraction = r"(?:\.\d+)?" if decimal == "." else r"(?:,\d+)?"
        pattern = rf"^[-+]?\d{{1,3}}(?:{re.escape(mark)}\d{{3}})+{fraction}$"
        if cells.str.fullmatch(pattern).all():
            found = mark
            break
    if found is None:
        return None
    if found == "," and not cells.str.contains(r"\.|,\d{3},", regex=True).any():
        return None  # '1,234' alone: a thousand and some, or one and a bit with a decimal comma
    return text.where(~pd.Series(bad, index=text.index), text.str.replace(found, "", regex=False))


# A switch's two states, as loggers, Home Assistant and JSON write them: (on, off).
_STATE_PAIRS = (("on", "off"), ("true", "false"), ("yes", "no"), ("open", "closed"))


def _two_states(cells: pd.Series) -> tuple[str, str] | None:
    """(the word read as 1, the word read as 0), as the cells write them, when every cell is
    one of a switch's two states; else None."""
    if not cells.size:
        return None
    words = set(cells.str.lower().unique())
    for on, off in _STATE_PAIRS:
        if words <= {on, off}:
            written = {w.lower(): w for w in cells.unique()}
            return written.get(on, on), written.get(off, off)
    return None


# A column with no number at all is text (status flags, comments, a unit), not bad readings.
_TEXT_COLUMN_HINT = (
    "; a column of text can be left out by naming the columns to import (--columns, or the "
    "columns field)"
)


def _marker_hint(bad: pd.Series, cells: int) -> str:
    """A few words repeated among numbers ('ERR', '---', 'OVER') are a logger's markers of no
    reading: the hint names them as the option takes them."""
    words = bad.unique()
    if len(words) > MAX_MARKERS or len(bad) > MARKER_SHARE * cells or any("," in w for w in words):
        return ""
    listed = ",".join(words)
    said = ", ".join(map(repr, words))
    return f"; if {said} mark(s) no reading: missing={listed!r} (--missing {listed!r})"


# At most this many distinct words, in at most this share of a column's cells, read as markers.
MAX_MARKERS = 3
MARKER_SHARE = 0.2


def text_to_numbers(text: pd.Series, decimal: DecimalMark) -> pd.Series:
    """Stripped cells as numbers, NaN where a cell is not a number (or missing)."""
    # With a decimal comma a '.' is never part of a number (no guessing at thousands separators:
    # 1.234,5 is refused by row rather than read as 1.2345 or 1234.5).
    numeric = text
    if decimal == ",":
        numeric = text.str.replace(",", ".", regex=False)
        numeric = numeric.where(~text.str.contains(".", regex=False, na=False), "not a number")
    return pd.to_numeric(numeric, errors="coerce")


def decimal_comma_shown(df: pd.DataFrame, value_names: Sequence[str]) -> str | None:
    """The first cell that shows a file's numbers are written with a decimal comma ('12,5'),
    when no cell among the first :data:`SNIFF_CELLS` of a value column has a decimal point;
    else None ('1,234' alone shows nothing: a thousand and some, or one and a bit)."""
    shown = None
    for name in value_names:
        cells = df[name].iloc[:SNIFF_CELLS].astype(str).str.strip()
        if cells.str.match(_DECIMAL_POINT).any():
            return None
        if shown is None and (hits := cells[cells.str.match(_PLAIN_DECIMAL_COMMA)]).size:
            shown = str(hits.iloc[0])
    return shown


def units_row(
    df: pd.DataFrame, ts_name: str, value_names: list[str], decimal: DecimalMark
) -> tuple[pd.DataFrame, dict[str, str], str | None]:
    """A CSV's second header line of units (``,degC,%``: what loggers write under the names). It
    is the first row when it holds text and not one number in its value cells and no time in its
    time cell — a row that cannot be a reading. Returns the frame without it, each column's unit
    from it, and a note; or the frame as it is, no units and None."""
    if len(df) < 2 or not value_names:
        return df, {}, None
    first = df.iloc[0]
    cells = pd.Series([str(first[c]).strip() for c in value_names])
    known = cells[~cells.isin(MISSING_TOKENS)]
    if known.empty or text_to_numbers(known, decimal).notna().any():
        return df, {}, None
    if not all(cell.isprintable() for cell in known):  # control characters: a broken row
        return df, {}, None
    when = str(first[ts_name]).strip()
    if when and pd.to_datetime(pd.Series([when]), errors="coerce", format="mixed").notna().all():
        return df, {}, None
    units = {c: u for c, u in zip(value_names, cells, strict=True) if u not in MISSING_TOKENS}
    listed = ", ".join(f"{c!r}: {u!r}" for c, u in units.items())
    line = int(df.index[0]) + 2  # the file's line (a preamble or a sheet's title moves it)
    return df.iloc[1:], units, f"line {line} read as the columns' units, not a reading ({listed})"


def _number_hint(first: str, decimal: DecimalMark) -> str:
    """What fixes the first value that did not read as a number, when its shape tells."""
    if decimal == "." and _DECIMAL_COMMA.match(first) and not _THOUSANDS.match(first):
        return "; numbers with a decimal comma need decimal=',' (--decimal ,)"
    if decimal == "." and _ONE_GROUP.match(first):
        # Not guessed at: 1,234 is a thousand and some with a decimal point, one and a bit
        # with a decimal comma.
        return (
            "; 1,234 reads as a thousand and some or as one and a bit: with a decimal comma, "
            "--decimal , (decimal=','); else export the numbers without thousands separators"
        )
    if _THOUSANDS.match(first):
        return (
            "; thousands separators are read when every number grouped by threes uses the same "
            "one: export the numbers without them"
        )
    return ""


# Loggers and agencies (NOAA, buoys, weather stations) write a missing reading as a run of nines:
# -9999, 999.9, 99999. Such a value is read as missing when it repeats and lies this many
# interquartile ranges outside the other values' 1-99% range: a real reading is never that far.
MARKER_MIN_COUNT = 2
MARKER_ONLY_COUNT = 10
MARKER_DISTANCE = 10.0
# The runs of nines a marker may be (99 ... 9,999,999 with up to 3 decimals of nines), as the
# floats a CSV reader makes of them: matched with np.isin, so a column costs one pass, not a
# look at each distinct value.
_NINES = np.array(
    sorted({float("9" * k + ("." + "9" * d if d else "")) for k in range(2, 8) for d in range(4)})
)


def missing_markers(row: NDArray[np.float64]) -> list[tuple[float, int]]:
    """(value, count) of each missing-value marker in one column's values."""
    finite = row[np.isfinite(row)]
    nines = np.isin(np.abs(finite), _NINES)
    if not nines.any():
        return []
    candidates, counts = np.unique(finite[nines], return_counts=True)
    found = []
    for value, count in zip(candidates, counts, strict=True):
        if count < MARKER_MIN_COUNT:
            continue
        rest = finite[finite != value]
        if rest.size == 0 and count >= MARKER_ONLY_COUNT:
            # A sensor a station does not have (NOAA buoys write 99.0 for visibility and tide
            # on every line): nothing but the marker, over many rows, is no reading at all.
            found.append((float(value), int(count)))
            continue
        if rest.size < 10:
            continue
        lo, q1, q3, hi = np.percentile(rest, [1, 25, 75, 99])
        reach = MARKER_DISTANCE * max(q3 - q1, 1e-9 * max(abs(lo), abs(hi), 1.0))
        if value < lo - reach or value > hi + reach:
            found.append((float(value), int(count)))
    return found


def said_no_reading(column: pd.Series, missing: Collection[str] = ()) -> NDArray[np.bool_]:
    """The cells of a value column that say "no reading" in words: pandas' markers ('NA',
    'NULL', a logger's 'NAN') and ``missing`` ('ERR'), not an empty cell (beside another
    column's reading, a sensor reporting on change leaves its own empty: "unchanged")."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return np.zeros(len(column), dtype=bool)
    text = column.astype(str).str.strip()
    words = (text.isin(MISSING_TOKENS) | text.isin(missing)) & (text != "") & column.notna()
    return np.asarray(words.to_numpy(), dtype=bool)


def clear_markers(name: str, row: NDArray[np.float64]) -> list[str]:
    """Read ``row``'s missing-value markers (:func:`missing_markers`) as missing, in place, and
    say so: one note per marker, naming the column ``name``."""
    notes = []
    for marker, count in missing_markers(row):
        row[row == marker] = np.nan
        notes.append(
            f"{name!r}: {count:,} cells of {marker:g} read as missing (a missing-value marker "
            "far outside the other values)"
        )
    return notes


# Names loggers give a column that numbers the rows (Campbell's RECORD, HOBO's '#').
ROW_NUMBER_NAMES = frozenset({"#", "no", "no.", "nr", "nr.", "record", "rec", "recnum", "index"})
# A row number column counts on by one from row to row but for a restart now and then.
ROW_NUMBER_SHARE = 0.99


def row_numbers(df: pd.DataFrame, names: list[str]) -> list[str]:
    """The columns among ``names`` that number the rows: named so, and counting on by one (in
    the file's order) at nearly every row. Not readings: a forecast of them would be a joke."""
    found = []
    for name in names:
        if split_unit(name)[0].strip().lower() not in ROW_NUMBER_NAMES or len(df) < 2:
            continue
        numbers = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
        if np.isnan(numbers).any() or (numbers % 1 != 0).any():
            continue
        if float(np.mean(np.diff(numbers) == 1)) >= ROW_NUMBER_SHARE:
            found.append(name)
    return found
