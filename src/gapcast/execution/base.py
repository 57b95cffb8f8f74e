"""The Executor protocol: what the scheduler needs from whatever runs the training.

The scheduler owns the queue (the ``runs`` table) and decides *when*; an executor decides *where*
(a local process, a Ray task). It reports back through a :class:`RunSink`, from its own threads.
"""

from __future__ import annotations

from typing import Any, Protocol

from gapcast.execution.channel import Outcome


class RunSink(Protocol):
    def events(self, run_id: str, messages: list[dict[str, Any]]) -> None:
        """Progress from a worker, in order; blocking is fine (called from a worker's thread)."""

    def finished(self, run_id: str, outcome: Outcome) -> None:
        """Exactly once per started run, unless the executor is shutting down."""


class Executor(Protocol):
    kind: str
    capacity: int

    def open(self) -> None:
        """Connect to whatever runs the workers (blocking; called once, before any ``start``)."""

    def free_slots(self) -> int: ...

    def running(self) -> list[str]:
        """The ids of the runs this executor has started and not yet reported finished."""

    def start(self, run_id: str) -> dict[str, Any]:
        """Start the run; returns what identifies the worker (stored in ``runs.executor``)."""

    def cancel(self, run_id: str) -> bool:
        """Ask a started run to stop; False when this executor is not running it."""

    def shutdown(self) -> list[str]:
        """Stop every worker now; returns the ids of the runs that were still running."""
