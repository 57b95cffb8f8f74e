"""The worker → server channel: one pipe per worker process, carrying small picklable messages.

A pipe per worker (not one shared ``multiprocessing.Queue``): a worker killed mid-write can only
break its own pipe — the server reads EOF, learns the exit code and fails that run alone — whereas
a shared queue's lock could be left held and stall every other run.

Messages are ``(kind, payload)``: ``event`` (a run event dict with its creation ``time``), then
exactly one final ``succeeded`` (the worker committed the result), ``cancelled`` or ``failed``
(payload: ``{code, message, field}``).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

from gapcast.events import AnyEvent, event_payload

# "accepted": the worker has its job (the first message; see LocalExecutor._hand_over).
Kind = Literal["accepted", "event", "succeeded", "cancelled", "failed"]
FINAL_KINDS: frozenset[str] = frozenset({"succeeded", "cancelled", "failed"})
Message = tuple[Kind, dict[str, Any] | None]


@dataclass(frozen=True)
class Outcome:
    """How a worker ended, as the server learnt it (from its last message or its exit code)."""

    status: Literal["succeeded", "cancelled", "failed"]
    code: str = "ok"
    message: str = ""
    field: str | None = None
    # The worker was lost (killed, out of memory, node gone) rather than failing on its own:
    # the run may be retried from its checkpoint when its config allows (resources.max_retries).
    retryable: bool = False


class WorkerChannel:
    """Worker side. Thread-safe: Keras may report progress from its own callback thread."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, kind: Kind, payload: dict[str, Any] | None = None) -> None:
        with self._lock:
            try:
                self._conn.send((kind, payload))
            except OSError:
                # The server is gone (crashed or killed). Exit at once, without the clean-up an
                # exception would run on its way up: the checkpoint must stay for the resume.
                os._exit(3)

    def event(self, event: AnyEvent) -> None:
        payload = event_payload(event)
        payload["time"] = time.time()
        self.send("event", payload)

    def close(self) -> None:
        self._conn.close()


def outcome_of(kind: str, payload: dict[str, Any] | None) -> Outcome:
    if kind == "succeeded":
        return Outcome("succeeded")
    if kind == "cancelled":
        return Outcome("cancelled", code="cancelled", message="the run was cancelled")
    body = payload or {}
    return Outcome(
        "failed",
        code=str(body.get("code", "training_failed")),
        message=str(body.get("message", "the worker reported a failure")),
        field=body.get("field"),
    )
