"""The Ray executor joining a cluster it did not start, the way docs/operations.md says to run it.

A head node runs as a process of its own (``ray start --head``: 2 CPUs, its own temp dir, token
authentication with a token of its own) and a server process joins it, once with ``auto`` (the
server on a node of the cluster) and once with the head's GCS address. Ray Client (``ray://``)
addresses are refused before anything starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gapcast.api.testing import (
    TINY,
    ServerProcess,
    converse,
    free_socket,
    server_settings,
    temporary_database,
    upload_sample,
)
from gapcast.cli.server import settings_with
from gapcast.config import Settings
from gapcast.errors import InvalidInput

# Ours alone: neither the user's ~/.ray/auth_token nor another test's Ray sees it.
TOKEN = secrets.token_hex(32)


@dataclass(frozen=True)
class Head:
    tmpdir: Path  # RAY_TMPDIR of the head: where 'auto' finds it (<tmpdir>/ray/ray_current_cluster)
    gcs_address: str


def _free_port() -> int:
    sock = free_socket("127.0.0.1")
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


def _stop(head: subprocess.Popen[bytes], temp_dir: Path) -> None:
    """Stop this head and nothing else: ``ray stop`` would end every Ray on the machine."""
    head.send_signal(signal.SIGTERM)  # --block: the head drains and ends the processes it started
    try:
        head.wait(30)
    except subprocess.TimeoutExpired:
        head.kill()
        head.wait(10)
    # What outlived it: its process group (a session of its own), and any process whose command
    # line names its temp dir.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(head.pid, signal.SIGKILL)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if str(temp_dir).encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)


@pytest.fixture(scope="module")
def head() -> Iterator[Head]:
    pytest.importorskip("ray")
    # Short: Ray's Unix socket paths under the session directory must fit in 107 bytes.
    tmpdir = Path(tempfile.mkdtemp(prefix="gapcast-ray-", dir="/tmp"))
    temp_dir = tmpdir / "ray"
    env = {
        **os.environ,
        "RAY_TMPDIR": str(tmpdir),
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": TOKEN,
    }
    env.pop("RAY_ADDRESS", None)
    command = [
        str(Path(sys.executable).parent / "ray"),
        "start",
        "--head",
        "--block",
        f"--port={_free_port()}",
        "--num-cpus=2",
        f"--object-store-memory={100 * 1024 * 1024}",
        f"--temp-dir={temp_dir}",
        "--include-dashboard=false",
        "--disable-usage-stats",
    ]
    log_path = tmpdir / "head.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        # Written by `ray start` once the head is up; 'auto' reads the same file.
        address_file = temp_dir / "ray_current_cluster"
        deadline = time.monotonic() + 60
        while not (address_file.exists() and address_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Head(tmpdir=tmpdir, gcs_address=address_file.read_text().strip())
    finally:
        _stop(process, temp_dir)
        shutil.rmtree(tmpdir, ignore_errors=True)


def _train_once(settings: Settings, log_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    process = ServerProcess(settings, log_path)
    try:
        live = process.start(timeout_s=90)
        upload_sample(live)
        request = {"type": "train", "dataset": "co2", "overrides": TINY}
        talk = asyncio.run(converse(f"{live.ws_url}/ws/train", [request], timeout_s=120))
        with live.http() as http:
            view = http.get(f"/runs/{talk.messages[0]['run_id']}").json()
        return talk.messages, dict(view)
    finally:
        process.stop()


@pytest.mark.slow
@pytest.mark.parametrize("form", ["auto", "gcs_address"])
def test_a_server_joins_a_running_cluster(
    form: str, head: Head, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = "auto" if form == "auto" else head.gcs_address
    # The server finds the token where any driver does; what tells Ray to send it differs:
    monkeypatch.setenv("RAY_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("RAY_TMPDIR", str(head.tmpdir))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # it would take the place of 'auto'
    if form == "auto":
        # Ray turns token auth on by itself for a cluster it finds with 'auto'...
        monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    else:
        # ...but never for an explicit address (docs/operations.md).
        monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with temporary_database("sqlite", tmp_dir=tmp_path) as url:
        settings = server_settings(url, tmp_path / "data", executor="ray", ray_address=address)
        messages, view = _train_once(settings, tmp_path / "server.log")

    accepted, *events = messages
    assert accepted["type"] == "accepted"
    assert [m["seq"] for m in events] == list(range(1, len(events) + 1))
    assert any("running on Ray node" in m.get("message", "") for m in events)
    epochs = [
        m["epoch"]
        for m in events
        if m["type"] == "progress" and m.get("batch") is None and m.get("phase") == "candidate"
    ]
    assert epochs == [1, 2]
    assert events[-1]["type"] == "done" and events[-1]["status"] == "succeeded", events[-1]
    assert view["status"] == "succeeded"
    assert view["executor"]["kind"] == "ray" and view["executor"]["address"] == address
    assert view["executor"]["task_id"]
    kinds = sorted(a["kind"] for a in view["artifacts"])
    assert kinds == ["backtest", "model", "pipeline", "plot"]


@pytest.mark.parametrize("address", ["ray://head:10001", "RAY://10.0.0.5:10001"])
def test_a_ray_client_address_is_refused_with_what_to_use_instead(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAPCAST_RAY_ADDRESS", address)
    with pytest.raises(ValidationError) as from_env:
        Settings(_env_file=None)  # type: ignore[call-arg]
    message = str(from_env.value)
    assert "GAPCAST_RAY_ADDRESS" in message and "Ray Client (ray://)" in message
    assert "GCS address (host:6379" in message and "'auto'" in message

    monkeypatch.delenv("GAPCAST_RAY_ADDRESS")
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(InvalidInput, match=r"--ray-address: .*not supported"):
        settings_with(base, {"executor": "ray", "ray_address": address})
