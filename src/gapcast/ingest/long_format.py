"""Long-format files (one row per series and time, as databases and loggers export): each series
becomes a column, or the file is refused with the option that reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.ingest.common import (
    MAX_COLUMNS,
    MAX_LISTED,
    DecimalMark,
    FileKind,
    OnDuplicate,
    check_columns,
    rows_refused,
    split_unit,
)
from gapcast.ingest.duplicates import resolve_duplicates
from gapcast.ingest.values import text_to_numbers

# A long-format file's series share one table's times: refused when that table would hold this
# many cells per reading (their times do not line up) and more cells than MAX_SPARSE_CELLS.
PIVOT_SPARSITY = 10
# Sensors that report on change (Home Assistant's export of 20 entities over months) never share
# a time, and their table is mostly empty by nature: built up to this size (256 MB of floats),
# which bounds what a hostile file of a series per row could cost.
MAX_SPARSE_CELLS = 32_000_000


def chosen_columns(
    df: pd.DataFrame, columns: Sequence[str], ts_name: str, series_column: str | None
) -> list[str]:
    """The value columns named in ``columns``, in the file's order (with the series column of a
    long-format file, which is read as well); a name the file lacks is refused, listing its
    columns. A column is named by its header or by the series name gapcast shows for it, the
    header without its unit ('power' for 'power [kW]')."""
    wanted = [_header(df, str(c).strip()) for c in columns if str(c).strip()]
    missing = [c for c in wanted if c not in df.columns]
    if missing:
        raise InvalidInput(
            f"columns: {', '.join(map(repr, missing))} not in the file; it has columns: "
            f"{', '.join(map(str, df.columns))}",
            field="columns",
        )
    if ts_name in wanted:
        raise InvalidInput(
            f"columns: {ts_name!r} is the time column; list the value columns to import",
            field="columns",
        )
    keep = {*wanted, *([series_column] if series_column else [])}
    return [c for c in df.columns if c != ts_name and c in keep]


def _header(df: pd.DataFrame, name: str) -> str:
    """The header ``name`` means: itself when the file has it, else the one header whose name
    without its unit it is (refused, naming them, when several are); else ``name`` unchanged."""
    if name in df.columns:
        return name
    named = [str(c) for c in df.columns if split_unit(str(c))[0] == name]
    if len(named) > 1:
        raise InvalidInput(
            f"columns: {name!r} names {len(named)} columns of the file, "
            f"{', '.join(map(repr, named))}; give the whole header",
            field="columns",
        )
    return named[0] if named else name


def without_series_column(
    df: pd.DataFrame, series_column: str, ts_name: str, value_names: list[str]
) -> list[str]:
    """The value columns of a long-format file: all but its time and series columns."""
    if series_column not in value_names:
        what = "is the time column" if series_column == ts_name else "is not in the file"
        raise InvalidInput(
            f"series column {series_column!r} {what}; the file has columns: "
            f"{', '.join(map(str, df.columns))}",
            field="series_column",
        )
    rest = [c for c in value_names if c != series_column]
    if not rest:
        raise InvalidInput(
            f"no value columns: the file has only the time column {ts_name!r} and the series "
            f"column {series_column!r}",
            field="file",
        )
    return rest


def pivot_series(
    column: pd.Series,
    ts: NDArray[np.int64],
    values: NDArray[np.float64],
    value_names: list[str],
    on_duplicate: OnDuplicate,
    kind: FileKind,
    read_as_utc: bool,
) -> tuple[list[str], NDArray[np.int64], NDArray[np.float64], int, NDArray[np.bool_]]:
    """A long-format table as one column per series and value column, on the union of their
    times: headers (the series' name, or ``<value column>_<series>`` with several value
    columns; a unit in the value column's header carries over), times, values, how many
    repeated rows were merged, and where each column had a row of the file (the rest of the
    table is no cell of it: not counted as an empty one). Each series' repeated times are
    resolved on their own, as a file of that series alone would be."""
    ids = column.astype(str).str.strip().to_numpy()
    blank = np.flatnonzero((ids == "") | column.isna().to_numpy())
    if blank.size:
        raise rows_refused(
            column,
            blank,
            kind,
            f"series column {column.name!r}: {blank.size} row(s) without a series name",
            field="series_column",
        )
    names, which = np.unique(ids, return_inverse=True)
    check_columns(len(names) * len(value_names))
    positions = column.index.to_numpy()
    grouped = np.argsort(which, kind="stable")  # rows series by series, in file order
    ends = np.cumsum(np.bincount(which, minlength=len(names)))
    parts, merged = [], 0
    for name, end, size in zip(names.tolist(), ends, np.diff(ends, prepend=0), strict=True):
        rows = grouped[end - size : end]
        order = rows[np.argsort(ts[rows], kind="stable")]
        try:
            t, v, m = resolve_duplicates(
                ts, values, order, on_duplicate, kind, read_as_utc, positions
            )
        except InvalidInput as exc:
            raise InvalidInput(
                f"series {name!r}: {exc.message}", field=exc.field, **exc.details
            ) from None
        parts.append((t, v))
        merged += m
    times = np.unique(np.concatenate([t for t, _ in parts]))
    cells, readings = len(names) * len(value_names) * times.size, values.size
    if cells > max(PIVOT_SPARSITY * readings + 1_000_000, MAX_SPARSE_CELLS):
        # One table holds every series on shared times: series whose times do not line up
        # would make it mostly empty (and a hostile file, gigabytes of it).
        raise InvalidInput(
            f"series column {column.name!r}: the {len(names)} series' times do not line up "
            f"({times.size:,} distinct times for {readings:,} readings), so one table of them "
            f"would be {1 - readings / cells:.0%} empty; import the series one file each, or "
            "round their times to a shared step",
            field="series_column",
        )
    wide = np.full((len(names) * len(value_names), times.size), np.nan)
    rows_of = np.zeros(wide.shape, dtype=bool)
    headers = []
    for i, (name, (t, v)) in enumerate(zip(names, parts, strict=True)):
        at = np.searchsorted(times, t)
        for j, header in enumerate(value_names):
            wide[i * len(value_names) + j, at] = v[j]
            rows_of[i * len(value_names) + j, at] = True
            base, unit = split_unit(header)
            channel = name if len(value_names) == 1 else f"{base}_{name}"
            headers.append(f"{channel} [{unit}]" if unit else channel)
    return headers, times, wide, merged, rows_of


def refuse_long_format(
    df: pd.DataFrame, ts_name: str, value_names: list[str], decimal: DecimalMark = "."
) -> None:
    """A long-format file — one row per series and time, a text column naming the series, as
    databases and many loggers export — is told so with the fix, rather than having its series
    names listed as non-numeric cells. Numbers are read with the file's decimal mark: '1000,8'
    is a reading, not a series' name, in a file with decimal commas."""
    repeated = int(df[ts_name].duplicated().sum())
    if not repeated:
        return
    for name in value_names:
        text = df[name].astype(str).str.strip()
        if text_to_numbers(text, decimal).notna().any():
            continue
        ids = text.unique()
        # The column must be why the times repeat: in a long-format file a time repeats across
        # series, hardly within one. A status column (OK/ERR) beside times that repeat for
        # another reason (the hour a clock goes back) is not one.
        within = int(pd.DataFrame({"t": df[ts_name], "id": text}).duplicated().sum())
        if 1 < len(ids) <= MAX_COLUMNS and len(ids) <= len(text) / 2 and within <= repeated / 2:
            listed = ", ".join(map(repr, ids[:MAX_LISTED]))
            more = ", ..." if len(ids) > MAX_LISTED else ""
            raise InvalidInput(
                f"column {name!r} names {len(ids)} series ({listed}{more}) and the times repeat "
                "across them: a long-format file, one row per series and time; name that "
                f"column with series_column (--series-column {name!r}) and each series becomes "
                "a column",
                field="series_column",
            )
