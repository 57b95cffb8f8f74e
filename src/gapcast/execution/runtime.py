"""Runtime: the server's execution side, assembled — database, event hub, executor, scheduler.

The API's lifespan creates one, ``start()``s it (migrations, recovery, scheduler) and ``stop()``s
it. Recovery is the same for a crash and a clean stop: a run left ``running`` goes back to the
queue and resumes from its last finished epoch (its checkpoint directory survives), unless its
dataset is gone or it already failed to finish ``MAX_ATTEMPTS`` times — then it is marked
``interrupted`` with the reason; one whose worker had already stored its result succeeds. Nothing
stays ``running`` without a worker, and no run finishes without its terminal event: a run's final
status and its ``done``/``error`` are written in one transaction (a finished run left without one
by an older version gets it from recovery).

Only runs whose server is gone are recovered (``replicas.py``): several servers may share one
database. A worker that is lost while its server lives (killed, out of memory, a Ray node gone) is
retried the same way when the run's config allows it (``resources.max_retries``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.orm import Session

from gapcast.config import Settings
from gapcast.db import runs as run_store
from gapcast.db.migrate import upgrade
from gapcast.db.session import make_engine, make_sessionmaker
from gapcast.db.tables import FINISHED_STATUSES
from gapcast.execution.base import Executor
from gapcast.execution.channel import Outcome
from gapcast.execution.hub import EventHub
from gapcast.execution.local import LocalExecutor
from gapcast.execution.notify import EventBridge
from gapcast.execution.recorder import (
    EventRecorder,
    done_message,
    error_message,
    now,
    status_message,
    terminal_message,
)
from gapcast.execution.replicas import ReplicaWatch, new_server_id
from gapcast.execution.scheduler import Scheduler
from gapcast.execution.sweeps import SweepDriver
from gapcast.execution.worker import checkpoint_dir_for

log = logging.getLogger("gapcast.execution.runtime")

MAX_ATTEMPTS = 3


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        log_level: str = "INFO",
    ) -> None:
        self.settings = settings
        self.server_id = new_server_id()
        self.data_dir = settings.data_dir.resolve()
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.hub = EventHub(loop) if loop is not None else None
        self.recorder = EventRecorder(self.sessions, self.hub, origin=self.server_id)
        self.executor = self._make_executor(log_level)
        self.scheduler = Scheduler(
            self.sessions,
            self.executor,
            server_id=self.server_id,
            on_start_failed=self._start_failed,
        )
        self.replicas = ReplicaWatch(
            self.sessions,
            self.executor,
            server_id=self.server_id,
            requeue=self._requeue,
            announce=self._announce,
        )
        self.bridge = (
            EventBridge(
                database_url=settings.database_url,
                sessions=self.sessions,
                hub=self.hub,
                origin=self.server_id,
                local_runs=self.executor.running,
            )
            if self.hub is not None
            else None
        )
        self.sweeps = SweepDriver(
            self.sessions, max_queued=settings.max_queued_runs, on_queued=self.scheduler.wake
        )

    def _make_executor(self, log_level: str) -> Executor:
        if self.settings.executor == "ray":
            # Imported only when chosen: Ray is a large import the local executor never needs.
            from gapcast.execution.ray_executor import RayExecutor

            return RayExecutor(
                database_url=self.settings.database_url,
                address=self.settings.ray_address,
                cancel_grace_s=self.settings.ray_cancel_grace_s,
                sessions=self.sessions,
                capacity=self.settings.workers_max,
                sink=self,
                server_id=self.server_id,
                log_level=log_level,
            )
        return LocalExecutor(
            database_url=self.settings.database_url,
            data_dir=self.data_dir,
            capacity=self.settings.workers_max,
            sink=self,
            log_level=log_level,
            prestart=self.settings.prestart_workers,
            nice=self.settings.worker_nice,
        )

    # -- lifecycle (blocking: call from a thread) ----------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(self.settings.database_url, engine=self.engine)
        self.executor.open()
        self.recover("the server restarted while the run was running")
        self.scheduler.start()
        self.replicas.start()
        if self.bridge is not None:
            self.bridge.start()
        self.sweeps.start()
        log.info(
            "runtime started",
            extra={
                "server_id": self.server_id,
                "executor": self.executor.kind,
                "workers_max": self.executor.capacity,
            },
        )

    def stop(self) -> None:
        self.sweeps.stop()
        if self.bridge is not None:
            self.bridge.stop()
        self.replicas.stop()
        self.scheduler.stop()
        for run_id in self.executor.shutdown():
            self._requeue(run_id, self.server_id, "the server stopped while the run was running")
        self.engine.dispose()
        log.info("runtime stopped", extra={"server_id": self.server_id})

    def recover(self, reason: str) -> None:
        """Re-queue the runs left ``running`` by servers that are gone (never a live replica's), and
        give every finished run whose server is gone its missing terminal event."""
        self.replicas.recover_orphans(reason)

    def _requeue(self, run_id: str, claimed_by: str | None, reason: str) -> None:
        checkpoint = checkpoint_dir_for(self.data_dir, run_id)

        def build(session: Session) -> list[dict[str, Any]]:
            run = run_store.lock_run(session, run_id)
            # Another replica may have re-queued (and even restarted) it since we looked.
            if run.status != "running" or run.claimed_by != claimed_by:
                return []
            if run_store.result_stored(run):
                # The worker committed its result; its server went before announcing it.
                return [done_message(session, run_store.mark_succeeded(session, run_id))]
            if run.cancel_requested:
                run = run_store.finish_run(session, run_id, status="cancelled", error=reason)
                return [done_message(session, run)]
            why = None
            if run.dataset_id is None:
                why = "its dataset was deleted"
            elif run.attempts >= MAX_ATTEMPTS:
                why = f"it was started {run.attempts} times without finishing"
            if why is not None:
                message = f"{reason}; not resumed: {why}"
                run = run_store.finish_run(session, run_id, status="interrupted", error=message)
                return [error_message(run, code="interrupted", message=message)]
            resumable = _resumable(session, run_id, checkpoint)
            run_store.finish_run(session, run_id, status="queued")
            where = "its last finished epoch" if resumable else "the beginning"
            return [status_message("queued", f"{reason}; it will resume from {where}")]

        stored = self.recorder.record(run_id, build)
        if stored:
            self.scheduler.wake()
            self.sweeps.wake()
        log.info("run recovered", extra={"run_id": run_id, "events": len(stored)})

    def _announce(self, run_id: str) -> None:
        """Append the terminal event a finished run lacks (its result was stored by an older
        version whose server died before recording ``done``), so its watchers can stop waiting."""

        def build(session: Session) -> list[dict[str, Any]]:
            run = run_store.lock_run(session, run_id)
            # Checked again under the row lock: another replica may have written it since.
            if run.status not in FINISHED_STATUSES or not run_store.terminal_event_missing(
                session, run_id
            ):
                return []
            return [terminal_message(session, run)]

        stored = self.recorder.record(run_id, build)
        if stored:
            log.info("terminal event restored", extra={"run_id": run_id, "seq": stored[-1]["seq"]})

    # -- RunSink: called from the executor's supervising threads -------------------------------

    def events(self, run_id: str, messages: list[dict[str, Any]]) -> None:
        self.recorder.append(run_id, messages)

    def finished(self, run_id: str, outcome: Outcome) -> None:
        def build(session: Session) -> list[dict[str, Any]]:
            run = run_store.lock_run(session, run_id)
            if run.status in FINISHED_STATUSES:
                # Ended elsewhere already (a replica that took this server for gone): one terminal
                # event per run, whoever writes it.
                if run_store.terminal_event_missing(session, run_id):
                    return [terminal_message(session, run)]
                return []
            if run_store.result_stored(run):
                # The worker committed its result, then said so (or died before it could): the
                # run succeeded, whatever the exit code says.
                return [done_message(session, run_store.mark_succeeded(session, run_id))]
            if outcome.retryable:
                retry = _retry(session, run_id, outcome, checkpoint_dir_for(self.data_dir, run_id))
                if retry is not None:
                    return [retry]
            if outcome.status == "succeeded":
                # The worker reports success only after its result's commit; without one, the
                # run cannot be used (no model), so it fails instead of a ``done`` with nothing.
                message = "the worker reported success but no result is stored"
                run = run_store.finish_run(session, run_id, status="failed", error=message)
                return [error_message(run, code="training_failed", message=message)]
            if outcome.status == "cancelled":
                run = run_store.finish_run(
                    session, run_id, status="cancelled", error="cancelled on request"
                )
                return [done_message(session, run)]
            run = run_store.finish_run(session, run_id, status="failed", error=outcome.message)
            return [
                error_message(run, code=outcome.code, message=outcome.message, field=outcome.field)
            ]

        self.recorder.record(run_id, build, patient=True)
        self.scheduler.wake()
        self.sweeps.wake()

    def _start_failed(self, run_id: str, exc: Exception) -> None:
        self.finished(
            run_id,
            Outcome("failed", code="worker_start_failed", message=f"could not start: {exc}"),
        )

    # -- requests from the API (blocking) ------------------------------------------------------

    def queued(self) -> None:
        """A run was queued: fill free slots now instead of at the next poll."""
        self.scheduler.wake()

    def cancel(self, run_id: str) -> Literal["cancelled", "requested"]:
        state: list[Literal["cancelled", "requested"]] = []

        def build(session: Session) -> list[dict[str, Any]]:
            state.append(run_store.request_cancel(session, run_id))
            if state[0] == "cancelled":
                return [done_message(session, run_store.get_run(session, run_id))]
            return [{"type": "log", "level": "info", "message": "cancel requested", "time": now()}]

        self.recorder.record(run_id, build)
        if state[0] == "requested":
            self.executor.cancel(run_id)
        return state[0]


def _resumable(session: Session, run_id: str, checkpoint: Path) -> bool:
    """Whether a checkpoint exists: a local directory, or one stored in the database (Ray)."""
    if checkpoint.exists() and any(checkpoint.iterdir()):
        return True
    return any(a.kind == run_store.CHECKPOINT for a in run_store.artifact_refs(session, run_id))


def _retry(
    session: Session, run_id: str, outcome: Outcome, checkpoint: Path
) -> dict[str, Any] | None:
    """Back to the queue when the worker was lost and the config allows another attempt; the
    ``status queued`` message that says so (None: no retry left, the run fails)."""
    run = run_store.lock_run(session, run_id)
    allowed = int((run.config.get("resources") or {}).get("max_retries", 0))
    if run.cancel_requested or run.status != "running" or run.attempts > allowed:
        return None
    resumable = _resumable(session, run_id, checkpoint)
    run_store.finish_run(session, run_id, status="queued", error=outcome.message)
    where = "its last checkpoint" if resumable else "the beginning"
    return status_message(
        "queued", f"{outcome.message}; retry {run.attempts} of {allowed}, from {where}"
    )
