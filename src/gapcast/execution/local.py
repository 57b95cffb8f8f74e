"""LocalExecutor: each run in its own spawned process, at most ``capacity`` at once.

With ``prestart`` the executor keeps one spare process that has already imported Keras and JAX
(about a third of a small run) and waits for a job; a run started while it is idle is handed to it,
and the next spare is spawned at once so that queued runs find one ready. A spare serves one run
and exits, like any worker; one that dies while idle is replaced (a few times in a row at most:
spares that cannot even import stop being made).

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
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from gapcast.execution.base import RunSink
from gapcast.execution.channel import FINAL_KINDS, Outcome, outcome_of
from gapcast.execution.worker import WorkerJob, checkpoint_dir_for, worker_main

log = logging.getLogger("gapcast.execution.local")

# Spares that die idle this many times in a row (a broken install, a memory limit) stop the
# executor from making more: each run then spawns its own worker, as without prestart.
MAX_IDLE_DEATHS = 3
SPARE_POLL_S = 0.5
ACCEPT_TIMEOUT_S = 30.0  # how long a spare handed a run may take to say it has it


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection  # the server's end of a duplex pipe: the job goes out, the messages come in
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
        prestart: bool = True,
        nice: int = 0,
    ) -> None:
        self.capacity = capacity
        self.prestart = prestart
        self._nice = nice
        self._database_url = database_url
        self._data_dir = data_dir
        self._sink = sink
        self._log_level = log_level
        self._ctx = mp.get_context("spawn")
        self._workers: dict[str, _Worker] = {}
        self._spare: _Worker | None = None
        self._spawning: threading.Thread | None = None  # making the next spare
        self._idle_deaths = 0
        self._lock = threading.Lock()
        self._stopping = False

    def open(self) -> None:
        """Nothing to connect to. The first spare follows the first run: an idle server that has
        never trained does not hold a process with Keras loaded."""

    def free_slots(self) -> int:
        with self._lock:
            return 0 if self._stopping else self.capacity - len(self._workers)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._workers)

    def spare_pid(self) -> int | None:
        """The idle spare's process id; None while there is none."""
        with self._lock:
            return self._spare.process.pid if self._spare is not None else None

    def start(self, run_id: str) -> dict[str, Any]:
        checkpoint = checkpoint_dir_for(self._data_dir, run_id)
        job = WorkerJob(
            run_id=run_id,
            database_url=self._database_url,
            checkpoint_dir=str(checkpoint),
            parent_pid=os.getpid(),
            log_level=self._log_level,
        )
        with self._lock:
            if self._stopping:
                raise RuntimeError("the executor is shutting down")
            spare, self._spare = self._spare, None
        worker = self._hand_over(spare, job) if spare is not None else None
        prestarted = worker is not None
        if worker is None:
            worker = self._spawn(warm=False)
            # A failed send means the new process died at once: its supervisor reports how.
            _send(worker.conn, job)
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._workers[run_id] = worker
        if stopping:  # shutdown ran meanwhile and could not see this worker
            _stop(worker)
            raise RuntimeError("the executor is shutting down")
        threading.Thread(
            target=self._supervise, args=(run_id, worker), name=f"supervise-{run_id[:8]}"
        ).start()
        pid = worker.process.pid
        log.info("worker started", extra={"run_id": run_id, "pid": pid, "prestarted": prestarted})
        # After the run's worker, not before: the next spare's imports then only compete with
        # a run that is already on its way.
        self._replenish()
        return {"kind": self.kind, "pid": pid, "host": socket.gethostname()}

    # -- spares --------------------------------------------------------------------------------

    def _spawn(self, *, warm: bool) -> _Worker:
        ours, theirs = self._ctx.Pipe(duplex=True)
        cancel = self._ctx.Event()
        process = self._ctx.Process(
            target=worker_main,
            args=(theirs, cancel, os.getpid(), self._log_level, warm, self._nice),
            name="gapcast-spare" if warm else "gapcast-worker",
            daemon=True,  # interpreter exit takes the workers along
        )
        try:
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the child has its copy; ours must go so EOF means "worker gone"
        return _Worker(process, ours, cancel)

    def _hand_over(self, spare: _Worker, job: WorkerJob) -> _Worker | None:
        """The spare, now running ``job``; None when it turned out dead (it is reaped)."""
        if spare.process.is_alive() and _send(spare.conn, job) and _accepted(spare):
            with self._lock:
                self._idle_deaths = 0
            return spare
        _stop(spare)
        log.warning(
            "the spare worker was dead; starting a fresh one",
            extra={"pid": spare.process.pid, "reason": death_reason(spare.process.exitcode)},
        )
        return None

    def _replenish(self) -> None:
        """Start making the next spare, unless one exists, is being made or is not wanted."""
        with self._lock:
            if (
                not self.prestart
                or self._stopping
                or self._spare is not None
                or self._spawning is not None
                or self._idle_deaths >= MAX_IDLE_DEATHS
            ):
                return
            # Spawning blocks for a while (a fork and the pickled start-up data): not the
            # scheduler's time. Started under the lock so that shutdown can always join it.
            self._spawning = threading.Thread(
                target=self._make_spare, name="gapcast-spare", daemon=True
            )
            self._spawning.start()

    def _make_spare(self) -> None:
        try:
            spare = self._spawn(warm=True)
        except Exception:
            log.exception("starting a spare worker failed")
            with self._lock:
                self._spawning = None
                self._idle_deaths += 1
            return
        with self._lock:
            self._spawning = None
            keep = not self._stopping
            if keep:
                self._spare = spare
        if not keep:
            _stop(spare)
            return
        log.debug("spare worker started", extra={"pid": spare.process.pid})
        self._watch(spare)

    def _watch(self, spare: _Worker) -> None:
        """Until the spare is handed a run: notice its death, reap it and make another."""
        while True:
            dead = bool(wait([spare.process.sentinel], SPARE_POLL_S))
            with self._lock:
                if self._spare is not spare:
                    return  # handed a run (its supervisor watches it now) or shut down
                if dead:
                    self._spare = None
                    self._idle_deaths += 1
                    break
        _stop(spare)
        log.warning(
            "an idle spare worker died; starting another",
            extra={"pid": spare.process.pid, "reason": death_reason(spare.process.exitcode)},
        )
        self._replenish()

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
            spare, self._spare = self._spare, None
            spawning = self._spawning
        if spawning is not None:
            spawning.join()  # it sees the executor stopping and ends the spare it made
        processes = [w.process for w in workers.values()]
        if spare is not None:
            processes.append(spare.process)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout_s)
            if process.is_alive():
                process.kill()
                process.join()
        if spare is not None:
            spare.conn.close()
        return list(workers)


def _send(conn: Connection, job: WorkerJob) -> bool:
    try:
        conn.send(job)
    except OSError:  # the process at the other end is gone
        return False
    return True


def _accepted(worker: _Worker) -> bool:
    """Whether the spare confirmed it has the job. A spare killed an instant before the job was
    sent still looks alive and its pipe still takes the job (the pipe closes when the process is
    gone): without the answer the run would go down with it."""
    try:
        # Ready on the answer or on EOF; an idle spare answers at once, the wait is for a
        # machine under load.
        if not worker.conn.poll(ACCEPT_TIMEOUT_S):
            return False
        kind, _ = worker.conn.recv()
    except (EOFError, OSError):
        return False
    return bool(kind == "accepted")


def _stop(worker: _Worker) -> None:
    """End a process that has no supervisor (a spare), and reap it."""
    if worker.process.is_alive():
        worker.process.terminate()
        worker.process.join(5.0)
        if worker.process.is_alive():
            worker.process.kill()
    worker.process.join()
    worker.conn.close()


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
