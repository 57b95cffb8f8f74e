"""The scheduler: fills free executor slots with the oldest queued runs.

A thread, not a coroutine: claiming a run and spawning a process are blocking calls that must stay
off the event loop. It wakes when a run is queued or a worker ends, and polls every ``poll_s`` so
runs queued by another process (the CLI, a second server) are picked up too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.execution.base import Executor
from gapcast.execution.loop import WakeableLoop

log = logging.getLogger("gapcast.execution.scheduler")


class Scheduler(WakeableLoop):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: Executor,
        *,
        server_id: str,
        on_start_failed: Callable[[str, Exception], None],
        poll_s: float = 1.0,
    ) -> None:
        super().__init__(
            self.fill, name="gapcast-scheduler", poll_s=poll_s, log=log, failure="scheduling failed"
        )
        self._sessions = sessions
        self._executor = executor
        self._server_id = server_id
        self._on_start_failed = on_start_failed

    def fill(self) -> None:
        """Start queued runs while slots are free."""
        while not self.stopping and self._executor.free_slots() > 0:
            with transaction(self._sessions) as session:
                run = run_store.claim_next(session, worker=self._server_id)
                run_id = run.id if run is not None else None
            if run_id is None:
                return
            try:
                info = self._executor.start(run_id)
            except Exception as exc:
                log.exception("starting a worker failed", extra={"run_id": run_id})
                self._on_start_failed(run_id, exc)
                continue
            # Which replica runs it, next to where: runs.claimed_by is cleared when it ends.
            info = {**info, "server": self._server_id}
            with transaction(self._sessions) as session:
                run_store.get_run(session, run_id).executor = info
            log.info("run started", extra={"run_id": run_id, **info})
