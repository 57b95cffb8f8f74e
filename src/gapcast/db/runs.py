"""Runs, their events and their artifacts: the only code that reads or writes them.

Like ``repository.py``: the session comes first, everything else by keyword, gapcast errors are
raised, and nothing commits — the caller's transaction decides. The ``runs`` table is also the work
queue: :func:`claim_next` takes the oldest queued run atomically, so two schedulers (or two
servers on one PostgreSQL database) never start the same run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, defer

from gapcast.db.tables import (
    FINISHED_STATUSES,
    ID_MAX,
    RUN_STATUSES,
    Artifact,
    Dataset,
    Run,
    RunEventRow,
    TrainingConfigRow,
    storable_id,
    utcnow,
)
from gapcast.errors import Conflict, InvalidInput, NotFound, QueueFull
from gapcast.training_config import TrainingConfig

ACTIVE_STATUSES = ("queued", "running")


class _Keep:
    """The type of :data:`KEEP`: "leave this field as it is" (``None`` means "clear it")."""


KEEP = _Keep()
TERMINAL_EVENTS = ("done", "error")
CHECKPOINT = "checkpoint"


def create_run(
    session: Session,
    *,
    dataset: Dataset,
    config: TrainingConfig,
    config_row: TrainingConfigRow | None = None,
    max_queued: int,
    run_id: str | None = None,
) -> Run:
    """A queued run with a snapshot of its configuration (later edits of the config don't leak)."""
    queued = session.scalar(select(func.count()).select_from(Run).where(Run.status == "queued"))
    if queued is not None and queued >= max_queued:
        raise QueueFull(
            f"{queued} runs are already queued (the limit is {max_queued}); retry when some finish"
        )
    run = Run(
        id=run_id or str(uuid.uuid4()),
        dataset_id=dataset.id,
        dataset_name=dataset.name,
        timezone=dataset.timezone,
        config_id=config_row.id if config_row is not None else None,
        config_name=config_row.name if config_row is not None else None,
        config=config.model_dump(mode="json"),
        model=config.model,
        status="queued",
        attempts=0,
        cancel_requested=False,
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r}", field="run_id")
    return run


def list_runs(
    session: Session,
    *,
    status: str | None = None,
    dataset: str | None = None,
    model: str | None = None,
    limit: int = 50,
) -> list[Run]:
    """Newest first; ``dataset`` matches the dataset's name (kept after the dataset is deleted),
    ``model`` the model the run was asked for (``auto`` included)."""
    query = select(Run).order_by(Run.created_at.desc(), Run.id).limit(limit)
    if status is not None:
        if status not in RUN_STATUSES:
            raise InvalidInput(
                f"unknown status {status!r}; expected one of: {', '.join(RUN_STATUSES)}",
                field="status",
            )
        query = query.where(Run.status == status)
    if dataset is not None:
        if dataset.isascii() and dataset.isdigit():
            query = query.where(Run.dataset_id == int(dataset))
        else:
            query = query.where(Run.dataset_name == dataset)
    if model is not None:
        query = query.where(Run.model == model)
    return list(session.scalars(query))


def label_run(
    session: Session,
    run_id: str,
    *,
    name: str | _Keep | None = KEEP,
    tags: list[str] | _Keep | None = KEEP,
    note: str | _Keep | None = KEEP,
) -> Run:
    """Set a run's name, tags or note (``None`` clears one; ``KEEP``, the default, leaves it).

    Labels never touch a run's figures, so any run can be labelled, even while it trains.
    """
    run = get_run(session, run_id)
    if not isinstance(name, _Keep):
        run.name = name
    if not isinstance(tags, _Keep):
        run.tags = tags
    if not isinstance(note, _Keep):
        run.note = note
    session.flush()
    return run


def claim_next(session: Session, *, worker: str) -> Run | None:
    """Mark the oldest queued run ``running`` for ``worker`` and return it (None: queue empty).

    One UPDATE guarded by ``status = 'queued'``: on PostgreSQL the sub-select also locks with SKIP
    LOCKED, so concurrent claimers take different runs instead of waiting on each other.
    """
    oldest = (
        select(Run.id)
        .where(Run.status == "queued")
        .order_by(Run.created_at, Run.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    now = utcnow()
    claimed = session.scalar(
        update(Run)
        .where(Run.id == oldest, Run.status == "queued")
        .values(
            status="running",
            claimed_by=worker,
            started_at=func.coalesce(Run.started_at, now),
            heartbeat_at=now,
            # A stale result of an earlier attempt must not read as this attempt's.
            finished_at=None,
            attempts=Run.attempts + 1,
        )
        .returning(Run.id)
    )
    if claimed is None:
        return None
    run = session.get(Run, claimed, populate_existing=True)
    assert run is not None  # we just updated it in this transaction
    return run


def finish_run(
    session: Session,
    run_id: str,
    *,
    status: Literal["failed", "cancelled", "interrupted", "queued"],
    error: str | None = None,
) -> Run:
    """Move an active run to ``status`` (``queued``: back to the queue, to be resumed)."""
    run = get_run(session, run_id)
    run.status = status
    run.error = error
    run.claimed_by = None
    if status != "queued":
        run.finished_at = utcnow()
        run.runtime_s = _elapsed(run.started_at)
        if run.epochs is None:
            run.epochs = _epochs_done(session, run_id)
        # A finished run has nothing left to resume (the Ray executor stores its checkpoint).
        session.execute(
            delete(Artifact).where(Artifact.run_id == run_id, Artifact.kind == CHECKPOINT)
        )
    session.flush()
    return run


def _epochs_done(session: Session, run_id: str) -> int | None:
    """The forecaster's finished epochs, from its last progress event (a run stopped before its
    result was stored still shows how far it got)."""
    rows = session.scalars(
        select(RunEventRow.payload)
        .where(RunEventRow.run_id == run_id, RunEventRow.type == "progress")
        .order_by(RunEventRow.seq.desc())
        .limit(50)
    )
    for event in rows:
        if event.get("model", "forecaster") != "forecaster" or event.get("phase") == "refit":
            continue
        epoch = event.get("epoch")
        if isinstance(epoch, int):
            # An event within an epoch (``batch`` set) means that epoch did not finish.
            return epoch if event.get("batch") is None else epoch - 1
    return None


def _elapsed(started: datetime | None) -> float | None:
    if started is None:
        return None
    return (utcnow() - started).total_seconds()


def store_result(
    session: Session,
    run_id: str,
    *,
    figures: dict[str, Any],
    artifacts: Sequence[tuple[str, str, bytes, str]],
) -> Run:
    """A finished run's figures and artifacts ``(kind, media_type, data, sha256)``, together.

    The run stays ``running`` (and claimed): the worker writes this in its own transaction, and
    only the server that records the ``done`` event marks it ``succeeded``
    (:func:`mark_succeeded`, in the event's transaction), so no run is ever ``succeeded`` without
    its terminal event. ``finished_at`` set on a running run says the result is stored
    (:func:`result_stored`).
    """
    run = get_run(session, run_id)
    for key, value in figures.items():
        setattr(run, key, value)
    run.error = None
    run.finished_at = utcnow()
    session.execute(delete(Artifact).where(Artifact.run_id == run_id))
    for kind, media_type, data, sha256 in artifacts:
        session.add(
            Artifact(
                run_id=run_id,
                kind=kind,
                media_type=media_type,
                data=data,
                sha256=sha256,
                size=len(data),
            )
        )
    session.flush()
    return run


def result_stored(run: Run) -> bool:
    """Whether the worker stored the run's result and the server has not yet announced it."""
    return run.status == "running" and run.finished_at is not None


def mark_succeeded(session: Session, run_id: str) -> Run:
    """A run whose result is stored becomes ``succeeded``; its ``done`` event goes in the same
    transaction."""
    run = get_run(session, run_id)
    run.status = "succeeded"
    run.error = None
    run.claimed_by = None
    if run.finished_at is None:
        run.finished_at = utcnow()
    # A checkpoint saved after the result (a Ray worker's last save) has nothing left to resume.
    session.execute(delete(Artifact).where(Artifact.run_id == run_id, Artifact.kind == CHECKPOINT))
    session.flush()
    return run


def request_cancel(session: Session, run_id: str) -> Literal["cancelled", "requested"]:
    """Cancel a queued run now (``cancelled``) or flag a running one (``requested``)."""
    run = get_run(session, run_id)
    if run.status in FINISHED_STATUSES:
        raise Conflict(f"run {run_id} already finished ({run.status})", field="run_id")
    run.cancel_requested = True
    if run.status == "queued":
        finish_run(session, run_id, status="cancelled", error="cancelled before it started")
        return "cancelled"
    session.flush()
    return "requested"


def delete_run(session: Session, run_id: str) -> None:
    """Delete a finished run with its artifacts and events, in the caller's transaction.

    The row is locked first, so a scheduler cannot claim a queued run between the status check
    and the delete. Artifacts and events are deleted explicitly rather than left to ``ON DELETE
    CASCADE``: a SQLite connection opened without ``PRAGMA foreign_keys`` would otherwise keep
    them as orphans.
    """
    run = lock_run(session, run_id)
    if run.status in ACTIVE_STATUSES:
        raise Conflict(
            f"run {run_id} is {run.status}; cancel it first (gapcast runs cancel {run_id[:8]}, "
            f"or POST /runs/{run_id}/cancel), then delete it once it has stopped",
            field="run_id",
        )
    session.execute(delete(Artifact).where(Artifact.run_id == run_id))
    session.execute(delete(RunEventRow).where(RunEventRow.run_id == run_id))
    session.execute(delete(Run).where(Run.id == run_id))
    session.expunge(run)


def running_runs(session: Session, *, claimed_by: str | None = None) -> list[Run]:
    query = select(Run).where(Run.status == "running").order_by(Run.created_at)
    if claimed_by is not None:
        query = query.where(Run.claimed_by == claimed_by)
    return list(session.scalars(query))


def touch_claimed(session: Session, *, claimed_by: str) -> None:
    """Heartbeat of every run a server runs: it is alive, even while its runs are silent."""
    session.execute(
        update(Run)
        .where(Run.status == "running", Run.claimed_by == claimed_by)
        .values(heartbeat_at=utcnow())
    )


def lock_run(session: Session, run_id: str) -> Run:
    """The run, row-locked until the transaction ends (PostgreSQL; SQLite locks the database)."""
    run = session.get(Run, run_id, with_for_update=True, populate_existing=True)
    if run is None:
        raise NotFound(f"no run {run_id!r}", field="run_id")
    return run


# --- events ---------------------------------------------------------------------------------


def last_seq(session: Session, run_id: str) -> int:
    found = session.scalar(select(func.max(RunEventRow.seq)).where(RunEventRow.run_id == run_id))
    return int(found or 0)


def append_events(
    session: Session, run_id: str, messages: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Store ``messages`` with the next sequence numbers; returns them with ``run_id`` and ``seq``.

    The caller serialises writers of one run (the server's EventRecorder holds a lock), and the
    unique (run_id, seq) constraint turns any slip into an error instead of a reordered log.
    """
    # The row lock serialises writers of one run across processes (two server replicas: one runs
    # it, the other records a cancel request), where the recorder's in-process lock cannot.
    session.execute(select(Run.id).where(Run.id == run_id).with_for_update())
    first = last_seq(session, run_id) + 1
    stored = [
        {**message, "run_id": run_id, "seq": seq} for seq, message in enumerate(messages, first)
    ]
    # A Core insert, not ORM objects: this runs for every progress event of every run, and the
    # rows are never used as objects in the same session (the unit of work was half the cost).
    session.execute(
        insert(RunEventRow),
        [
            {"run_id": run_id, "seq": wire["seq"], "type": str(wire["type"]), "payload": wire}
            for wire in stored
        ],
    )
    return stored


def terminal_event_missing(session: Session, run_id: str) -> bool:
    """Whether the run's last event is not its terminal one (a finished run's is, always)."""
    last = session.scalar(
        select(RunEventRow.type)
        .where(RunEventRow.run_id == run_id)
        .order_by(RunEventRow.seq.desc())
        .limit(1)
    )
    return last not in TERMINAL_EVENTS


@dataclass(frozen=True)
class Unannounced:
    """A finished run without its terminal event, and what tells whether its server is gone."""

    run_id: str
    claimed_by: str | None
    finished_at: datetime | None


def unannounced_runs(session: Session) -> list[Unannounced]:
    """Finished runs whose last event is not terminal: a result stored by an older version whose
    server died before recording the ``done`` event (this version writes both together).

    One index probe per finished run ((run_id, seq) is unique), however long its event log.
    """
    last_type = (
        select(RunEventRow.type)
        .where(RunEventRow.run_id == Run.id)
        .order_by(RunEventRow.seq.desc())
        .limit(1)
        .correlate(Run)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Run.id, Run.claimed_by, Run.finished_at)
        .where(
            Run.status.in_(FINISHED_STATUSES),
            func.coalesce(last_type, "").not_in(TERMINAL_EVENTS),
        )
        .order_by(Run.created_at)
    )
    return [Unannounced(run_id, claimed_by, finished) for run_id, claimed_by, finished in rows]


def events_after(session: Session, run_id: str, after: int = 0) -> list[dict[str, Any]]:
    if not storable_id(after):
        # Beyond the sequence column's range: no event can follow it (and asking SQLite would
        # overflow). Below it, every event does.
        after = -1 if after < 0 else ID_MAX
    rows = session.scalars(
        select(RunEventRow.payload)
        .where(RunEventRow.run_id == run_id, RunEventRow.seq > after)
        .order_by(RunEventRow.seq)
    )
    return [dict(row) for row in rows]


# --- artifacts ------------------------------------------------------------------------------


def artifact_refs(session: Session, run_id: str) -> list[Artifact]:
    """The run's artifacts without their bytes."""
    return list(
        session.scalars(
            select(Artifact)
            .where(Artifact.run_id == run_id)
            .options(defer(Artifact.data))
            .order_by(Artifact.id)
        )
    )


def get_artifact(session: Session, run_id: str, kind: str) -> Artifact:
    run = get_run(session, run_id)
    found = session.scalar(
        select(Artifact).where(Artifact.run_id == run_id, Artifact.kind == kind).options()
    )
    if found is None:
        why = (
            f"the run is {run.status}"
            if run.status != "succeeded"
            else f"this run has no {kind} (a gap model exists only when the data has large gaps)"
        )
        raise NotFound(f"no {kind} artifact for run {run_id}: {why}", field="kind")
    _ = found.data  # load the deferred bytes while the session is open
    return found


def save_artifact(
    session: Session, run_id: str, *, kind: str, media_type: str, data: bytes
) -> None:
    """Store (or replace) one artifact of a run, e.g. the checkpoint of a run still training."""
    import hashlib

    session.execute(delete(Artifact).where(Artifact.run_id == run_id, Artifact.kind == kind))
    session.add(
        Artifact(
            run_id=run_id,
            kind=kind,
            media_type=media_type,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )
    )
    session.flush()


def artifact_data(session: Session, run_id: str, kind: str) -> bytes | None:
    """The bytes of one artifact, or None when the run has none of that kind."""
    found = session.scalar(
        select(Artifact.data).where(Artifact.run_id == run_id, Artifact.kind == kind)
    )
    return None if found is None else bytes(found)
