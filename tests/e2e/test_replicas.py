"""Two (and three) real server processes on one PostgreSQL database.

Runs queued through either replica are each executed exactly once; a watcher on one replica sees
the live events of a run executed by the other (LISTEN/NOTIFY); a replica that starts up leaves
the runs of live replicas alone, and a cancel sent to one reaches the run on another; the runs of
a replica that dies are taken over by the survivor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from gapcast.api.testing import LiveServer, ServerProcess, converse
from gapcast.config import Settings

pytestmark = pytest.mark.postgres

RUNS = 20
# The smallest useful run: seconds each, dominated by the worker process's start.
MINIMAL: dict[str, Any] = {
    "model": "linear",
    "epochs": 1,
    "lookback": 8,
    "horizon": 4,
    "patience": 0,
    "gap_classifier": "never",
}
LONG: dict[str, Any] = {**MINIMAL, "epochs": 2000, "batch_size": 8}


def small_csv(points: int = 400) -> bytes:
    t = np.arange(points)
    values = 10 + np.sin(t * 2 * np.pi / 24) + 0.01 * t
    stamps = np.datetime64("2024-01-01T00:00") + t.astype("timedelta64[h]")
    rows = [f"{s}Z,{v:.5f}" for s, v in zip(stamps.astype(str), values, strict=True)]
    return ("timestamp,load\n" + "\n".join(rows) + "\n").encode()


class Replica:
    def __init__(self, url: str, tmp: Path, name: str) -> None:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, database_url=url, data_dir=tmp / name, workers_max=1
        )
        self.process = ServerProcess(settings, tmp / f"{name}.log")
        self.live = self.process.start(timeout_s=120)

    @property
    def pid(self) -> int:
        assert self.process.process is not None
        return self.process.process.pid

    def http(self) -> httpx.Client:
        return self.live.http()

    def queue(self, overrides: dict[str, Any]) -> str:
        body = {"dataset": "small", "overrides": overrides}
        with self.http() as http:
            response = http.post("/runs", json=body)
            assert response.status_code == 202, response.text
            return str(response.json()["run_id"])


@pytest.fixture(scope="module")
def pair(postgres_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    tmp = tmp_path_factory.mktemp("replicas")
    replicas: list[Replica] = []
    try:
        replicas.append(Replica(postgres_db_url, tmp, "a"))
        replicas.append(Replica(postgres_db_url, tmp, "b"))
        with replicas[0].http() as http:
            response = http.post(
                "/datasets", files={"file": ("small.csv", small_csv())}, data={"name": "small"}
            )
            assert response.status_code == 201, response.text
        yield replicas
    finally:
        for replica in replicas:
            replica.process.stop()


def executed_by(run: dict[str, Any]) -> int:
    """The PID of the server process that executed the run (from ``executor.server``)."""
    return int(run["executor"]["server"].split(":")[1])


async def watch_all(targets: list[tuple[LiveServer, str]]) -> list[list[dict[str, Any]]]:
    talks = await asyncio.gather(
        *(converse(f"{live.ws_url}/ws/runs/{run_id}", timeout_s=400) for live, run_id in targets)
    )
    return [talk.messages for talk in talks]


def test_runs_queued_through_both_replicas_run_once_and_stream_to_both(
    pair: list[Replica],
) -> None:
    a, b = pair
    submitted = [(a if i % 2 == 0 else b).queue(MINIMAL) for i in range(RUNS)]
    # Each run is watched on the replica it was NOT submitted through, from while it is queued.
    watchers = [(b if i % 2 == 0 else a) for i in range(RUNS)]

    seen = asyncio.run(watch_all([(w.live, r) for w, r in zip(watchers, submitted, strict=True)]))

    with a.http() as http:
        runs = {r: http.get(f"/runs/{r}").json() for r in submitted}
        stored = {r: http.get(f"/runs/{r}/events").json() for r in submitted}
    assert {run["status"] for run in runs.values()} == {"succeeded"}
    assert {run["attempts"] for run in runs.values()} == {1}
    for run_id in submitted:
        events = stored[run_id]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        loading = [e for e in events if e["type"] == "status" and e["stage"] == "loading"]
        assert len(loading) == 1, f"run {run_id} was started {len(loading)} times"
    assert {executed_by(run) for run in runs.values()} == {a.pid, b.pid}

    crossed = {a.pid: 0, b.pid: 0}
    for watcher, run_id, messages in zip(watchers, submitted, seen, strict=True):
        assert messages == stored[run_id]  # every event, in order, ending with ``done``
        if executed_by(runs[run_id]) != watcher.pid:
            crossed[watcher.pid] += 1
    # Both replicas streamed live events of runs the other one executed.
    assert crossed[a.pid] > 0 and crossed[b.pid] > 0, crossed


def wait_running(replica: Replica, run_id: str, timeout_s: float = 60) -> dict[str, Any]:
    """The run as ``replica`` reports it once some replica's worker is executing it."""
    deadline = time.monotonic() + timeout_s
    while True:
        with replica.http() as http:
            run: dict[str, Any] = http.get(f"/runs/{run_id}").json()
        if run["status"] == "running" and run.get("executor"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def test_a_starting_replica_leaves_live_runs_alone_and_cancels_across(
    pair: list[Replica], postgres_db_url: str, tmp_path: Path
) -> None:
    a, b = pair
    run_id = a.queue(LONG)
    run = wait_running(a, run_id)
    # Watched on the replica that does not execute it (either may claim it), so its live events
    # can only arrive by NOTIFY or by the bridge's poll, whichever replica claimed it.
    watcher = b if executed_by(run) == a.pid else a
    delays: list[float] = []

    def ten_progress_events(message: dict[str, Any]) -> bool:
        if message.get("type") == "progress":
            delays.append(time.time() - message["time"])
        return len(delays) >= 10

    url = f"{watcher.live.ws_url}/ws/runs/{run_id}"
    running = asyncio.run(converse(url, stop=ten_progress_events, timeout_s=120)).messages
    with a.http() as http:
        before = http.get(f"/runs/{run_id}").json()

    c = Replica(postgres_db_url, tmp_path, "c")  # its start-up recovery runs now
    try:
        with c.http() as http:
            after = http.get(f"/runs/{run_id}").json()
            assert after["status"] == "running" and after["attempts"] == 1
            assert after["executor"] == before["executor"]
            assert http.post(f"/runs/{run_id}/cancel").json()["status"] == "cancelling"
        rest = asyncio.run(
            converse(f"{c.live.ws_url}/ws/runs/{run_id}?after={running[-1]['seq']}", timeout_s=60)
        ).messages
    finally:
        c.process.stop()
    assert rest[-1]["type"] == "done" and rest[-1]["status"] == "cancelled"
    # Pushed by NOTIFY (tens of ms), not found by the bridge's 5 s safety poll.
    assert sorted(delays)[len(delays) // 2] < 1.0, delays


def test_the_runs_of_a_dead_replica_are_taken_over(pair: list[Replica]) -> None:
    a, _ = pair
    run_id = a.queue({**MINIMAL, "epochs": 60, "batch_size": 8})
    run = wait_running(a, run_id)
    victim, survivor = pair if executed_by(run) == pair[0].pid else pair[::-1]

    victim.process.kill()  # its worker follows it; the run stays 'running' in the database
    url = f"{survivor.live.ws_url}/ws/runs/{run_id}"
    messages = asyncio.run(converse(url, timeout_s=150)).messages

    requeued = [m for m in messages if m["type"] == "status" and m["stage"] == "queued"]
    gone = f"process {victim.pid} on this machine) is gone"
    assert any(gone in m.get("message", "") for m in requeued), requeued
    assert messages[-1]["type"] == "done" and messages[-1]["status"] == "succeeded"
    with survivor.http() as http:
        run = http.get(f"/runs/{run_id}").json()
    assert run["attempts"] == 2 and executed_by(run) == survivor.pid
