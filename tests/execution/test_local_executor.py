"""The local executor's spare worker: a process spawned ahead of time (Keras and JAX imported while
it waits) takes the next run, is replaced when it dies idle, never outlives the executor, and
keeps every guarantee of a worker spawned for its run (cancel, death reported with its reason)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gapcast.config import Settings
from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.migrate import upgrade
from gapcast.db.session import make_engine, make_sessionmaker, transaction
from gapcast.execution.channel import Outcome
from gapcast.execution.local import LocalExecutor
from gapcast.execution.runtime import Runtime
from gapcast.ingest import read_table
from gapcast.training_config import TrainingConfig

RUN_TIMEOUT_S = 180.0


class RecordingSink:
    """Where the executor reports: every event and each run's outcome, waitable."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.outcomes: dict[str, Outcome] = {}
        self._changed = threading.Condition()

    def events(self, run_id: str, messages: list[dict[str, Any]]) -> None:
        with self._changed:
            self.received[run_id].extend(messages)
            self._changed.notify_all()

    def finished(self, run_id: str, outcome: Outcome) -> None:
        with self._changed:
            self.outcomes[run_id] = outcome
            self._changed.notify_all()

    def outcome(self, run_id: str) -> Outcome:
        with self._changed:
            assert self._changed.wait_for(lambda: run_id in self.outcomes, RUN_TIMEOUT_S)
            return self.outcomes[run_id]

    def wait_event(self, run_id: str, wanted: Callable[[dict[str, Any]], bool]) -> None:
        with self._changed:
            assert self._changed.wait_for(
                lambda: any(wanted(m) for m in self.received[run_id]), RUN_TIMEOUT_S
            )


class Bench:
    """A database with a dataset, an executor on it, and runs claimed as the scheduler would."""

    def __init__(self, tmp: Path, sample_csv: Path, *, prestart: bool, nice: int = 0) -> None:
        url = f"sqlite:///{tmp / 'gapcast.db'}"  # the executor does not care which database
        upgrade(url)
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)
        table = read_table(sample_csv.read_bytes(), filename=sample_csv.name)
        with transaction(self.sessions) as session:
            self.dataset_id = repository.import_dataset(session, table=table, name="co2").id
        self.sink = RecordingSink()
        self.executor = LocalExecutor(
            database_url=url,
            data_dir=tmp / "data",
            capacity=1,
            sink=self.sink,
            prestart=prestart,
            nice=nice,
        )

    def claim(self, epochs: int = 1) -> str:
        config = TrainingConfig(model="linear").with_overrides(
            {
                "epochs": epochs,
                "lookback": 16,
                "horizon": 4,
                "patience": 0,
                "gap_classifier": "never",
            }
        )
        with transaction(self.sessions) as session:
            dataset = repository.get_dataset(session, self.dataset_id)
            run = run_store.create_run(session, dataset=dataset, config=config, max_queued=10)
            claimed = run_store.claim_next(session, worker="test")
            assert claimed is not None and claimed.id == run.id
            return run.id

    def start(self, run_id: str) -> int:
        pid = self.executor.start(run_id)["pid"]
        assert isinstance(pid, int)
        return pid

    def spare(self, other_than: int | None = None) -> int:
        """The spare's pid, once there is one (other than ``other_than``)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pid = self.executor.spare_pid()
            if pid is not None and pid != other_than:
                return pid
            time.sleep(0.05)
        raise AssertionError("no spare worker appeared")


@pytest.fixture
def bench(tmp_path: Path, sample_csv: Path) -> Iterator[Bench]:
    before = children()
    made = Bench(tmp_path, sample_csv, prestart=True)
    yield made
    made.executor.shutdown()
    made.engine.dispose()
    assert children() <= before


def children() -> set[int]:
    """This process's live and zombie children, but multiprocessing's resource tracker (shared
    by every spawn-context Event of the process, and meant to outlive them)."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its parenthesis.
        if stat.rsplit(")", 1)[1].split()[1] == me and b"resource_tracker" not in cmdline:
            found.add(int(entry.name))
    return found


def test_the_next_run_is_handed_to_the_spare(bench: Bench) -> None:
    first = bench.claim()
    first_pid = bench.start(first)
    spare = bench.spare()
    assert spare != first_pid
    assert bench.executor.running() == [first]  # a spare is no running run
    assert bench.sink.outcome(first).status == "succeeded"
    assert bench.executor.free_slots() == 1 and bench.executor.spare_pid() == spare

    second = bench.claim()
    assert bench.start(second) == spare
    next_spare = bench.spare(other_than=spare)
    assert next_spare not in (first_pid, spare)
    assert bench.sink.outcome(second).status == "succeeded"
    # One process per run: both workers are gone (and reaped), only the new spare is left.
    assert children() & {first_pid, spare, next_spare} == {next_spare}


