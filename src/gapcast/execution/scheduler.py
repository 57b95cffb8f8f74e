"""The scheduler: fills free executor slots with the oldest queued runs.

A thread, not a coroutine: claiming a run and spawning a process are blocking calls that must stay
off the event loop. It wakes when a run is queued or a worker ends, and polls every ``poll_s`` so
runs queued by another process (the CLI, a second server) are picked up too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.execution.base import Executor

log = logging.getLogger("gapcast.execution.scheduler")


class Scheduler:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: Executor,
        *,
        server_id: str,
        on_start_failed: Callable[[str, Exception], None],
        poll_s: float = 1.0,
    ) -> None:
        self._sessions = sessions
        self._executor = executor
        self._server_id = server_id
        self._on_start_failed = on_start_failed
        self._poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gapcast-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.fill()
            except Exception:  # the database may be briefly unreachable; try again next tick
                log.exception("scheduling failed")
            self._wake.wait(self._poll_s)
            self._wake.clear()

    def fill(self) -> None:
        """Start queued runs while slots are free."""
        while not self._stop.is_set() and self._executor.free_slots() > 0:
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
