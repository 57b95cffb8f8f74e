"""One worker, several runs: waiting in the queue, reattaching after a disconnect, cancelling
(queued and running), and a worker killed with SIGKILL mid-epoch."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from gapcast.api.testing import TINY, LiveServer, converse
from gapcast.client import Client

# Keeps training (~0.1-0.2 s per epoch) until cancelled or killed.
LONG: dict[str, Any] = {**TINY, "epochs": 400, "batch_size": 8}
MEDIUM: dict[str, Any] = {**TINY, "epochs": 12, "batch_size": 8}


def train_request(overrides: dict[str, Any]) -> dict[str, Any]:
    return {"type": "train", "dataset": "co2", "overrides": overrides}


def training_epoch(message: dict[str, Any], at_least: int = 1) -> bool:
    """An end-of-epoch progress event of the forecaster's (candidate) training, at ``at_least``
    or later."""
    return (
        message.get("type") == "progress"
        and message.get("model") == "forecaster"
        and message.get("phase") == "candidate"
        and message.get("batch") is None
        and message["epoch"] >= at_least
    )


def test_second_run_waits_and_a_detached_watcher_reattaches(live_server: LiveServer) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        first = await converse(
            f"{live_server.ws_url}/ws/train", [train_request(MEDIUM)], stop=training_epoch
        )  # the client goes away mid-run
        run_a = first.messages[0]["run_id"]
        async with Client(live_server.url) as client:
            run_b = await client.train("co2", None, **TINY)
            rest_a, _ = await asyncio.gather(
                converse(f"{live_server.ws_url}/ws/runs/{run_a}?after={first.last['seq']}"),
                run_b.result(),
            )
        return first.messages, rest_a.messages, run_b.events

    before, after, b_events = asyncio.run(scenario())
    a_events = before[1:] + after
    assert [m["seq"] for m in a_events] == list(range(1, len(a_events) + 1))  # none lost or doubled
    assert a_events[-1]["type"] == "done" and a_events[-1]["status"] == "succeeded"
    assert len([m for m in a_events if training_epoch(m)]) == MEDIUM["epochs"]

    assert b_events[0]["stage"] == "queued" and b_events[-1]["status"] == "succeeded"
    b_loading = next(m for m in b_events if m.get("stage") == "loading")
    assert b_loading["time"] >= a_events[-1]["time"]  # B started only after A finished
    with live_server.http() as http:
        a = http.get(f"/runs/{a_events[0]['run_id']}").json()
        b = http.get(f"/runs/{b_events[0]['run_id']}").json()
    assert b["started_at"] >= a["finished_at"]


def test_cancel_queued_and_running(live_server: LiveServer) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], int | None, dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        async with connect(f"{live_server.ws_url}/ws/train") as ws:
            await ws.send(json.dumps(train_request(LONG)))
            async with Client(live_server.url) as client:
                async for raw in ws:
                    message = json.loads(raw)
                    messages.append(message)
                    if training_epoch(message):
                        queued = await client.submit("co2", None, **TINY)
                        cancelled = await client.cancel(queued)
                        await ws.send(json.dumps({"type": "cancel"}))
                        break
                async for raw in ws:
                    messages.append(json.loads(raw))
                replay = [e async for e in client.watch(queued)]
            return messages, ws.close_code, {"cancel": cancelled, "events": replay}

    messages, close_code, queued = asyncio.run(scenario())
    assert messages[-1]["type"] == "done" and messages[-1]["status"] == "cancelled"
    assert close_code == 1000
    epochs = [m["epoch"] for m in messages if training_epoch(m)]
    assert max(epochs) < LONG["epochs"]
    assert queued["cancel"]["status"] == "cancelled"  # it never started
    assert [e["type"] for e in queued["events"]] == ["status", "done"]
    assert queued["events"][-1]["status"] == "cancelled"

    run_id = messages[0]["run_id"]
    with live_server.http() as http:
        shown = http.get(f"/runs/{run_id}").json()
        assert shown["status"] == "cancelled" and shown["cancel_requested"] is True
        assert http.post(f"/runs/{run_id}/cancel").status_code == 409
    assert not (Path(live_server.settings.data_dir) / "runs" / run_id).exists()


def test_worker_killed_mid_epoch_fails_the_run_and_the_next_proceeds(
    live_server: LiveServer,
) -> None:
    started = asyncio.run(
        converse(f"{live_server.ws_url}/ws/train", [train_request(LONG)], stop=training_epoch)
    )
    victim = started.messages[0]["run_id"]
    with live_server.http() as http:
        follower = http.post("/runs", json=train_request(TINY)).json()["run_id"]
        pid = http.get(f"/runs/{victim}").json()["executor"]["pid"]
    os.kill(pid, signal.SIGKILL)

    failed = asyncio.run(
        converse(f"{live_server.ws_url}/ws/runs/{victim}?after={started.last['seq']}")
    )
    error = failed.last
    assert error["type"] == "error" and error["status"] == "failed"
    assert error["code"] == "worker_died" and "SIGKILL" in error["message"]
    assert failed.close_code == 1011

    nxt = asyncio.run(converse(f"{live_server.ws_url}/ws/runs/{follower}"))
    assert nxt.last["type"] == "done" and nxt.last["status"] == "succeeded"
    with live_server.http() as http:
        shown = http.get(f"/runs/{victim}").json()
        assert shown["status"] == "failed" and "SIGKILL" in shown["error"]
        deadline = time.monotonic() + 10
        while http.get("/healthz").json()["workers_busy"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert http.get("/healthz").json()["workers_busy"] == 0