def test_a_spare_that_dies_idle_is_replaced(bench: Bench) -> None:
    first = bench.claim()
    bench.start(first)
    assert bench.sink.outcome(first).status == "succeeded"

    killed = bench.spare()
    os.kill(killed, signal.SIGKILL)
    replacement = bench.spare(other_than=killed)
    assert killed not in children()  # noticed and reaped, not left a zombie

    # Killed just before a run is handed over: whoever notices first (the spare's watcher or
    # the start), the run goes to a live process and succeeds.
    os.kill(replacement, signal.SIGKILL)
    second = bench.claim()
    second_pid = bench.start(second)
    assert second_pid not in (killed, replacement)
    assert bench.sink.outcome(second).status == "succeeded"
    assert not children() & {killed, replacement, second_pid}


def test_a_spare_that_never_takes_its_run_is_replaced_and_the_run_succeeds(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spare killed an instant before the handover still looks alive and its pipe still takes
    the job; stopped (SIGSTOP) it stays in that state for as long as the test needs, so the
    race the test above can only sometimes hit is hit every time. The run must go to a fresh
    worker, not into the grave with the spare."""
    from gapcast.execution import local

    monkeypatch.setattr(local, "ACCEPT_TIMEOUT_S", 1.0)
    first = bench.claim()
    bench.start(first)
    assert bench.sink.outcome(first).status == "succeeded"

    frozen = bench.spare()
    os.kill(frozen, signal.SIGSTOP)
    try:
        second = bench.claim()
        second_pid = bench.start(second)
    finally:
        if frozen in children():
            os.kill(frozen, signal.SIGKILL)
    assert second_pid != frozen
    assert bench.sink.outcome(second).status == "succeeded"
    assert frozen not in children()  # ended and reaped


def test_a_run_on_a_spare_can_be_cancelled_or_killed(bench: Bench) -> None:
    first = bench.claim()
    bench.start(first)
    assert bench.sink.outcome(first).status == "succeeded"

    cancelled = bench.claim(epochs=500)
    pid = bench.spare()
    assert bench.start(cancelled) == pid
    bench.sink.wait_event(cancelled, lambda m: m.get("type") == "progress")
    assert bench.executor.cancel(cancelled)
    assert bench.sink.outcome(cancelled).status == "cancelled"

    killed = bench.claim(epochs=500)
    pid = bench.spare(other_than=pid)
    assert bench.start(killed) == pid
    bench.sink.wait_event(killed, lambda m: m.get("type") == "progress")
    os.kill(pid, signal.SIGKILL)
    outcome = bench.sink.outcome(killed)
    assert outcome.status == "failed" and outcome.code == "worker_died"
    assert "SIGKILL" in outcome.message


def test_shutdown_ends_the_running_worker_and_the_spare(bench: Bench) -> None:
    run_id = bench.claim(epochs=500)
    pid = bench.start(run_id)
    spare = bench.spare()
    assert {pid, spare} <= children()

    assert bench.executor.shutdown() == [run_id]
    assert not children() & {pid, spare}
    assert bench.executor.spare_pid() is None
    with pytest.raises(RuntimeError, match="shutting down"):
        bench.start(bench.claim())


def test_without_prestart_no_spare_is_made(tmp_path: Path, sample_csv: Path) -> None:
    before = children()
    off = Bench(tmp_path, sample_csv, prestart=False)
    try:
        run_id = off.claim()
        pid = off.start(run_id)
        assert off.sink.outcome(run_id).status == "succeeded"
        assert off.executor.spare_pid() is None
        assert children() <= before  # the run's worker was the only process made
        assert pid not in children()
    finally:
        off.executor.shutdown()
        off.engine.dispose()


def test_the_setting_reaches_the_executor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAPCAST_PRESTART_WORKERS", "false")
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}")  # type: ignore[call-arg]
    runtime = Runtime(settings)
    try:
        assert isinstance(runtime.executor, LocalExecutor)
        assert not runtime.executor.prestart
    finally:
        runtime.engine.dispose()
    assert Settings(_env_file=None).prestart_workers is False  # type: ignore[call-arg]
    monkeypatch.delenv("GAPCAST_PRESTART_WORKERS")
    assert Settings(_env_file=None).prestart_workers is True  # type: ignore[call-arg]
    assert Settings(_env_file=None).worker_nice == 5  # type: ignore[call-arg]
    monkeypatch.setenv("GAPCAST_WORKER_NICE", "20")
    with pytest.raises(ValueError, match="worker_nice"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_workers_run_at_the_configured_lower_priority(tmp_path: Path, sample_csv: Path) -> None:
    niced = Bench(tmp_path, sample_csv, prestart=True, nice=7)
    try:
        run = niced.claim()
        niced.start(run)
        assert niced.sink.outcome(run).status == "succeeded"
        spare = niced.spare()
        wanted = os.getpriority(os.PRIO_PROCESS, 0) + 7
        deadline = time.monotonic() + 60
        while os.getpriority(os.PRIO_PROCESS, spare) != wanted and time.monotonic() < deadline:
            time.sleep(0.05)  # the spare lowers its priority first thing after it starts
        assert os.getpriority(os.PRIO_PROCESS, spare) == wanted
        assert os.getpriority(os.PRIO_PROCESS, 0) == wanted - 7  # the server keeps its own
    finally:
        niced.executor.shutdown()
        niced.engine.dispose()
