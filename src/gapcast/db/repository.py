"""Datasets and training configurations: the only code that reads or writes them.

Functions take the session first and everything else by keyword; they raise gapcast errors
(NotFound, Conflict, InvalidInput) and never commit — the caller's transaction decides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gapcast.db.points import (
    delete_marks,
    insert_marks,
    insert_points,
    load_marks,
    load_points,
    time_ns,
    utc_datetime,
)
from gapcast.db.tables import Dataset, Run, Series, TrainingConfigRow, points, storable_id
from gapcast.errors import Conflict, NotFound
from gapcast.ingest import ParsedTable, check_name
from gapcast.training_config import TrainingConfig

if TYPE_CHECKING:
    from gapcast.processing.frame import SeriesFrame

T = TypeVar("T")


def _by_id_or_name(
    session: Session, table: type[T], name: InstrumentedAttribute[str], ref: str | int
) -> T | None:
    # A name made of digits ("2024") is still found when no row has that id. A number no id column
    # can hold names no row, and asking would not even answer "none" (SQLite raises OverflowError,
    # PostgreSQL DataError): it is not looked up.
    if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
        number = int(ref)
        found = session.get(table, number) if storable_id(number) else None
        if found is not None or isinstance(ref, int):
            return found
    return session.scalar(select(table).where(name == ref))


def _some_names(session: Session, name: InstrumentedAttribute[str]) -> list[str]:
    """Up to 20 stored names, for a not-found message that says what there is."""
    return list(session.scalars(select(name).order_by(name).limit(20)).all())


def content_hash(timestamps_ns: NDArray[np.int64], values: NDArray[np.float64]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.ascontiguousarray(timestamps_ns).tobytes())
    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def median_step_ns(
    timestamps_ns: NDArray[np.int64], values: NDArray[np.float64] | None = None
) -> int | None:
    """The dataset's step, as the resample step infers it (None for a single point): the step
    of its latest readings where they keep a coarser one than the rest (a logger reconfigured
    from 15 minutes to hourly), since forecasts are made from them."""
    from gapcast.processing._time import infer_frequency
    from gapcast.processing.resample import recent_step

    if len(timestamps_ns) < 2:
        return None
    step = infer_frequency(timestamps_ns)
    if values is None:
        return step
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    changed = recent_step(ts, np.isfinite(np.asarray(values, dtype=np.float64)), step)
    return changed[0] if changed else step


# --- datasets -------------------------------------------------------------------------------


def get_dataset(session: Session, ref: str | int) -> Dataset:
    """A dataset by id or name."""
    found = _by_id_or_name(session, Dataset, Dataset.name, ref)
    if found is None:
        names = _some_names(session, Dataset.name)
        known = ", ".join(names) if names else "none yet; import one first"
        raise NotFound(f"no dataset {ref!r}; known datasets: {known}", field="dataset")
    return found


def list_datasets(session: Session) -> list[Dataset]:
    return list(session.scalars(select(Dataset).order_by(Dataset.created_at, Dataset.id)))


def import_dataset(
    session: Session, *, table: ParsedTable, name: str, replace: bool = False
) -> Dataset:
    """Store a parsed file as a dataset with one series per value column.

    Empty cells are not stored: a missing observation is the absence of a point, which is what
    gap detection looks for.
    """
    name = check_name(name.strip(), what="dataset name", field="name")
    existing = session.scalar(select(Dataset).where(Dataset.name == name))
    if existing is not None:
        if not replace:
            raise Conflict(
                f"a dataset named {name!r} already exists; use --replace (or ?replace=true) "
                "to overwrite it, or --append (append=true) to add a newer export's points",
                field="name",
            )
        _delete_dataset_rows(session, existing)
    ts = table.timestamps_ns
    dataset = Dataset(
        name=name,
        frequency_ns=median_step_ns(ts, table.values),
        start=utc_datetime(int(ts[0])),
        end=utc_datetime(int(ts[-1])),
        point_count=table.point_count,
        content_hash=content_hash(ts, table.values),
        source=table.source[:500],
        timezone=table.timezone,
    )
    for position, (channel, unit, row) in enumerate(
        zip(table.channels, table.units, table.values, strict=True)
    ):
        observed = ~np.isnan(row)
        ends = table.counters.get(channel)
        dataset.series.append(
            Series(
                name=channel,
                unit=unit,
                position=position,
                point_count=int(observed.sum()),
                counter_total=ends.last if ends else None,
                counter_at=ends.last_at if ends else None,
                counter_first=ends.first if ends else None,
                counter_first_at=ends.first_at if ends else None,
            )
        )
    session.add(dataset)
    session.flush()
    conn = session.connection()
    for i, (series, row) in enumerate(zip(dataset.series, table.values, strict=True)):
        observed = ~np.isnan(row)
        insert_points(conn, series.id, ts[observed], row[observed])
        if table.marked is not None:
            insert_marks(conn, series.id, ts[table.marked[i]])
    return dataset


def active_runs(session: Session, dataset: Dataset) -> int:
    """Runs of ``dataset`` queued or running: they read its points, so nothing may change them."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Run)
            .where(Run.dataset_id == dataset.id, Run.status.in_(("queued", "running")))
        )
        or 0
    )


