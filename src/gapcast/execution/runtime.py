"""Runtime: the server's execution side, assembled — database, event hub, executor, scheduler.

The API's lifespan creates one, ``start()``s it (migrations, recovery, scheduler) and ``stop()``s
it. Recovery is the same for a crash and a clean stop: a run left ``running`` goes back to the
queue and resumes from its last finished epoch (its checkpoint directory survives), unless its
dataset is gone or it already failed to finish ``MAX_ATTEMPTS`` times — then it is marked
``interrupted`` with the reason. Nothing stays ``running`` without a worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Any, Literal

from sqlalchemy.orm import Session

from gapcast.config import Settings
from gapcast.db import runs as run_store
from gapcast.db.migrate import upgrade
from gapcast.db.session import make_engine, make_sessionmaker
from gapcast.errors import InvalidInput
from gapcast.execution.channel import Outcome
from gapcast.execution.hub import EventHub
from gapcast.execution.local import LocalExecutor
from gapcast.execution.recorder import (
    EventRecorder,
    done_message,
    error_message,
    now,
    status_message,
)
from gapcast.execution.scheduler import Scheduler
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
        if settings.executor != "local":
            raise InvalidInput(
                f"executor {settings.executor!r} is not available in this build; use 'local'",
                field="executor",
            )
        self.settings = settings
        self.server_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.data_dir = settings.data_dir.resolve()
        self.engine = make_engine(settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.hub = EventHub(loop) if loop is not None else None
        self.recorder = EventRecorder(self.sessions, self.hub)
        self.executor = LocalExecutor(
            database_url=settings.database_url,
            data_dir=self.data_dir,
            capacity=settings.workers_max,
            sink=self,
            log_level=log_level,
        )
        self.scheduler = Scheduler(
            self.sessions,
            self.executor,
            server_id=self.server_id,
            on_start_failed=self._start_failed,
        )

    # -- lifecycle (blocking: call from a thread) ----------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(self.settings.database_url, engine=self.engine)
        self.recover("the server restarted while the run was running")
        self.scheduler.start()
        log.info(
            "runtime started",
            extra={"server_id": self.server_id, "workers_max": self.executor.capacity},
        )

    def stop(self) -> None:
        self.scheduler.stop()
        for run_id in self.executor.shutdown():
            self._requeue(run_id, "the server stopped while the run was running")
        self.engine.dispose()
        log.info("runtime stopped", extra={"server_id": self.server_id})

    def recover(self, reason: str) -> None:
        with self.sessions() as session:
            orphans = [run.id for run in run_store.running_runs(session)]
        for run_id in orphans:
            self._requeue(run_id, reason)

    def _requeue(self, run_id: str, reason: str) -> None:
        checkpoint = checkpoint_dir_for(self.data_dir, run_id)

        def build(session: Session) -> list[dict[str, Any]]:
            run = run_store.get_run(session, run_id)
            if run.status != "running":
                return []
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
            run_store.finish_run(session, run_id, status="queued")
            resumable = checkpoint.exists() and any(checkpoint.iterdir())
            where = "its last finished epoch" if resumable else "the beginning"
            return [status_message("queued", f"{reason}; it will resume from {where}")]

        stored = self.recorder.record(run_id, build)
        log.info("run recovered", extra={"run_id": run_id, "events": len(stored)})

    # -- RunSink: called from the executor's supervising threads -------------------------------

    def events(self, run_id: str, messages: list[dict[str, Any]]) -> None:
        self.recorder.append(run_id, messages)

    def finished(self, run_id: str, outcome: Outcome) -> None:
        def build(session: Session) -> list[dict[str, Any]]:
            if outcome.status == "succeeded":
                return [done_message(session, run_store.get_run(session, run_id))]
            if outcome.status == "cancelled":
                run = run_store.finish_run(
                    session, run_id, status="cancelled", error="cancelled on request"
                )
                return [done_message(session, run)]
            run = run_store.finish_run(session, run_id, status="failed", error=outcome.message)
            return [
                error_message(run, code=outcome.code, message=outcome.message, field=outcome.field)
            ]

        self.recorder.record(run_id, build)
        self.scheduler.wake()

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
