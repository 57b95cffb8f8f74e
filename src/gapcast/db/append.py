"""Appending a newer export to a stored dataset: the daily file of a logger, the last week of a
meter. Its times may overlap what is stored (exports often repeat their last day); each series is
merged by the import's rule for repeated times and rewritten from the file's first time on, so
the stored rows before it are never read or touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Connection, delete, select
from sqlalchemy.orm import Session

from gapcast.db.points import (
    db_time,
    delete_marks,
    insert_marks,
    insert_points,
    load_marks,
    load_points,
    utc_datetime,
)
from gapcast.db.repository import (
    active_runs,
    content_hash,
    get_dataset,
    load_dataset_arrays,
    median_step_ns,
)
from gapcast.db.tables import Dataset, Series, points
from gapcast.errors import Conflict, InvalidInput, TooLarge
from gapcast.ingest import OnDuplicate, ParsedTable
from gapcast.ingest.common import TotalEnds
from gapcast.ingest.counters import increase_since

MAX_LISTED = 5


@dataclass(frozen=True)
class Appended:
    dataset: Dataset
    added: int  # points at times the series did not have
    same: int  # points already stored with the same value: kept once
    merged: int  # points already stored with another value, merged by on_duplicate
    continued: tuple[str, ...] = ()  # running totals whose first increase the stored total gave
    preceded: tuple[str, ...] = ()  # running totals whose stored first increase the file gave
    rezoned: tuple[str, str] | None = None  # (was, now): the file was read in another zone

    @property
    def note(self) -> str:
        """What the append did, as an import note says what the reading did."""
        text = f"appended {self.added:,} new point(s) to dataset {self.dataset.name!r}"
        if self.same:
            text += f"; {self.same:,} already stored with the same value(s) kept once"
        if self.merged:
            text += f"; {self.merged:,} stored with another value merged into it"
        if self.continued:
            text += (
                f"; the increase at the first reading of {', '.join(map(repr, self.continued))} "
                "measured from the stored running total"
            )
        if self.preceded:
            text += (
                f"; the increase at the stored first reading of "
                f"{', '.join(map(repr, self.preceded))} measured from the file's last (an older "
                "export)"
            )
        if self.rezoned:
            was, now = self.rezoned
            text += (
                f"; its times without an offset are read in {now} from now on (they were in {was})"
            )
        return text


def reading_zone(session: Session, name: str, given: str | None) -> tuple[str | None, str | None]:
    """The zone to read a file appended to dataset ``name`` in, and a note when it was not given:
    a newer export of the same logger writes its times as the first did, and read in UTC instead
    they would land an hour or two off, over the stored ones. (None, None) when a zone was given
    or the dataset has none (or does not exist: the append refuses that by name)."""
    if given is not None:
        return None, None
    zone = session.scalar(select(Dataset.timezone).where(Dataset.name == name.strip()))
    if zone is None:
        return None, None
    return zone, (
        f"times without an offset read in {zone}, the zone dataset {name.strip()!r} was imported "
        "in (the timezone option, --timezone, reads them in another)"
    )


def merge_points(
    stored_ts: NDArray[np.int64],
    stored: NDArray[np.float64],
    new_ts: NDArray[np.int64],
    new: NDArray[np.float64],
    on_duplicate: OnDuplicate,
) -> tuple[NDArray[np.int64], NDArray[np.float64], int, NDArray[np.int64]]:
    """One series' stored points and the file's (NaN: an empty cell, not a point) as one sorted
    series: the times, values, how many file points repeated a stored one exactly, and the times
    where they disagreed (merged by ``on_duplicate``: 'last' keeps the file's value, 'mean'
    averages the two; 'error' leaves them to the caller to refuse)."""
    keep = ~np.isnan(new)
    new_ts, new = new_ts[keep], new[keep]
    shared, in_stored, in_new = np.intersect1d(stored_ts, new_ts, return_indices=True)
    equal = stored[in_stored] == new[in_new]
    clash = shared[~equal]
    values = stored.copy()
    if on_duplicate == "last":
        values[in_stored] = new[in_new]
    elif on_duplicate == "mean":
        values[in_stored] = (stored[in_stored] + new[in_new]) / 2
    fresh = np.ones(new_ts.size, dtype=bool)
    fresh[in_new] = False
    ts = np.concatenate([stored_ts, new_ts[fresh]])
    order = np.argsort(ts, kind="stable")
    return ts[order], np.concatenate([values, new[fresh]])[order], int(equal.sum()), clash


def append_to_dataset(
    session: Session,
    *,
    table: ParsedTable,
    name: str,
    on_duplicate: OnDuplicate = "error",
    max_points: int | None = None,
) -> Appended:
    """Add a parsed file's points to the dataset ``name``: its columns must be series the dataset
    has (a column it lacks is refused by name). A time already stored with the same value is kept
    once; with another value it is refused, naming it, unless ``on_duplicate`` says how to merge.
    Refused while a run of the dataset is queued or running: it would read the data changing."""
    dataset = get_dataset(session, name)
    active = active_runs(session, dataset)
    if active:
        raise Conflict(
            f"dataset {dataset.name!r} has {active} queued or running run(s); append when they "
            "have finished, or cancel them first",
            field="name",
        )
    by_name = {s.name: s for s in dataset.series}
    unknown = [c for c in table.channels if c not in by_name]
    if unknown:
        raise InvalidInput(
            f"the file's column(s) {', '.join(map(repr, unknown[:MAX_LISTED]))} are not series of "
            f"dataset {dataset.name!r} (it has {', '.join(map(repr, by_name))}); import the file "
            "as a dataset of its own, or name the columns to append with --columns",
            field="columns",
        )
    for channel, unit in zip(table.channels, table.units, strict=True):
        stored_unit = by_name[channel].unit
        if unit is not None and stored_unit is not None and unit != stored_unit:
            # The same name in another unit (°F appended to °C) would corrupt the series.
            raise InvalidInput(
                f"series {channel!r} of dataset {dataset.name!r} is stored in {stored_unit!r}; "
                f"the file's column is in {unit!r}: convert it first",
                field=f"columns.{channel}",
            )
    was, now = dataset.timezone, table.timezone
    rezoned = (was, now) if was is not None and now is not None and now != was else None
    if now is not None:
        dataset.timezone = now
    values, continued = _continue_totals(table, by_name, dataset.frequency_ns or 0)
    preceding = _preceding_totals(table, by_name, dataset.frequency_ns or 0)
    conn = session.connection()
    first = int(table.timestamps_ns[0])
    since = db_time(conn, first)
    added = same = merged = 0
    for i, (channel, row) in enumerate(zip(table.channels, values, strict=True)):
        series = by_name[channel]
        stored_ts, stored = load_points(conn, series.id)
        tail = np.searchsorted(stored_ts, first)
        ts, values, repeated, clash = merge_points(
            stored_ts[tail:], stored[tail:], table.timestamps_ns, row, on_duplicate
        )
        if clash.size and on_duplicate == "error":
            at = np.searchsorted(stored_ts, clash[0])
            was, now = stored[at], row[np.searchsorted(table.timestamps_ns, clash[0])]
            raise InvalidInput(
                f"series {channel!r}: {clash.size} time(s) already stored with another value, "
                f"first {pd.Timestamp(int(clash[0]), tz='UTC').isoformat()} (stored {was:g}, "
                f"file {now:g}); on_duplicate 'last' (--on-duplicate last) keeps the file's, "
                "'mean' averages the two",
                field="on_duplicate",
            )
        if channel in preceding:
            # The stored first reading's increase, lost when it opened the first file stored.
            at, rise = preceding[channel]
            if not np.isin(at, ts):
                spot = np.searchsorted(ts, at)
                ts, values = np.insert(ts, spot, at), np.insert(values, spot, rise)
        session.execute(delete(points).where(points.c.series_id == series.id, points.c.ts >= since))
        insert_points(conn, series.id, ts, values)
        _merge_marks(conn, series.id, first, ts, table, i)
        count = int(tail) + ts.size
        added += count - series.point_count
        same += repeated
        merged += int(clash.size)
        series.point_count = count
        ends = table.counters.get(channel)
        if ends is not None and (series.counter_at is None or ends.last_at > series.counter_at):
            series.counter_total, series.counter_at = ends.last, ends.last_at
        if ends is not None and (
            series.counter_first_at is None or ends.first_at < series.counter_first_at
        ):
            series.counter_first, series.counter_first_at = ends.first, ends.first_at
    total = sum(s.point_count for s in dataset.series)
    if max_points is not None and total > max_points:
        raise TooLarge(
            f"dataset {dataset.name!r} would hold {total:,} points, over the limit of "
            f"{max_points:,} (GAPCAST_MAX_POINTS_PER_DATASET)",
            field="file",
        )
    whole = load_dataset_arrays(session, dataset)
    dataset.start = utc_datetime(int(whole.timestamps_ns[0]))
    # The files' last row, with or without a reading: rows going on after the last reading say
    # the sensor stopped, and predict forecasts from after them (db.repository.through_end).
    last = [utc_datetime(int(t)) for t in (whole.timestamps_ns[-1], *table.timestamps_ns[-1:])]
    dataset.end = max([*last, *([dataset.end] if dataset.end is not None else [])])
    dataset.frequency_ns = median_step_ns(whole.timestamps_ns, whole.values)
    dataset.point_count = total
    dataset.content_hash = content_hash(whole.timestamps_ns, whole.values)
    session.flush()
    return Appended(
        dataset=dataset,
        added=added,
        same=same,
        merged=merged,
        continued=tuple(continued),
        preceded=tuple(preceding),
        rezoned=rezoned,
    )


def _merge_marks(
    conn: Connection, series_id: int, first: int, ts: NDArray[np.int64], table: ParsedTable, i: int
) -> None:
    """The series' no-reading marks from the file's first time on: the stored ones and the
    file's, but none at a time that now holds a reading."""
    stored = load_marks(conn, series_id)
    tail = stored[np.searchsorted(stored, first) :]
    given = table.timestamps_ns[table.marked[i]] if table.marked is not None else tail[:0]
    if not tail.size and not given.size:
        return
    kept = np.setdiff1d(np.union1d(tail, given), ts)
    delete_marks(conn, [series_id], since_ns=first)
    insert_marks(conn, series_id, kept)


