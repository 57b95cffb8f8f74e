"""Hyperparameter sweeps: start one, list, show (trials and the best run), cancel.

Trials are ordinary runs: each is listed under ``/runs``, followed on ``/ws/runs/{id}`` and
downloaded like any other. The search space is checked here, before anything is stored: a path
that cannot be tuned, or a bound or choice the config rejects, is refused naming ``space.<path>``.
"""

from __future__ import annotations

import contextlib
import random
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gapcast.api.deps import RuntimeDep, SettingsDep
from gapcast.api.schemas import ERROR_RESPONSES
from gapcast.api.submit import check_length, resolve_config
from gapcast.db import repository
from gapcast.db import sweeps as sweep_store
from gapcast.db.session import transaction
from gapcast.db.tables import Run, Sweep
from gapcast.errors import Conflict, NotFound
from gapcast.sweeps import SweepRequest, check_objective, check_space, objective_value

router = APIRouter(prefix="/sweeps", tags=["sweeps"], responses=ERROR_RESPONSES)


class TrialOut(BaseModel):
    run_id: str
    number: int
    params: dict[str, Any]
    status: str
    value: float | None = Field(description="the objective's value (None until it succeeds)")
    best: bool


class SweepOut(BaseModel):
    id: str
    name: str | None
    status: str = Field(description="running, succeeded, failed or cancelled")
    dataset: str
    config_name: str | None
    objective: str
    direction: str
    sampler: str
    seed: int
    trials: int
    parallel: int
    space: dict[str, Any]
    best_run_id: str | None
    best_value: float | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    trial_runs: list[TrialOut] | None = Field(default=None, description="show only")

    @classmethod
    def of(cls, row: Sweep, runs: list[Run] | None = None) -> SweepOut:
        trial_runs = None
        if runs is not None:
            trial_runs = [
                TrialOut(
                    run_id=run.id,
                    number=int((run.trial or {}).get("number", 0)),
                    params=dict((run.trial or {}).get("params", {})),
                    status=run.status,
                    value=objective_value(
                        row.objective, loss=run.loss, val_loss=run.val_loss, metrics=run.metrics
                    )
                    if run.status == "succeeded"
                    else None,
                    best=run.id == row.best_run_id,
                )
                for run in runs
            ]
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            dataset=row.dataset_name,
            config_name=row.config_name,
            objective=row.objective,
            direction=row.direction,
            sampler=row.sampler,
            seed=row.seed,
            trials=row.trials,
            parallel=row.parallel,
            space=row.space,
            best_run_id=row.best_run_id,
            best_value=row.best_value,
            error=row.error,
            created_at=row.created_at,
            finished_at=row.finished_at,
            trial_runs=trial_runs,
        )


@router.post("", status_code=202)
def create_sweep(body: SweepRequest, runtime: RuntimeDep, settings: SettingsDep) -> SweepOut:
    """Start a sweep: its first ``parallel`` trials are queued within a moment."""
    check_objective(body.objective)
    space = {path: param.model_dump(mode="json") for path, param in body.space.items()}
    with transaction(runtime.sessions) as session:
        dataset = repository.get_dataset(session, body.dataset)
        config, row = resolve_config(session, body.config, body.overrides)
        check_length(dataset, config)
        for probe in check_space(config, body.space, sampler=body.sampler, trials=body.trials):
            check_length(dataset, probe)
        sweep = sweep_store.create_sweep(
            session,
            dataset=dataset,
            config=config.model_dump(mode="json"),
            config_row=row,
            space=space,
            objective=body.objective,
            direction=body.direction,
            sampler=body.sampler,
            seed=body.seed if body.seed is not None else random.randrange(2**31),
            trials=body.trials,
            parallel=body.parallel,
            name=body.name,
        )
        out = SweepOut.of(sweep, [])
    runtime.sweeps.wake()
    return out


@router.get("")
def list_sweeps(
    runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[SweepOut]:
    """Newest first, without their trials."""
    with runtime.sessions() as session:
        return [SweepOut.of(row) for row in sweep_store.list_sweeps(session, limit=limit)]


@router.get("/{sweep_id}")
def show_sweep(sweep_id: str, runtime: RuntimeDep) -> SweepOut:
    """The sweep with every trial's parameters, status and objective value; the best is marked."""
    with runtime.sessions() as session:
        row = sweep_store.get_sweep(session, sweep_id)
        return SweepOut.of(row, sweep_store.trial_runs(session, sweep_id))


@router.post("/{sweep_id}/cancel", status_code=202)
def cancel_sweep(sweep_id: str, runtime: RuntimeDep) -> SweepOut:
    """No further trials; the queued and running ones are cancelled like any run."""
    with transaction(runtime.sessions) as session:
        active = sweep_store.cancel_sweep(session, sweep_id)
    for run_id in active:
        # Conflict/NotFound: it finished (or was deleted) meanwhile, which is what we want.
        with contextlib.suppress(Conflict, NotFound):
            runtime.cancel(run_id)
    with runtime.sessions() as session:
        row = sweep_store.get_sweep(session, sweep_id)
        return SweepOut.of(row, sweep_store.trial_runs(session, sweep_id))
