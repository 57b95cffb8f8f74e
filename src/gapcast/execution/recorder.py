"""EventRecorder: every run event is committed to ``run_events`` and then published to watchers.

One lock serialises the writers (worker supervisors, cancel requests, recovery), which keeps each
run's ``seq`` gap-free without a database round trip to resolve races. A state change and the
event announcing it (``cancelled`` and its ``done``) are written in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.db.tables import Run
from gapcast.execution.hub import EventHub
from gapcast.execution.notify import notify_stored

# Artifact kind → download path under /runs/{id}; documented in docs/protocol.md.
ARTIFACT_PATHS = {
    "model": "model",
    "gap_model": "gap_model",
    "plot": "plot.png",
    "pipeline": "pipeline.json",
    "backtest": "backtest.json",
}

Build = Callable[[Session], Sequence[dict[str, Any]]]
log = logging.getLogger("gapcast.execution.recorder")
# How long a worker's events and outcome wait for a database that went away (see ``record``).
PATIENCE_S = 60.0


def now() -> float:
    return time.time()


def status_message(stage: str, message: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "status", "stage": stage, "time": now()}
    if message is not None:
        out["message"] = message
    return out


def done_message(session: Session, run: Run) -> dict[str, Any]:
    """The terminal message of a succeeded or cancelled run, built from its stored row."""
    artifacts = [
        {
            "kind": a.kind,
            "media_type": a.media_type,
            "size": a.size,
            "sha256": a.sha256,
            "url": f"/runs/{run.id}/{ARTIFACT_PATHS.get(a.kind, 'artifacts/' + a.kind)}",
        }
        for a in run_store.artifact_refs(session, run.id)
    ]
    return {
        "type": "done",
        "time": now(),
        "status": run.status,
        "metrics": run.metrics,
        "verdict": (run.metrics or {}).get("verdict"),
        "warnings": (run.metrics or {}).get("warnings", []),
        "gap_metrics": run.gap_metrics,
        "runtime_s": run.runtime_s,
        "epochs": run.epochs,
        "loss": run.loss,
        "val_loss": run.val_loss,
        "artifacts": artifacts,
    }


def error_message(run: Run, *, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The terminal message of a failed or interrupted run."""
    out: dict[str, Any] = {
        "type": "error",
        "time": now(),
        "status": run.status,
        "code": code,
        "message": message,
    }
    if field is not None:
        out["field"] = field
    return out


def terminal_message(session: Session, run: Run) -> dict[str, Any]:
    """The terminal message of a finished run rebuilt from its row alone (a run whose server died
    before recording it): what the normal path sends, except that a failure's code, never
    stored, is ``interrupted`` for an interrupted run and ``training_failed`` otherwise."""
    if run.status in ("succeeded", "cancelled"):
        return done_message(session, run)
    code = "interrupted" if run.status == "interrupted" else "training_failed"
    return error_message(run, code=code, message=run.error or f"the run {run.status}")


class EventRecorder:
    def __init__(
        self, sessions: sessionmaker[Session], hub: EventHub | None, *, origin: str = ""
    ) -> None:
        self._sessions = sessions
        self._hub = hub
        self._origin = origin  # this server's id, so its own notifications can be told apart
        self._lock = threading.Lock()

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory it records with (for reads that must not hold its lock)."""
        return self._sessions

    def record(self, run_id: str, build: Build, *, patient: bool = False) -> list[dict[str, Any]]:
        """Run ``build`` (which may change rows) and store the messages it returns, atomically;
        then publish them. Blocking: call from a thread, never from the event loop.

        ``patient``: when the database connection is lost (PostgreSQL restarting, a failover),
        try again for up to ``PATIENCE_S`` instead of losing a worker's events or leaving its run
        ``running`` for ever because the outcome could not be stored. ``build`` runs again.
        """
        with self._lock:
            deadline = time.monotonic() + (PATIENCE_S if patient else 0.0)
            delay = 0.25
            while True:
                try:
                    stored = self._store(run_id, build)
                    break
                except (OperationalError, InterfaceError) as exc:
                    if time.monotonic() + delay > deadline:
                        raise
                    log.warning(
                        "database unreachable; trying again",
                        extra={"run_id": run_id, "error": str(exc.orig).strip()[:200]},
                    )
                    time.sleep(delay)
                    delay = min(2 * delay, 2.0)
            if self._hub is not None:
                for message in stored:
                    self._hub.publish(run_id, message)
        return stored

    def _store(self, run_id: str, build: Build) -> list[dict[str, Any]]:
        with transaction(self._sessions) as session:
            messages = build(session)
            stored = run_store.append_events(session, run_id, messages) if messages else []
            if stored:
                notify_stored(session, run_id, stored[-1]["seq"], origin=self._origin)
        return stored

    def append(self, run_id: str, messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store plain events (a worker's progress). The run's heartbeat is not touched here:
        ``ReplicaWatch`` refreshes every claimed run's on its own clock, silent or not, so one
        more UPDATE per progress event would only slow the path to the watchers down."""
        return self.record(run_id, lambda _session: messages, patient=True)
