"""SweepDriver: keeps each running sweep's trials queued until it has them all, then marks the best.

A thread, like the scheduler: it wakes when a run finishes here and polls every ``poll_s`` (a trial
may finish on another replica). Advancing a sweep is one transaction with the sweep's row locked
(skipped when another server holds it): count its trials, ask the sampler for as many new ones as
``parallel`` allows, queue them as runs with their first event, or — once every trial has finished
— record the best run and the sweep's end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import runs as run_store
from gapcast.db import sweeps as sweep_store
from gapcast.db.session import transaction
from gapcast.db.tables import FINISHED_STATUSES, Dataset, Run, Sweep
from gapcast.errors import GapcastError, QueueFull
from gapcast.execution.loop import WakeableLoop
from gapcast.execution.recorder import status_message
from gapcast.sweeps import TrialRecord, ask, objective_value, trial_config
from gapcast.training_config import TrainingConfig

log = logging.getLogger("gapcast.execution.sweeps")


class SweepDriver(WakeableLoop):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_queued: int,
        on_queued: Callable[[], None],
        poll_s: float = 2.0,
    ) -> None:
        super().__init__(
            self.tick,
            name="gapcast-sweeps",
            poll_s=poll_s,
            log=log,
            failure="advancing sweeps failed",
            join_s=30,
        )
        self._sessions = sessions
        self._max_queued = max_queued
        self._on_queued = on_queued

    def tick(self) -> None:
        with self._sessions() as session:
            active = sweep_store.active_ids(session)
        queued = sum(self.advance(sweep_id) for sweep_id in active)
        if queued:
            self._on_queued()

    def advance(self, sweep_id: str) -> int:
        """Queue the trials the sweep has room for, or finish it; returns how many were queued."""
        with transaction(self._sessions) as session:
            sweep = sweep_store.lock_active(session, sweep_id)
            if sweep is None:
                return 0
            trials = sweep_store.trial_runs(session, sweep_id)
            done = [run for run in trials if run.status in FINISHED_STATUSES]
            if len(done) >= sweep.trials:
                _finish(session, sweep, done)
                return 0
            room = min(sweep.parallel - (len(trials) - len(done)), sweep.trials - len(trials))
            if room <= 0:
                return 0
            dataset = session.get(Dataset, sweep.dataset_id) if sweep.dataset_id else None
            if dataset is None:
                sweep_store.finish_sweep(
                    session, sweep, status="failed", error="the sweep's dataset was deleted"
                )
                return 0
            return self._queue(session, sweep, dataset, trials, room)

    def _queue(
        self, session: Session, sweep: Sweep, dataset: Dataset, trials: list[Run], room: int
    ) -> int:
        history = [_record(sweep, run) for run in trials]
        config = TrainingConfig.model_validate(sweep.config)
        queued = 0
        for number in range(len(trials), len(trials) + room):
            params = ask(
                sweep.space,
                sampler=sweep.sampler,
                seed=sweep.seed,
                direction=sweep.direction,
                history=history,
                number=number,
            )
            try:
                run = run_store.create_run(
                    session,
                    dataset=dataset,
                    config=trial_config(config, params),
                    max_queued=self._max_queued,
                )
            except QueueFull:
                break  # the next tick tries again
            except (
                GapcastError,
                ValueError,
            ) as exc:  # the sampler found a value the config refuses
                sweep_store.finish_sweep(
                    session, sweep, status="failed", error=f"trial {number + 1} {params}: {exc}"
                )
                return queued
            run.sweep_id = sweep.id
            run.config_name = sweep.config_name
            run.trial = {"number": number, "params": params}
            message = f"trial {number + 1} of {sweep.trials} of sweep {sweep.id}"
            run_store.append_events(session, run.id, [status_message("queued", message)])
            history.append(TrialRecord(number, params, "running"))
            queued += 1
        log.info("sweep trials queued", extra={"sweep_id": sweep.id, "queued": queued})
        return queued


def _record(sweep: Sweep, run: Run) -> TrialRecord:
    trial = run.trial or {}
    number, params = int(trial.get("number", 0)), dict(trial.get("params", {}))
    if run.status not in FINISHED_STATUSES:
        return TrialRecord(number, params, "running")
    value = _value(sweep, run)
    if value is None:
        return TrialRecord(number, params, "fail")
    return TrialRecord(number, params, "complete", value)


def _value(sweep: Sweep, run: Run) -> float | None:
    if run.status != "succeeded":
        return None
    return objective_value(
        sweep.objective, loss=run.loss, val_loss=run.val_loss, metrics=run.metrics
    )


def _finish(session: Session, sweep: Sweep, done: list[Run]) -> None:
    scored = [(value, run) for run in done if (value := _value(sweep, run)) is not None]
    if not scored:
        sweep_store.finish_sweep(
            session,
            sweep,
            status="failed",
            error=f"no trial succeeded with a value for {sweep.objective}",
        )
        return
    pick = min if sweep.direction == "minimize" else max
    value, best = pick(scored, key=lambda pair: pair[0])
    sweep_store.finish_sweep(
        session, sweep, status="succeeded", best_run_id=best.id, best_value=value
    )
    log.info("sweep finished", extra={"sweep_id": sweep.id, "best_run_id": best.id})
