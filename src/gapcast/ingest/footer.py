"""Lines an export writes after its table: a spreadsheet report's 'Total' or 'Average' row, a
logger's 'Exported by ... on 2024-02-01' or 'End of data'. They are dropped, with a note naming
them, so the table reads as its readings; a row with a value and a time that does not read
('not a date,2') is a reading typed wrong and is still refused by line.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd

# A footer is short: a total, an average, a line of who exported it and when.
MOST = 5

# A summary row's first word, in the languages of the exports users bring most.
SUMMARIES = frozenset(
    {
        *("total", "totals", "sum", "subtotal", "average", "avg", "mean", "median", "min"),
        *("max", "minimum", "maximum", "count", "grand", "overall", "gesamt", "summe"),
        *("mittelwert", "durchschnitt", "moyenne", "somme", "promedio", "suma", "totaal"),
        *("gemiddelde", "totale", "media", "std", "stdev"),
    }
)

# Opens with a letter or a comment mark: a time never does but for a month's name, which the
# parse check below lets through ('Jan 15 2024 10:00').
_WORDS = re.compile(r"^[^\W\d_]|^[#*]")


def footer_rows(df: pd.DataFrame, ts_name: str) -> int:
    """How many of the table's last rows are a footer: at most ``MOST``, each written as words
    that do not read as a time in the time column, after a row that does (or could: its format
    is found later), and either without a value (a line of text) or opening with a summary's
    word ('Total', 'Average'). 0 when there is none."""
    column = df[ts_name]
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return 0
    tail = df.tail(MOST + 1)
    others = [c for c in df.columns if c != ts_name]
    count = 0
    for i in range(len(tail) - 1, -1, -1):
        cell = str(tail[ts_name].iloc[i]).strip()
        if not _is_words(cell):
            break
        written = tail[others].iloc[i].dropna().astype(str).str.strip()
        if (written != "").any() and cell.split()[0].lower().rstrip(":") not in SUMMARIES:
            break  # a reading whose time is mistyped: refused by line, never dropped
        count += 1
    # Words all the way up: not a footer but a column that is not times, refused as such.
    return count if count < len(tail) and count < len(column) else 0


def footer_note(column: pd.Series, count: int) -> str:
    first_line = int(column.index[-count]) + 2  # the frame's index is the file's line - 2
    written = str(column.iloc[-count]).strip()[:80]
    if count == 1:
        return f"line {first_line} after the table skipped: not a reading ({written!r})"
    last_line = int(column.index[-1]) + 2
    return (
        f"lines {first_line}-{last_line} after the table skipped: not readings (first: {written!r})"
    )


def _is_words(cell: str) -> bool:
    if not _WORDS.match(cell) or cell.lower() in ("nan", "none", "nat"):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it infers a format per element
        parsed = pd.to_datetime(pd.Series([cell]), errors="coerce", format="mixed")
    return bool(parsed.isna().all())