def delete_dataset(session: Session, ref: str | int) -> None:
    dataset = get_dataset(session, ref)
    active = active_runs(session, dataset)
    if active:
        raise Conflict(
            f"dataset {dataset.name!r} has {active} queued or running run(s); cancel them first",
            field="dataset",
        )
    _delete_dataset_rows(session, dataset)


def _delete_dataset_rows(session: Session, dataset: Dataset) -> None:
    # points has no foreign key (see tables.py), so its rows go first, explicitly.
    delete_marks(session.connection(), [s.id for s in dataset.series])
    session.execute(
        delete(points).where(
            points.c.series_id.in_(select(Series.id).where(Series.dataset_id == dataset.id))
        )
    )
    session.delete(dataset)
    session.flush()


@dataclass(frozen=True)
class DatasetArrays:
    """A dataset loaded back: a shared time axis, NaN where a series has no point."""

    timestamps_ns: NDArray[np.int64]
    values: NDArray[np.float64]  # (channels, time)
    channels: list[str]
    frequency_ns: int | None
    # (channels, time): where a file said the series had no reading (None: nowhere).
    ended: NDArray[np.bool_] | None = None


def load_dataset_arrays(session: Session, dataset: Dataset) -> DatasetArrays:
    conn = session.connection()
    loaded = [load_points(conn, s.id) for s in dataset.series]
    marks = [load_marks(conn, s.id) for s in dataset.series]
    ended = None
    if len(loaded) == 1 and not marks[0].size:
        ts, v = loaded[0]
        values = v.reshape(1, -1)
    else:
        ts = np.unique(np.concatenate([t for t, _ in loaded] + marks))
        values = np.full((len(loaded), len(ts)), np.nan)
        for row, (t, v) in zip(values, loaded, strict=True):
            row[np.searchsorted(ts, t)] = v
        if any(m.size for m in marks):
            ended = np.zeros(values.shape, dtype=bool)
            for row_ended, m in zip(ended, marks, strict=True):
                row_ended[np.searchsorted(ts, m)] = True
    return DatasetArrays(
        timestamps_ns=ts,
        values=values,
        channels=[s.name for s in dataset.series],
        frequency_ns=dataset.frequency_ns,
        ended=ended,
    )


def load_dataset_frame(
    session: Session, ref: str | int, *, through_end: bool = False
) -> SeriesFrame:
    """The dataset as a frame of its points. ``through_end``: with a row of no readings at the
    dataset's end when its files went on past the last reading (a sensor that stopped while
    its logger kept writing rows), so a forecast from the dataset starts after that end, as
    one from the file itself does, instead of from a reading days old."""
    from gapcast.processing.frame import SeriesFrame

    dataset = get_dataset(session, ref)
    arrays = load_dataset_arrays(session, dataset)
    ts, values, ended = arrays.timestamps_ns, arrays.values, arrays.ended
    end_ns = time_ns(dataset.end) if through_end and dataset.end is not None else None
    if end_ns is not None and ts.size and end_ns > int(ts[-1]):
        ts = np.append(ts, np.int64(end_ns))
        values = np.hstack([values, np.full((values.shape[0], 1), np.nan)])
        ended = None if ended is None else np.hstack([ended, np.zeros_like(ended[:, -1:])])
    frame = SeriesFrame.from_arrays(ts, values, arrays.channels, freq_ns=arrays.frequency_ns)
    return frame if ended is None else frame.replace(ended=ended)


# --- training configurations ----------------------------------------------------------------


def get_config(session: Session, ref: str | int) -> TrainingConfigRow:
    found = _by_id_or_name(session, TrainingConfigRow, TrainingConfigRow.name, ref)
    if found is None:
        names = _some_names(session, TrainingConfigRow.name)
        known = ", ".join(names) if names else "none yet"
        raise NotFound(f"no training config {ref!r}; known configs: {known}", field="config")
    return found


def list_configs(session: Session) -> list[TrainingConfigRow]:
    return list(session.scalars(select(TrainingConfigRow).order_by(TrainingConfigRow.name)))


def create_config(
    session: Session, *, name: str, config: TrainingConfig, replace: bool = False
) -> TrainingConfigRow:
    existing = session.scalar(select(TrainingConfigRow).where(TrainingConfigRow.name == name))
    if existing is not None:
        if not replace:
            raise Conflict(f"a training config named {name!r} already exists", field="name")
        return update_config(session, ref=existing.id, config=config)
    row = TrainingConfigRow(name=name, model=config.model, body=config.model_dump(mode="json"))
    session.add(row)
    session.flush()
    return row


def update_config(session: Session, *, ref: str | int, config: TrainingConfig) -> TrainingConfigRow:
    row = get_config(session, ref)
    row.model = config.model
    row.body = config.model_dump(mode="json")
    session.flush()
    return row


def delete_config(session: Session, ref: str | int) -> None:
    session.execute(
        delete(TrainingConfigRow).where(TrainingConfigRow.id == get_config(session, ref).id)
    )


def config_of(row: TrainingConfigRow) -> TrainingConfig:
    """The stored body, validated again (it may predate a schema change)."""
    return TrainingConfig.model_validate(row.body)
