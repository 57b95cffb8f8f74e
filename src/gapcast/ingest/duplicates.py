"""Repeated times: a row repeated whole is dropped; different values at one time are refused
unless the caller says how to merge them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.ingest.common import MAX_COLUMNS, FileKind, OnDuplicate, describe_rows
from gapcast.ingest.times import clocks_went_back


def merge_repeated_times(
    ts: NDArray[np.int64],
    values: NDArray[np.float64],
    value_names: list[str],
    on_duplicate: OnDuplicate,
    kind: FileKind,
    read_as_utc: bool,
    positions: NDArray[np.intp],
) -> tuple[NDArray[np.int64], NDArray[np.float64], int]:
    """:func:`resolve_duplicates` over the whole file; when its times clash because a numbered
    column names the series (a long-format file), the refusal says so: merging them would
    average the series."""
    order = np.argsort(ts, kind="stable")
    try:
        return resolve_duplicates(ts, values, order, on_duplicate, kind, read_as_utc, positions)
    except InvalidInput as exc:
        key = series_key(ts, values, value_names)
        if key is None:
            raise
        raise InvalidInput(
            f"{exc.message}; or, if {key!r} names the series (a long-format file, one row per "
            f"series and time: merging would average the series), name it with series_column "
            f"(--series-column {key!r})",
            field=exc.field,
            **exc.details,
        ) from None


def series_key(ts: NDArray[np.int64], values: NDArray[np.float64], names: list[str]) -> str | None:
    """A value column that looks like series numbers in a long-format file: whole numbers, few
    distinct ones, never repeated at one time while the times repeat."""
    for name, column in zip(names, values, strict=True):
        known = np.isfinite(column)
        if not known.all() or not np.array_equal(column, np.round(column)):
            continue
        ids = np.unique(column)
        if 1 < ids.size <= min(MAX_COLUMNS, column.size // 2):
            pairs = pd.DataFrame({"t": ts, "k": column})
            if not pairs.duplicated().any():
                return name
    return None


def repeats(
    sorted_ts: NDArray[np.int64], ordered: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Rows in time order: the positions of those whose time is the row's before, and whether
    each repeats that row's values exactly (NaN where it was NaN)."""
    dup = np.flatnonzero(sorted_ts[1:] == sorted_ts[:-1]) + 1
    now, before = ordered[:, dup], ordered[:, dup - 1]
    return dup, np.all((now == before) | (np.isnan(now) & np.isnan(before)), axis=0)


def resolve_duplicates(
    ts: NDArray[np.int64],
    values: NDArray[np.float64],
    order: NDArray[np.intp],
    on_duplicate: OnDuplicate,
    kind: FileKind,
    read_as_utc: bool = True,
    positions: NDArray[np.intp] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64], int]:
    """Rows at one time: an error, their mean or the last. ``read_as_utc``: no time zone was
    given, so times without an offset were read as UTC (a repeated local hour clashes);
    ``positions``: each row's position in the file, when not its position here."""
    sorted_ts = ts[order]
    ordered = values[:, order]
    dup, same = repeats(sorted_ts, ordered)
    if len(dup) == 0:
        return sorted_ts, ordered, 0
    if on_duplicate == "error":
        # A row repeated whole (overlapping exports) is dropped: there is nothing to choose.
        if same.all():
            keep = np.ones(len(sorted_ts), dtype=bool)
            keep[dup] = False
            return sorted_ts[keep], ordered[:, keep], len(dup)
        clash = dup[~same]
        rows = np.sort(order[np.unique(np.concatenate([clash - 1, clash]))])
        if positions is not None:
            rows = positions[rows]
        when = pd.Timestamp(int(sorted_ts[clash[0]]), tz="UTC").isoformat()
        fix = "choose how to merge them with --on-duplicate mean|last"
        if read_as_utc and clocks_went_back(sorted_ts[clash]):
            fix = (
                "they fall in the hour clocks repeat when summer time ends (a Sunday, "
                "01:00-02:59): local times need their zone, --timezone (e.g. Europe/Berlin); "
                "else " + fix
            )
        raise InvalidInput(
            f"{len(clash)} duplicate timestamp(s) with different values, first {when}, at "
            f"{describe_rows(kind, rows)}; {fix}",
            field="on_duplicate",
        )
    frame = pd.DataFrame(values[:, order].T)
    grouped = frame.groupby(sorted_ts, sort=True)
    merged = grouped.mean() if on_duplicate == "mean" else grouped.last()
    return (
        merged.index.to_numpy(dtype=np.int64),
        merged.to_numpy(dtype=np.float64).T.copy(),
        len(dup),
    )
