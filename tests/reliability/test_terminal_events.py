"""Every run ends with its terminal event, even when its server died right after the result.

The states a server killed in that instant leaves are written into the database directly (no kill
can aim at a window of milliseconds): a run whose worker stored its result while its server, now
gone, had not yet recorded ``done`` (still ``running``: this version marks it ``succeeded`` only
together with that event), and finished runs without a terminal event as older versions left them.
A real server started on that database must give each its terminal event — once, however often it
restarts — and a watcher of ``/ws/runs/{id}`` must receive it and see the socket close.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from gapcast.api.testing import LiveServer, converse, running_server, server_settings
from gapcast.db import runs as run_store
from gapcast.db.session import make_engine, make_sessionmaker, transaction
from gapcast.db.tables import Run, utcnow
from gapcast.execution.replicas import machine_key, silent_runs

from .support import add_bare_run, violations

pytestmark = pytest.mark.slow

FIGURES: dict[str, Any] = {
    "runtime_s": 3.5,
    "epochs": 2,
    "loss": 0.5,
    "val_loss": 0.75,
    "history": [{"epoch": 1, "loss": 0.9}, {"epoch": 2, "loss": 0.5}],
    "metrics": {"mae": 1.25, "rmse": 1.5},
    "gap_metrics": None,
    "gap_report": {"gaps": 0},
}
ARTIFACTS = [
    ("model", "application/x-keras", b"PK model bytes"),
    ("plot", "image/png", b"\x89PNG plot bytes"),
    ("pipeline", "application/json", b'{"steps": []}'),
]
URLS = {"model": "model", "plot": "plot.png", "pipeline": "pipeline.json"}


def dead_server_id() -> str:
    """The id a server on this machine had, whose process is gone (exited and reaped)."""
    child = [sys.executable, "-c", "import os; print(os.getpid())"]
    done = subprocess.run(child, check=True, capture_output=True, text=True)
    return f"{machine_key()}:{int(done.stdout)}:dead00"


def new_run(session: Session, run_id: str) -> None:
    add_bare_run(session, run_id)
    session.flush()
    progress = [
        {"type": "status", "stage": "queued", "time": 1.0},
        {"type": "status", "stage": "training", "time": 2.0},
        {"type": "progress", "epoch": 1, "epochs": 2, "loss": 0.9, "time": 3.0},
    ]
    run_store.append_events(session, run_id, progress)


def store(session: Session, run_id: str) -> None:
    artifacts = [(k, m, d, hashlib.sha256(d).hexdigest()) for k, m, d in ARTIFACTS]
    run_store.store_result(session, run_id, figures=FIGURES, artifacts=artifacts)


def build_states(url: str, dead: str) -> dict[str, str]:
    """The run ids of each state, keyed by what they show."""
    ids = {
        "result_of_dead_server": "00000000-0000-4000-8000-0000000000a1",
        "legacy_succeeded": "00000000-0000-4000-8000-0000000000a2",
        "legacy_failed": "00000000-0000-4000-8000-0000000000a3",
        "legacy_of_dead_server": "00000000-0000-4000-8000-0000000000a4",
    }
    long_ago = utcnow() - timedelta(minutes=5)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        for run_id in ids.values():
            with transaction(sessions) as session:
                new_run(session, run_id)
                assert run_store.claim_next(session, worker=dead) is not None
        with transaction(sessions) as session:
            # This version: the worker committed, its server died before recording `done`.
            store(session, ids["result_of_dead_server"])
            # Older versions: `succeeded` in the worker's transaction, `done` never recorded.
            for key in ("legacy_succeeded", "legacy_of_dead_server"):
                store(session, ids[key])
                session.execute(update(Run).where(Run.id == ids[key]).values(status="succeeded"))
            session.execute(
                update(Run)
                .where(Run.id.in_([ids["legacy_succeeded"], ids["legacy_failed"]]))
                .values(claimed_by=None, finished_at=long_ago)
            )
            session.execute(
                update(Run)
                .where(Run.id == ids["legacy_failed"])
                .values(status="failed", error="the worker ran out of memory")
            )
    finally:
        engine.dispose()
    return ids


def watch(live: LiveServer, run_id: str) -> tuple[list[dict[str, Any]], int | None]:
    conversation = asyncio.run(converse(f"{live.ws_url}/ws/runs/{run_id}", timeout_s=30))
    return conversation.messages, conversation.close_code


def stored_events(url: str, run_id: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return run_store.events_after(session, run_id)
    finally:
        engine.dispose()


def test_a_finished_run_gets_its_missing_terminal_event_once(
    server_db_url: str, tmp_path: Path
) -> None:
    ids = build_states(server_db_url, dead_server_id())
    settings = server_settings(server_db_url, tmp_path / "data")

    with running_server(settings) as live:
        for key in ("result_of_dead_server", "legacy_succeeded", "legacy_of_dead_server"):
            messages, close_code = watch(live, ids[key])
            assert [m["seq"] for m in messages] == [1, 2, 3, 4], key
            done = messages[-1]
            assert done["type"] == "done" and done["status"] == "succeeded", done
            assert done["run_id"] == ids[key]
            for field in ("runtime_s", "epochs", "loss", "val_loss", "metrics", "gap_metrics"):
                assert done[field] == FIGURES[field], (key, field)
            assert {a["kind"]: a["url"] for a in done["artifacts"]} == {
                kind: f"/runs/{ids[key]}/{path}" for kind, path in URLS.items()
            }
            assert {a["kind"]: a["sha256"] for a in done["artifacts"]} == {
                kind: hashlib.sha256(data).hexdigest() for kind, _, data in ARTIFACTS
            }
            assert close_code == 1000, key
            with live.http() as http:
                run = http.get(f"/runs/{ids[key]}").json()
            assert run["status"] == "succeeded" and run["error"] is None, run
            assert run["finished_at"] is not None

        messages, close_code = watch(live, ids["legacy_failed"])
        error = messages[-1]
        assert (error["type"], error["seq"], error["status"]) == ("error", 4, "failed")
        assert error["code"] == "training_failed"
        assert error["message"] == "the worker ran out of memory"
        assert close_code == 1011
    assert violations(server_db_url) == []

    before = {run_id: stored_events(server_db_url, run_id) for run_id in ids.values()}
    with running_server(settings) as live:
        messages, close_code = watch(live, ids["result_of_dead_server"])
        assert [m["seq"] for m in messages] == [1, 2, 3, 4] and close_code == 1000
    assert {run_id: stored_events(server_db_url, run_id) for run_id in ids.values()} == before
    assert violations(server_db_url) == []


def test_a_run_finished_moments_ago_is_left_to_its_server(server_db_url: str) -> None:
    """A finished run naming no server is announced only once it has been silent for ``stale_s``:
    until then the (older) server that stored it may be about to record its ``done`` itself."""
    run_id = "00000000-0000-4000-8000-0000000000b1"
    engine = make_engine(server_db_url)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            new_run(session, run_id)
            run_store.claim_next(session, worker="w")
            store(session, run_id)
            session.execute(
                update(Run).where(Run.id == run_id).values(status="succeeded", claimed_by=None)
            )
        with sessions() as session:
            assert run_id not in silent_runs(session, server_id="me", stale_s=60)
            assert run_id in silent_runs(session, server_id="me", stale_s=0)
        with transaction(sessions) as session:
            run_store.delete_run(session, run_id)
    finally:
        engine.dispose()
