"""The worker process: the one place where the server calls the training core.

It runs in a fresh process (spawn) per run, so Keras, JAX and their memory live and die with the
run, and a crash or a SIGKILL takes down this run alone. It reads the run from the database, trains
with :class:`MLRunner`, stores the result in ONE transaction (figures and artifacts together) and
reports through its :class:`WorkerChannel`. A run that is re-queued after a server crash finds its
Keras BackupAndRestore state in ``checkpoint_dir`` and resumes at the next unfinished epoch.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.pool import NullPool

from gapcast.errors import Cancelled, GapcastError, NotFound
from gapcast.events import AnyEvent, LogEvent, StatusEvent
from gapcast.execution.channel import Message, WorkerChannel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session, sessionmaker

    from gapcast.model_training.callbacks import CancelFlag

log = logging.getLogger("gapcast.execution.worker")
STORE_PATIENCE_S = 60.0


@dataclass(frozen=True)
class WorkerJob:
    run_id: str
    database_url: str
    checkpoint_dir: str
    parent_pid: int
    log_level: str = "INFO"


class EventReporter(Protocol):
    """Where a training's events go: a process pipe (local) or a Ray actor (``ray_worker``)."""

    def event(self, event: AnyEvent) -> None: ...


def checkpoint_dir_for(data_dir: Path, run_id: str) -> Path:
    return data_dir / "runs" / run_id


def worker_main(
    conn: Connection,
    cancel: CancelFlag,
    parent_pid: int,
    log_level: str,
    warm: bool,
    nice: int = 0,
) -> None:
    """Process entry point (must stay importable without side effects: spawn imports it).

    The process receives its one :class:`WorkerJob` on ``conn`` and answers on the same pipe. A
    spare (``warm``) does the heavy imports first and then waits, so that the run handed to it
    later starts without them; a spare whose server closes the pipe before sending a job exits.
    """
    from gapcast.execution.logs import configure_logging

    # Ctrl-C in a terminal signals the whole process group, workers included; the server decides
    # what becomes of a run (cancel, or back to the queue at shutdown), so a worker ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Training takes every core it is given; at a lower priority it still gets them all while
    # the server is idle, but the event loop (progress to watchers, pings, the REST API) comes
    # first when both want the CPU.
    if nice:
        os.nice(nice)
    configure_logging(log_level)
    # Watched from the start: an idle spare orphaned by a crashed server must not linger either.
    _exit_with_parent(parent_pid)
    if warm:
        prewarm()
    try:
        job: WorkerJob = conn.recv()
    except (EOFError, OSError):
        conn.close()
        return
    channel = WorkerChannel(conn)
    channel.send("accepted")  # before anything else: the server waits for it (_hand_over)
    try:
        kind, payload = run_training(job, channel, cancel)
        channel.send(kind, payload)
    finally:
        channel.close()


def prewarm() -> None:
    """Import what every run needs (Keras and JAX are most of a small run's start-up)."""
    import importlib

    from gapcast.model_training.keras_env import import_keras

    import_keras()
    for module in (
        "jax",
        "gapcast.db.runs",
        "gapcast.db.repository",
        "gapcast.db.session",
        "gapcast.training_config",
        "gapcast.model_training.ml_runner",
        "gapcast.model_training.general_model",
        "gapcast.processing.pipeline",
        "gapcast.plotting",
    ):
        importlib.import_module(module)
    from gapcast.model_training.ml_strategy import available

    available()  # loads the built-in strategies and the plug-ins' entry points


def _exit_with_parent(parent_pid: int) -> None:
    """Die when the server dies: an orphaned worker would train a run nobody records."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_training(job: WorkerJob, channel: EventReporter, cancel: CancelFlag) -> Message:
    """Train one run end to end and return the final message (never raises for a run's fault)."""
    from gapcast.db import runs as run_store
    from gapcast.db.repository import load_dataset_frame
    from gapcast.db.session import make_engine, make_sessionmaker
    from gapcast.training_config import TrainingConfig

    checkpoint = Path(job.checkpoint_dir)
    engine = make_engine(job.database_url, poolclass=NullPool)
    try:
        channel.event(StatusEvent(stage="loading"))
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            run = run_store.get_run(session, job.run_id)
            if run.cancel_requested:
                raise Cancelled("the run was cancelled")
            if run.dataset_id is None:
                raise NotFound("the run's dataset was deleted", field="dataset")
            config = TrainingConfig.model_validate(run.config)
            frame = load_dataset_frame(session, run.dataset_id)
            attempt, zone = run.attempts, run.timezone
        if attempt > 1:
            resumable = checkpoint.exists() and any(checkpoint.iterdir())
            where = "its last finished epoch" if resumable else "the beginning"
            channel.event(LogEvent(message=f"attempt {attempt}: resuming from {where}"))

        from gapcast.model_training.ml_runner import MLRunner

        runner = MLRunner(
            config, on_event=channel.event, cancel=cancel, checkpoint_dir=checkpoint, zone=zone
        )
        result = runner.run(frame)
        figures: dict[str, Any] = {
            "runtime_s": result.runtime_s,
            "epochs": result.epochs,
            "loss": result.loss,
            "val_loss": result.val_loss,
            "history": result.history,
            "metrics": result.metrics.model_dump(mode="json"),
            "gap_metrics": (
                result.gap_metrics.model_dump(mode="json") if result.gap_metrics else None
            ),
            "gap_report": result.gap_report.model_dump(mode="json"),
        }
        if result.config is not None:
            # The stored run says what it ran with: lookback, horizon, season resolved.
            figures["config"] = result.config.model_dump(mode="json")
        artifacts = [(a.kind, a.media_type, a.data, a.sha256) for a in result.artifacts]
        _store_result(sessions, job.run_id, figures, artifacts)
        _remove(checkpoint)
        return ("succeeded", None)
    except Cancelled:
        _remove(checkpoint)
        return ("cancelled", None)
    except GapcastError as exc:
        _remove(checkpoint)
        return ("failed", exc.to_dict())
    except Exception as exc:  # a bug or a library failure: report it, with the traceback in logs
        log.exception("run failed", extra={"run_id": job.run_id})
        _remove(checkpoint)
        return ("failed", {"code": "training_failed", "message": f"{type(exc).__name__}: {exc}"})
    finally:
        engine.dispose()


def _store_result(
    sessions: sessionmaker[Session],
    run_id: str,
    figures: dict[str, Any],
    artifacts: Sequence[tuple[str, str, bytes, str]],
) -> None:
    """Figures and artifacts in one transaction. A database that is briefly away (a restart, a
    failover) is waited for, up to ``STORE_PATIENCE_S``, rather than throwing the model away."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from gapcast.db import runs as run_store
    from gapcast.db.session import transaction

    deadline = time.monotonic() + STORE_PATIENCE_S
    delay = 0.25
    while True:
        try:
            with transaction(sessions) as session:
                run_store.store_result(session, run_id, figures=figures, artifacts=artifacts)
            return
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning(
                "database unreachable; storing the result again",
                extra={"run_id": run_id, "error": str(exc.orig).strip()[:200]},
            )
            time.sleep(delay)
            delay = min(2 * delay, 2.0)


def _remove(checkpoint: Path) -> None:
    """A finished run (whatever its end) has nothing left to resume."""
    shutil.rmtree(checkpoint, ignore_errors=True)
