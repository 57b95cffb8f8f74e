"""The Ray side of a run: the task body, the event relay actor and the checkpoint in the database.

A run's task reads everything from the database itself (the server ships a run id, not arrays) and
trains with the same :func:`run_training` as a local worker process. What differs is where its
events and its checkpoint go:

- **events** are buffered and pushed every ``PUSH_EVERY_S`` to the server's :class:`EventRelay`
  actor, one call at a time (so they stay in order); the answer of each push says whether the run
  was cancelled, which is how the cooperative cancel reaches a worker on another node;
- **the checkpoint** (Keras BackupAndRestore state plus the per-epoch log) lives in a temporary
  directory of the node and is copied into the database as the run's ``checkpoint`` artifact at
  most every ``CHECKPOINT_EVERY_S``, at an epoch end. A retry — on any node — restores it first,
  so it resumes near where it stopped (see :meth:`DatabaseCheckpoint.maybe_save`) instead of at
  the beginning.

Nothing here may import Ray at module level: the local executor's worker never needs it, and the
module is imported by every Ray worker that runs a gapcast task.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import socket
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from gapcast.events import AnyEvent, LogEvent, ProgressEvent, event_payload
from gapcast.execution.channel import Message

log = logging.getLogger("gapcast.execution.ray_worker")

PUSH_EVERY_S = 0.1
POLL_CANCEL_EVERY_S = 1.0  # an idle worker still asks the relay this often whether to stop
CHECKPOINT_EVERY_S = 2.0
CHECKPOINT_MEDIA_TYPE = "application/x-tar"


@dataclass(frozen=True)
class RayJob:
    run_id: str
    database_url: str
    log_level: str = "INFO"


class EventRelay:
    """The actor between a server and its Ray tasks (one per server, on the server's node).

    Async, so a ``take`` waiting for events never blocks the workers' ``push`` calls.
    """

    def __init__(self) -> None:
        self._items: list[tuple[str, list[dict[str, Any]]]] = []
        self._cancelled: set[str] = set()
        self._arrived: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._arrived is None:  # created on the actor's own event loop
            self._arrived = asyncio.Event()
        return self._arrived

    async def push(self, run_id: str, events: list[dict[str, Any]]) -> bool:
        """Queue a worker's events; returns whether the run is to stop."""
        if events:
            self._items.append((run_id, events))
            self._event().set()
        return run_id in self._cancelled

    async def take(self, wait_s: float) -> list[tuple[str, list[dict[str, Any]]]]:
        """Everything queued, waiting up to ``wait_s`` for the first item."""
        arrived = self._event()
        if not self._items and wait_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), wait_s)
        items, self._items = self._items, []
        arrived.clear()
        return items

    async def cancel(self, run_id: str) -> None:
        self._cancelled.add(run_id)

    async def forget(self, run_id: str) -> None:
        self._cancelled.discard(run_id)


class RelayReporter:
    """Worker side of the relay: an :class:`EventReporter` and the run's cancel flag."""

    def __init__(self, relay: Any, run_id: str, *, on_epoch_end: Any = None) -> None:
        self.cancel = threading.Event()  # what Keras's cancel callback checks between batches
        self._relay = relay
        self._run_id = run_id
        self._on_epoch_end = on_epoch_end
        self._buffer: list[dict[str, Any]] = []
        self._buffer_lock = threading.Lock()
        self._push_lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="relay-push", daemon=True)
        self._thread.start()

    def event(self, event: AnyEvent) -> None:
        payload = event_payload(event)
        payload["time"] = time.time()
        with self._buffer_lock:
            self._buffer.append(payload)
        epoch_end = isinstance(event, ProgressEvent) and event.batch is None
        if epoch_end and self._on_epoch_end is not None:
            self._on_epoch_end()  # in the training thread, between two epochs: files are stable

    def _pump(self) -> None:
        last = 0.0
        while not self._closed.wait(PUSH_EVERY_S):
            with self._buffer_lock:
                pending = bool(self._buffer)
            if pending or time.monotonic() - last >= POLL_CANCEL_EVERY_S:
                self.flush()
                last = time.monotonic()

    def flush(self) -> None:
        import ray

        with self._push_lock:
            with self._buffer_lock:
                batch, self._buffer = self._buffer, []
            try:
                stop = ray.get(self._relay.push.remote(self._run_id, batch))
            except ray.exceptions.RayError:
                # The relay (and so the server) is gone: nobody would record this run. Exit at
                # once without clean-up, like a local worker whose pipe broke; the checkpoint in
                # the database stays for the resume.
                log.error(
                    "the server's event relay is gone; exiting", extra={"run_id": self._run_id}
                )
                os._exit(3)
            if stop:
                self.cancel.set()

    def close(self) -> None:
        """Stop the pump and deliver what is left (before the task returns its result)."""
        self._closed.set()
        self._thread.join()
        self.flush()