def _continue_totals(
    table: ParsedTable, by_name: dict[str, Series], frequency_ns: int
) -> tuple[NDArray[np.float64], list[str]]:
    """The file's values with the increase at each running total's first reading measured from
    the total stored with its series (the reader could not know it: that reading opens the file),
    and the series so continued. A series is a running total's on both sides or on neither: its
    raw readings appended to stored increases, or the reverse, would mix two quantities."""
    values, continued = table.values, []
    for i, channel in enumerate(table.channels):
        series, ends = by_name[channel], table.counters.get(channel)
        was_total = series.counter_at is not None
        if was_total and ends is None:
            raise InvalidInput(
                f"series {channel!r} was imported as a running total's increase per reading; "
                f"append the file's column the same way: --counter {channel} (REST counter)",
                field="counter",
            )
        if ends is not None and not was_total:
            raise InvalidInput(
                f"series {channel!r} was imported as it was read, not as a running total; "
                "append it without --counter, or import the file as a dataset of its own",
                field="counter",
            )
        if ends is None or series.counter_at is None or series.counter_total is None:
            continue
        rise = increase_since(
            series.counter_at, series.counter_total, ends, ends.step_ns or frequency_ns
        )
        if rise is None:
            continue
        if values is table.values:
            values = table.values.copy()
        values[i, np.searchsorted(table.timestamps_ns, ends.first_at)] = rise
        continued.append(channel)
    return values, continued


def _preceding_totals(
    table: ParsedTable, by_name: dict[str, Series], frequency_ns: int
) -> dict[str, tuple[int, float]]:
    """For a file older than what is stored (exports sent newest first): the time of each
    running total's stored first reading and its increase since the file's last reading, by the
    rules of the reader, where they give one."""
    out: dict[str, tuple[int, float]] = {}
    for channel in table.channels:
        series, ends = by_name[channel], table.counters.get(channel)
        if ends is None or series.counter_first_at is None or series.counter_first is None:
            continue
        stored = TotalEnds(
            first_at=series.counter_first_at,
            first=series.counter_first,
            last_at=series.counter_first_at,
            last=series.counter_first,
            step_ns=0,
        )
        rise = increase_since(ends.last_at, ends.last, stored, ends.step_ns or frequency_ns)
        if rise is not None:
            out[channel] = (series.counter_first_at, rise)
    return out
