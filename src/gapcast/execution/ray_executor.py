"""RayExecutor: each run is a Ray task with the CPU/GPU/memory its config asks for.

``address`` chooses the cluster: ``local`` starts a Ray instance inside the server's machine (and
stops it with the server), ``auto`` joins the cluster already running on this machine, a GCS
``host:port`` joins that one (Ray Client ``ray://`` addresses are refused by the settings: see
docs/operations.md). In a process where Ray is already initialised (a test, a notebook) that
connection is used and left alone.

One thread (the *pump*) supervises every task: it takes the workers' events from the
:class:`~gapcast.execution.ray_worker.EventRelay` actor and hands them to the sink (which stores
them in ``run_events`` and publishes them), and collects finished tasks — always after taking the
events they pushed before returning, so a run's terminal message comes after its progress.

Failures map to outcomes: a task that returned reports its own result; a cancelled one is
``cancelled``; a lost worker or node (killed, out of memory, node died) is a *retryable* failure,
which the runtime re-queues when ``resources.max_retries`` allows, resuming from the checkpoint
the task stored in the database. Cancel is cooperative first (the flag travels back in the answer
to the worker's next push, and the run ends cleanly within 16 training batches); a task still
waiting for resources is ``ray.cancel``-ed at once, and one that ignores the flag is
force-cancelled after ``cancel_grace_s``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import runs as run_store
from gapcast.errors import InvalidInput
from gapcast.execution.base import RunSink
from gapcast.execution.channel import Outcome, outcome_of
from gapcast.execution.ray_worker import EventRelay, RayJob, ray_task
from gapcast.training_config import Resources

log = logging.getLogger("gapcast.execution.ray")

PUMP_WAIT_S = 0.2


@dataclass
class _Task:
    ref: Any  # ray.ObjectRef of the task's result
    started: bool = False  # its first event arrived: it is past waiting for resources
    cancel_by: float | None = None  # monotonic deadline of the cooperative cancel
    forced: bool = False


class RayExecutor:
    kind = "ray"

    def __init__(
        self,
        *,
        database_url: str,
        address: str,
        sessions: sessionmaker[Session],
        capacity: int,
        sink: RunSink,
        server_id: str,
        log_level: str = "INFO",
        cancel_grace_s: float = 10.0,
    ) -> None:
        self.capacity = capacity
        self._database_url = database_url
        self._address = address
        self._sessions = sessions
        self._sink = sink
        self._server_id = server_id
        self._log_level = log_level
        self._cancel_grace_s = cancel_grace_s
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self._stop = threading.Event()
        self._owns_ray = False
        self._relay: Any = None
        self._remote: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if not ray.is_initialized():
            # Workers log to files under the Ray session directory, not into the server's log.
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            ray.init(address="local" if self._address == "local" else self._address, **options)
            self._owns_ray = True
        # The relay sits on the server's node: if it lived on a worker node, losing that node
        # would cut every run off from the server.
        here = ray.get_runtime_context().get_node_id()
        self._relay = (
            ray.remote(EventRelay)
            .options(
                num_cpus=0,
                name=f"gapcast-relay-{self._server_id}",
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=here, soft=False),
            )
            .remote()
        )
        # max_calls=1: a fresh worker process per run, like the local executor — Keras, JAX and
        # their memory go away with the run. Retries are ours (they resume from the database).
        self._remote = ray.remote(max_calls=1, max_retries=0)(ray_task)
        self._thread = threading.Thread(target=self._pump, name="gapcast-ray-pump", daemon=True)
        self._thread.start()
        log.info("ray connected", extra={"address": self._address, "owns": self._owns_ray})

    def shutdown(self) -> list[str]:
        import ray

        with self._lock:
            self._stopping = True
            tasks = dict(self._tasks)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        for task in tasks.values():
            # Kills the worker; its checkpoint stays in the database for whoever resumes the run.
            ray.cancel(task.ref, force=True)
        if self._relay is not None:
            ray.kill(self._relay)
        if self._owns_ray:
            ray.shutdown()
        return list(tasks)

    # -- the Executor protocol ---------------------------------------------------------------

    def free_slots(self) -> int:
        with self._lock:
            return 0 if self._stopping else self.capacity - len(self._tasks)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._tasks)

    def start(self, run_id: str) -> dict[str, Any]:
        resources = self._resources_of(run_id)
        self._check_fits(resources)
        options: dict[str, Any] = {
            "num_cpus": resources.num_cpus,
            "num_gpus": resources.num_gpus,
            "name": f"gapcast-run-{run_id[:8]}",
        }
        if resources.memory:
            options["memory"] = resources.memory
        job = RayJob(run_id=run_id, database_url=self._database_url, log_level=self._log_level)
        with self._lock:
            if self._stopping:
                raise RuntimeError("the executor is shutting down")
            ref = self._remote.options(**options).remote(job, self._relay)
            self._tasks[run_id] = _Task(ref)
        return {"kind": self.kind, "task_id": ref.task_id().hex(), "address": self._address}

    def cancel(self, run_id: str) -> bool:
        import ray

        with self._lock:
            task = self._tasks.get(run_id)
            if task is None:
                return False
            if task.cancel_by is None:
                task.cancel_by = time.monotonic() + self._cancel_grace_s
            started = task.started
        self._relay.cancel.remote(run_id)
        if not started:
            ray.cancel(task.ref)  # still waiting for a node: nothing to end cleanly
        return True

    # -- supervision -------------------------------------------------------------------------

    def _pump(self) -> None:
        import ray

        while not self._stop.is_set():
            try:
                with self._lock:
                    refs = {task.ref: run_id for run_id, task in self._tasks.items()}
                ready: list[Any] = []
                if refs:
                    ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=0)
                # Taken after ``ready`` was known: a finished task's last events are in here.
                self._store(ray.get(self._relay.take.remote(0 if ready else PUMP_WAIT_S)))
                self._force_overdue_cancels()
                for ref in ready:
                    self._finish(refs[ref], ref)
            except Exception:  # keep supervising the other runs
                log.exception("ray supervision failed")
                self._stop.wait(PUMP_WAIT_S)

    def _store(self, items: list[tuple[str, list[dict[str, Any]]]]) -> None:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for run_id, events in items:
            grouped[run_id].extend(events)
        for run_id, events in grouped.items():
            with self._lock:
                task = self._tasks.get(run_id)
                if task is not None:
                    task.started = True
            try:
                self._sink.events(run_id, events)
            except Exception:
                log.exception("storing events failed", extra={"run_id": run_id})

    def _force_overdue_cancels(self) -> None:
        import ray

        now = time.monotonic()
        with self._lock:
            overdue = [
                task
                for task in self._tasks.values()
                if task.cancel_by is not None and task.cancel_by < now and not task.forced
            ]
            for task in overdue:
                task.forced = True
        for task in overdue:
            ray.cancel(task.ref, force=True)

    def _finish(self, run_id: str, ref: Any) -> None:
        outcome = outcome_from(ref)
        with self._lock:
            self._tasks.pop(run_id, None)
            stopping = self._stopping
        self._relay.forget.remote(run_id)
        if stopping:
            return  # the runtime re-queues this run after shutdown
        log.info("ray task ended", extra={"run_id": run_id, "status": outcome.status})
        try:
            self._sink.finished(run_id, outcome)
        except Exception:
            log.exception("recording the outcome failed", extra={"run_id": run_id})

    # -- resources ---------------------------------------------------------------------------

    def _resources_of(self, run_id: str) -> Resources:
        with self._sessions() as session:
            config = run_store.get_run(session, run_id).config
        return Resources.model_validate(config.get("resources") or {})

    def _check_fits(self, resources: Resources) -> None:
        """Refuse a request no node of the cluster can hold: Ray would keep it pending forever."""
        import ray

        nodes: list[dict[str, float]] = [
            node["Resources"]
            for node in ray.nodes()  # type: ignore[no-untyped-call]
            if node.get("Alive")
        ]

        def fits(total: dict[str, float]) -> bool:
            return (
                total.get("CPU", 0.0) >= resources.num_cpus
                and total.get("GPU", 0.0) >= resources.num_gpus
                and (not resources.memory or total.get("memory", 0.0) >= resources.memory)
            )

        if any(fits(total) for total in nodes):
            return
        largest: dict[str, float] = max(
            nodes, key=lambda t: (t.get("GPU", 0.0), t.get("CPU", 0.0)), default={}
        )
        raise InvalidInput(
            f"the run asks for {describe(resources)}, but no node of the Ray cluster has that "
            f"much (largest: {largest.get('CPU', 0):g} CPU, {largest.get('GPU', 0):g} GPU, "
            f"{largest.get('memory', 0) / 2**30:.1f} GiB memory)",
            field="config.resources",
        )


def describe(resources: Resources) -> str:
    out = f"{resources.num_cpus:g} CPU, {resources.num_gpus:g} GPU"
    if resources.memory:
        out += f", {resources.memory / 2**30:.1f} GiB memory"
    return out


def outcome_from(ref: Any) -> Outcome:
    """The outcome of a finished task, from its result or from the error Ray raises for it."""
    import ray
    from ray import exceptions as rex

    try:
        kind, payload = ray.get(ref)
    except rex.TaskCancelledError:
        return Outcome("cancelled", code="cancelled", message="the run was cancelled")
    except rex.OutOfMemoryError:
        return _lost("Ray's memory monitor killed the worker (the node ran out of memory)")
    except rex.NodeDiedError:
        return _lost("the Ray node running it died")
    except rex.WorkerCrashedError:
        return _lost("the Ray worker process died (killed, out of memory, or crashed)")
    except rex.RayTaskError as exc:  # our task body catches everything; this is a bug
        return Outcome("failed", code="training_failed", message=f"the Ray task failed: {exc}")
    except rex.RayError as exc:  # object lost, owner died, ...: the worker is gone
        return _lost(f"Ray lost the task ({type(exc).__name__})")
    return outcome_of(str(kind), payload)


def _lost(message: str) -> Outcome:
    return Outcome("failed", code="worker_died", message=message, retryable=True)