class DatabaseCheckpoint:
    """The run's checkpoint directory, mirrored into the database as its ``checkpoint`` artifact."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        run_id: str,
        directory: Path,
        *,
        attempt: int,
        every_s: float = CHECKPOINT_EVERY_S,
    ) -> None:
        self.sessions = sessions
        self.run_id = run_id
        self.directory = directory
        self.attempt = attempt
        self.every_s = every_s
        self._last = 0.0

    def restore(self) -> bool:
        """Unpack the stored checkpoint into ``directory``; False when there is none (or it is
        unreadable — the run then trains from the beginning, which is always correct)."""
        from gapcast.db import runs as run_store

        with self.sessions() as session:
            data = run_store.artifact_data(session, self.run_id, run_store.CHECKPOINT)
        if data is None:
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
                archive.extractall(self.directory, filter="data")
        except (tarfile.TarError, OSError):
            log.exception("the stored checkpoint is unreadable", extra={"run_id": self.run_id})
            return False
        return True

    def maybe_save(self) -> None:
        """At an epoch end: store the directory if ``every_s`` passed and Keras has a backup.

        MLRunner emits the end-of-epoch progress event after Keras has written that epoch's backup
        (and the per-epoch log), so what is stored is the epoch that just ended and a resume starts
        at the next one. Until the first backup exists there is nothing worth storing.
        """
        if time.monotonic() - self._last >= self.every_s and self._has_backup():
            self.save()

    def _has_backup(self) -> bool:
        return self.directory.exists() and any(
            child.is_dir() and any(child.iterdir()) for child in self.directory.iterdir()
        )

    def save(self) -> bool:
        """Store the directory now; False when the run is no longer this attempt's to write."""
        from gapcast.db import runs as run_store
        from gapcast.db.session import transaction

        self._last = time.monotonic()
        if not self.directory.exists():
            return False
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:") as archive:
            for path in sorted(self.directory.rglob("*")):
                if path.is_file():
                    archive.add(path, arcname=str(path.relative_to(self.directory)))
        with transaction(self.sessions) as session:
            run = run_store.lock_run(session, self.run_id)
            # A worker of an attempt the server already gave up on must not overwrite the
            # checkpoint of the attempt that replaced it; once the result is stored, nothing will
            # ever resume from a checkpoint.
            if (
                run.status != "running"
                or run.attempts != self.attempt
                or run_store.result_stored(run)
            ):
                return False
            run_store.save_artifact(
                session,
                self.run_id,
                kind=run_store.CHECKPOINT,
                media_type=CHECKPOINT_MEDIA_TYPE,
                data=buffer.getvalue(),
            )
        return True


def ray_task(job: RayJob, relay: Any) -> Message:
    """The body of a run's Ray task (max_calls=1: each run in a fresh worker process)."""
    from gapcast.db import runs as run_store
    from gapcast.db.session import make_engine, make_sessionmaker
    from gapcast.execution.logs import configure_logging
    from gapcast.execution.worker import WorkerJob, run_training

    configure_logging(job.log_level)
    engine = make_engine(job.database_url, poolclass=NullPool)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session:
            attempt = run_store.get_run(session, job.run_id).attempts
        with tempfile.TemporaryDirectory(prefix=f"gapcast-{job.run_id[:8]}-") as tmp:
            checkpoint = DatabaseCheckpoint(
                sessions, job.run_id, Path(tmp) / "checkpoint", attempt=attempt
            )
            reporter = RelayReporter(relay, job.run_id, on_epoch_end=checkpoint.maybe_save)
            try:
                reporter.event(LogEvent(message=placement()))
                checkpoint.restore()
                work = WorkerJob(
                    run_id=job.run_id,
                    database_url=job.database_url,
                    checkpoint_dir=str(checkpoint.directory),
                    parent_pid=os.getppid(),
                    log_level=job.log_level,
                )
                return run_training(work, reporter, reporter.cancel)
            finally:
                reporter.close()
    finally:
        engine.dispose()


def placement() -> str:
    """Where this task runs, for the run's log (and for an operator looking for its process)."""
    import ray

    context = ray.get_runtime_context()
    return (
        f"running on Ray node {context.get_node_id()[:12]} "
        f"({socket.gethostname()}, worker pid {os.getpid()})"
    )
