"""LocalExecutor: each run in its own spawned process, at most ``capacity`` at once.

Per worker there is one supervising thread in the server: it reads the worker's pipe until EOF,
hands events to the sink (which stores and publishes them), then joins the process and reports the
outcome — from the worker's final message, or from its exit code when it died without one (SIGKILL,
the OOM killer, a segfault). Spawn, not fork: the server has threads and an event loop, and JAX
must initialise in a clean process.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from gapcast.execution.base import RunSink
from gapcast.execution.channel import FINAL_KINDS, Outcome, outcome_of
from gapcast.execution.worker import WorkerJob, checkpoint_dir_for, worker_main

log = logging.getLogger("gapcast.execution.local")


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    cancel: Any  # a multiprocessing Event


def death_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker process did not exit"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (out of memory, or killed by an operator)" if name == "SIGKILL" else ""
        return f"the worker process was killed by signal {name}{hint}"
    if exitcode == 0:
        return "the worker process exited without reporting a result"
    return f"the worker process exited with code {exitcode}"


class LocalExecutor:
    kind = "local"

    def __init__(
        self,
        *,
        database_url: str,
        data_dir: Path,
        capacity: int,
        sink: RunSink,
        log_level: str = "INFO",
    ) -> None:
        self.capacity = capacity
        self._database_url = database_url
        self._data_dir = data_dir
        self._sink = sink
        self._log_level = log_level
        self._ctx = mp.get_context("spawn")
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def open(self) -> None:
        """Nothing to connect to: worker processes are spawned per run."""

    def free_slots(self) -> int:
        with self._lock:
            return 0 if self._stopping else self.capacity - len(self._workers)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._workers)

    def start(self, run_id: str) -> dict[str, Any]:
        checkpoint = checkpoint_dir_for(self._data_dir, run_id)
        job = WorkerJob(
            run_id=run_id,
            database_url=self._database_url,
            checkpoint_dir=str(checkpoint),
            parent_pid=os.getpid(),
            log_level=self._log_level,
        )
        reader, writer = self._ctx.Pipe(duplex=False)
        cancel = self._ctx.Event()
        process = self._ctx.Process(
            target=worker_main,
            args=(job, writer, cancel),
            name=f"gapcast-run-{run_id[:8]}",
            daemon=True,  # interpreter exit takes the workers along
        )
        worker = _Worker(process, reader, cancel)
        with self._lock:
            if self._stopping:
                raise RuntimeError("the executor is shutting down")
            self._workers[run_id] = worker
        try:
            process.start()
        except BaseException:
            with self._lock:
                self._workers.pop(run_id, None)
            raise
        finally:
            writer.close()  # the child has its copy; ours must go so EOF means "worker gone"
        threading.Thread(
            target=self._supervise, args=(run_id, worker), name=f"supervise-{run_id[:8]}"
        ).start()
        log.info("worker started", extra={"run_id": run_id, "pid": process.pid})
        return {"kind": self.kind, "pid": process.pid, "host": socket.gethostname()}

    def _supervise(self, run_id: str, worker: _Worker) -> None:
        outcome: Outcome | None = None
        while True:
            batch = _read_available(worker.conn)
            if not batch:
                break
            events = [payload for kind, payload in batch if kind == "event" and payload]
            if events:
                try:
                    self._sink.events(run_id, events)
                except Exception:  # keep draining: a blocked pipe would stall the worker
                    log.exception("storing events failed", extra={"run_id": run_id})
            for kind, payload in batch:
                if kind in FINAL_KINDS:
                    outcome = outcome_of(kind, payload)
        worker.conn.close()
        worker.process.join()
        exitcode = worker.process.exitcode
        with self._lock:
            self._workers.pop(run_id, None)
            stopping = self._stopping
        if stopping:
            return  # the runtime re-queues this run after shutdown
        if outcome is None:
            outcome = Outcome(
                "failed", code="worker_died", message=death_reason(exitcode), retryable=True
            )
        log.info(
            "worker ended",
            extra={"run_id": run_id, "status": outcome.status, "exitcode": exitcode},
        )
        try:
            self._sink.finished(run_id, outcome)
        except Exception:
            log.exception("recording the outcome failed", extra={"run_id": run_id})

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            worker = self._workers.get(run_id)
        if worker is None:
            return False
        worker.cancel.set()
        return True

    def shutdown(self, timeout_s: float = 5.0) -> list[str]:
        with self._lock:
            self._stopping = True
            workers = dict(self._workers)
        for worker in workers.values():
            if worker.process.is_alive():
                worker.process.terminate()
        for worker in workers.values():
            worker.process.join(timeout_s)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        return list(workers)


def _read_available(conn: Connection) -> list[tuple[str, dict[str, Any] | None]]:
    """Block for one message, then take whatever else is already waiting; [] at EOF."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    try:
        out.append(conn.recv())
        while conn.poll():
            out.append(conn.recv())
    except (EOFError, OSError):
        pass
    return out
