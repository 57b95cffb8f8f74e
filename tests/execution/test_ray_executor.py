"""The Ray executor against a real Ray instance: this module starts one (2 CPUs, loopback) and a
real server process joins it by address, as a server joins an existing cluster. A run streams live
events over the WebSocket, a cancel ends it cleanly, a killed Ray worker fails the run or — when the
config allows a retry — resumes it from the checkpoint stored in the database."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from gapcast.api.testing import (
    TINY,
    LiveServer,
    ServerProcess,
    converse,
    server_settings,
    temporary_database,
    upload_sample,
)

ray = pytest.importorskip("ray")

# ~0.1 s per epoch: long enough to act on mid-run, short enough to finish after a retry.
SLOW: dict[str, Any] = {**TINY, "epochs": 40, "batch_size": 8}
LONG: dict[str, Any] = {**TINY, "epochs": 400, "batch_size": 8}


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        # Ray's switch for "bind this node to 127.0.0.1": nothing listens beyond loopback.
        env.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        context = ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=100 * 1024 * 1024,
            log_to_driver=False,
        )
        try:
            yield str(context.address_info["gcs_address"])
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def server(ray_address: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("ray-server")
    with temporary_database("sqlite", tmp_dir=tmp) as url, pytest.MonkeyPatch.context() as env:
        env.setenv("GAPCAST_EXECUTOR", "ray")
        env.setenv("GAPCAST_RAY_ADDRESS", ray_address)
        # A grace longer than any wait of these tests: a cancel that ends the run only does so
        # by itself (cooperatively), never by the forced ray.cancel.
        settings = server_settings(
            url,
            tmp / "data",
            workers_max=2,
            executor="ray",
            ray_address=ray_address,
            ray_cancel_grace_s=3600,
        )
        process = ServerProcess(settings, tmp / "server.log")
        try:
            live = process.start(timeout_s=120)
            upload_sample(live)
            yield live
        finally:
            process.stop()


def train(
    live: LiveServer,
    overrides: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    stop: Any = None,
) -> list[dict[str, Any]]:
    request = {"type": "train", "dataset": "co2", "config": config, "overrides": overrides}
    talk = asyncio.run(converse(f"{live.ws_url}/ws/train", [request], stop=stop, timeout_s=180))
    return talk.messages


def follow(live: LiveServer, run_id: str, after: int) -> list[dict[str, Any]]:
    url = f"{live.ws_url}/ws/runs/{run_id}?after={after}"
    return asyncio.run(converse(url, timeout_s=180)).messages


def run_view(live: LiveServer, run_id: str) -> dict[str, Any]:
    with live.http() as http:
        response = http.get(f"/runs/{run_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())


def epoch_end(at_least: int) -> Any:
    def check(message: dict[str, Any]) -> bool:
        return (
            message.get("type") == "progress"
            and message.get("batch") is None
            and message["epoch"] >= at_least
        )

    return check


def worker_pid(messages: list[dict[str, Any]]) -> int:
    for message in messages:
        found = re.search(r"worker pid (\d+)", str(message.get("message", "")))
        if message.get("type") == "log" and found:
            return int(found.group(1))
    raise AssertionError(f"no placement log among {messages}")


def test_run_streams_live_events_through_ray(server: LiveServer) -> None:
    messages = train(server, TINY)

    accepted, *events = messages
    assert accepted["type"] == "accepted"
    assert [m["seq"] for m in events] == list(range(1, len(events) + 1))
    assert any("running on Ray node" in m.get("message", "") for m in events)
    epochs = [
        (m.get("phase"), m["epoch"])
        for m in events
        if m["type"] == "progress" and m.get("batch") is None
    ]
    assert epochs == [("candidate", 1), ("candidate", 2)]  # TINY has no refit
    assert events[-1]["type"] == "done" and events[-1]["status"] == "succeeded"
    view = run_view(server, accepted["run_id"])
    assert view["executor"]["kind"] == "ray" and view["executor"]["task_id"]
    # The checkpoint artifact is gone with the run's end; the results are there.
    kinds = sorted(a["kind"] for a in view["artifacts"])
    assert kinds == ["backtest", "model", "pipeline", "plot"]


def test_cancel_ends_the_ray_task_cleanly(server: LiveServer) -> None:
    started = train(server, LONG, stop=epoch_end(1))
    run_id = started[0]["run_id"]

    with server.http() as http:
        assert http.post(f"/runs/{run_id}/cancel").json()["status"] == "cancelling"
    rest = follow(server, run_id, started[-1]["seq"])

    # Cooperative: the forced cancel waits for an hour's grace, far past follow()'s timeout.
    assert rest[-1]["type"] == "done" and rest[-1]["status"] == "cancelled"
    view = run_view(server, run_id)
    assert view["status"] == "cancelled" and view["artifacts"] == []


def test_killed_worker_resumes_from_the_stored_checkpoint(server: LiveServer) -> None:
    config = {"resources": {"max_retries": 1}}
    started = train(server, SLOW, config=config, stop=epoch_end(3))
    run_id = started[0]["run_id"]
    # Stored at the end of epoch 1 (with that epoch's backup), before epoch 3 trained.
    assert "checkpoint" in [a["kind"] for a in run_view(server, run_id)["artifacts"]]

    os.kill(worker_pid(started), signal.SIGKILL)
    rest = follow(server, run_id, started[-1]["seq"])

    retry = next(m for m in rest if m["type"] == "status" and m["stage"] == "queued")
    assert "Ray worker process died" in retry["message"]
    assert "retry 1 of 1, from its last checkpoint" in retry["message"]
    resumed = rest.index(retry)
    assert any(
        "attempt 2: resuming from its last finished epoch" in m.get("message", "")
        for m in rest[resumed:]
    )
    first = next(m for m in rest[resumed:] if m["type"] == "progress" and m.get("batch") is None)
    assert first["epoch"] >= 2  # not from the beginning
    assert rest[-1]["type"] == "done" and rest[-1]["status"] == "succeeded"
    view = run_view(server, run_id)
    assert view["attempts"] == 2 and view["epochs"] == SLOW["epochs"]
    assert "checkpoint" not in [a["kind"] for a in view["artifacts"]]


def test_killed_worker_without_retries_fails_with_the_reason(server: LiveServer) -> None:
    started = train(server, LONG, stop=epoch_end(1))
    run_id = started[0]["run_id"]

    os.kill(worker_pid(started), signal.SIGKILL)
    rest = follow(server, run_id, started[-1]["seq"])

    assert rest[-1]["type"] == "error" and rest[-1]["code"] == "worker_died"
    assert rest[-1]["status"] == "failed"
    assert "Ray worker process died" in rest[-1]["message"]
    view = run_view(server, run_id)
    assert view["status"] == "failed" and view["attempts"] == 1
    assert view["artifacts"] == []  # the checkpoint of a run that will not resume is dropped


def test_a_request_no_node_can_hold_fails_at_once(server: LiveServer) -> None:
    messages = train(server, TINY, config={"resources": {"num_gpus": 1}})

    assert messages[-1]["type"] == "error" and messages[-1]["code"] == "worker_start_failed"
    assert "asks for 1 CPU, 1 GPU" in messages[-1]["message"]
    assert "no node of the Ray cluster" in messages[-1]["message"]
