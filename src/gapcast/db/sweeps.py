"""Sweeps and their trial runs: the only code that reads or writes the ``sweeps`` table.

Like ``runs.py``: the session comes first, everything else by keyword, nothing commits. A sweep is
advanced by whichever server locks its row first (``lock_active`` skips rows another server holds),
so replicas never ask the sampler for the same trial twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gapcast.db.tables import FINISHED_STATUSES, Dataset, Run, Sweep, TrainingConfigRow, utcnow
from gapcast.errors import Conflict, NotFound


def create_sweep(
    session: Session,
    *,
    dataset: Dataset,
    config: dict[str, Any],
    config_row: TrainingConfigRow | None,
    space: dict[str, Any],
    objective: str,
    direction: str,
    sampler: str,
    seed: int,
    trials: int,
    parallel: int,
    name: str | None = None,
) -> Sweep:
    sweep = Sweep(
        id=str(uuid.uuid4()),
        name=name,
        dataset_id=dataset.id,
        dataset_name=dataset.name,
        config_name=config_row.name if config_row is not None else None,
        config=config,
        space=space,
        objective=objective,
        direction=direction,
        sampler=sampler,
        seed=seed,
        trials=trials,
        parallel=parallel,
        status="running",
    )
    session.add(sweep)
    session.flush()
    return sweep


def get_sweep(session: Session, sweep_id: str) -> Sweep:
    sweep = session.get(Sweep, sweep_id)
    if sweep is None:
        raise NotFound(f"no sweep {sweep_id!r}", field="sweep_id")
    return sweep


def list_sweeps(session: Session, *, limit: int = 50) -> list[Sweep]:
    """Newest first."""
    return list(
        session.scalars(select(Sweep).order_by(Sweep.created_at.desc(), Sweep.id).limit(limit))
    )


def active_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Sweep.id).where(Sweep.status == "running")))


def lock_active(session: Session, sweep_id: str) -> Sweep | None:
    """The sweep, row-locked, if it is running and no other server is advancing it right now."""
    return session.scalar(
        select(Sweep)
        .where(Sweep.id == sweep_id, Sweep.status == "running")
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def trial_runs(session: Session, sweep_id: str) -> list[Run]:
    """The sweep's runs in trial order."""
    runs = session.scalars(select(Run).where(Run.sweep_id == sweep_id))
    return sorted(runs, key=lambda run: int((run.trial or {}).get("number", 0)))


def finish_sweep(
    session: Session,
    sweep: Sweep,
    *,
    status: str,
    best_run_id: str | None = None,
    best_value: float | None = None,
    error: str | None = None,
) -> Sweep:
    sweep.status = status
    sweep.best_run_id = best_run_id
    sweep.best_value = best_value
    sweep.error = error
    sweep.finished_at = utcnow()
    session.flush()
    return sweep


def cancel_sweep(session: Session, sweep_id: str) -> list[str]:
    """Mark the sweep cancelled (no further trials); returns its trials still queued or running,
    for the caller to cancel like any run."""
    sweep = session.get(Sweep, sweep_id, with_for_update=True)
    if sweep is None:
        raise NotFound(f"no sweep {sweep_id!r}", field="sweep_id")
    if sweep.status != "running":
        raise Conflict(f"sweep {sweep_id} already finished ({sweep.status})", field="sweep_id")
    finish_sweep(session, sweep, status="cancelled", error="cancelled on request")
    return [run.id for run in trial_runs(session, sweep_id) if run.status not in FINISHED_STATUSES]
