"""Running a real gapcast server for tests, benchmarks and the browser page's checks.

``running_server(settings)`` serves in a thread of this process on a free port (already bound, so
no port race) and stops it on exit; ``ServerProcess`` runs ``python -m gapcast.api`` as a child
process, for tests that kill the server itself. ``temporary_database`` gives a migrated, empty
database: a SQLite file, or a fresh schema in a PostgreSQL database, dropped afterwards.
``TINY`` (the overrides of a run of a few seconds) and ``upload_sample`` (the sample dataset into a
live server) are the set-up most server tests share.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from gapcast.config import Settings

SAMPLE_CSV = Path(__file__).parents[1] / "data" / "mauna_loa_co2_weekly.csv"
# A run of a few seconds: the linear model, 2 epochs, short windows, no gap classifier and no
# refit (the model-training tests cover the refit; server tests only need a run).
TINY: dict[str, Any] = {
    "model": "linear",
    "epochs": 2,
    "lookback": 16,
    "horizon": 4,
    "patience": 0,
    "gap_classifier": "never",
    "refit": False,
}


@dataclass(frozen=True)
class LiveServer:
    url: str
    settings: Settings

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    def headers(self) -> dict[str, str]:
        token = self.settings.api_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(), timeout=60)


def server_settings(database_url: str, data_dir: Path, **changes: Any) -> Settings:
    """Settings of a test server: loopback, one worker, no token, nothing read from ``.env``."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "host": "127.0.0.1",
        "workers_max": 1,
        "api_token": None,
        **changes,
    }
    return Settings(_env_file=None, **values)


def upload_sample(live: LiveServer, name: str = "co2") -> None:
    """Upload the sample CSV (weekly Mauna Loa CO2) into ``live`` as dataset ``name``."""
    with live.http() as http:
        response = http.post(
            "/datasets",
            files={"file": ("co2.csv", SAMPLE_CSV.read_bytes())},
            data={"name": name},
        )
        assert response.status_code == 201, response.text


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


@contextmanager
def running_server(
    settings: Settings, *, log_level: str = "warning", startup_timeout_s: float = 60
) -> Iterator[LiveServer]:
    from gapcast.api.server import check_bind, serve_in_thread

    check_bind(settings)
    sock = free_socket(settings.host)
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"port": port})
    try:
        with serve_in_thread(
            settings,
            sock,
            log_level=log_level,
            thread_name="gapcast-test-server",
            startup_timeout_s=startup_timeout_s,
            not_started=RuntimeError("the test server did not start (see its log above)"),
        ):
            yield LiveServer(url=f"http://{settings.host}:{port}", settings=settings)
    finally:
        sock.close()


PORT_ATTEMPTS = 5


class ServerProcess:
    """``python -m gapcast.api`` in a child process, configured by GAPCAST_* variables."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout_s: float = 60) -> LiveServer:
        # The child binds the free port again after this process lets go of it; in between,
        # anything may take it (Ray's workers bind random ports as they start), so a start that
        # lost the port tries another.
        for _ in range(PORT_ATTEMPTS - 1):
            seen = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                return self._start_once(timeout_s)
            except RuntimeError:
                log = self.log_path.read_bytes()[seen:] if self.log_path.exists() else b""
                if b"address already in use" not in log:
                    raise
        return self._start_once(timeout_s)

    def _start_once(self, timeout_s: float) -> LiveServer:
        sock = free_socket(self.settings.host)
        port = sock.getsockname()[1]
        sock.close()  # the child binds it again; a clash shows as a failed start below
        env = {**os.environ, **_env_of(self.settings.model_copy(update={"port": port}))}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gapcast.api"], env=env, stdout=log, stderr=log
            )
        self.url = f"http://{self.settings.host}:{port}"
        live = LiveServer(url=self.url, settings=self.settings.model_copy(update={"port": port}))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return live
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("the server did not answer /healthz in time")

    def kill(self) -> None:
        """SIGKILL: what a crash, the OOM killer or a power cut look like to the database."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def _env_of(settings: Settings) -> dict[str, str]:
    """Every setting as its GAPCAST_* variable, so the child runs with exactly these settings."""
    import json

    out = {
        f"GAPCAST_{name.upper()}": json.dumps(value)
        if isinstance(value, dict | list)
        else str(value)
        for name, value in settings.model_dump().items()
        if value is not None
    }
    out["GAPCAST_LOG_LEVEL"] = "info"
    return out


@contextmanager
def temporary_database(
    kind: str, *, tmp_dir: Path, postgres_url: str | None = None
) -> Iterator[str]:
    """A migrated empty database URL: ``sqlite`` (a file in ``tmp_dir``) or ``postgres`` (a new
    schema in ``postgres_url``, selected through ``search_path``, dropped afterwards)."""
    from sqlalchemy import text

    from gapcast.db.migrate import upgrade
    from gapcast.db.session import make_engine

    if kind == "sqlite":
        url = f"sqlite:///{tmp_dir / f'gapcast-{uuid.uuid4().hex[:8]}.db'}"
        upgrade(url)
        yield url
        return
    if not postgres_url:
        raise ValueError("a PostgreSQL URL is needed for kind='postgres'")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Conversation:
    """What a WebSocket exchange produced: the messages received and the server's close code."""

    messages: list[dict[str, Any]]
    close_code: int | None
    close_reason: str

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    @property
    def last(self) -> dict[str, Any]:
        return self.messages[-1]


async def converse(
    url: str,
    send: Sequence[str | bytes | Mapping[str, Any]] = (),
    *,
    headers: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] | None = None,
    stop: Callable[[dict[str, Any]], bool] | None = None,
    timeout_s: float = 120,
) -> Conversation:
    """Send ``send``, then read until the server closes (or ``stop(message)`` is true: then this
    side closes, like a client that goes away mid-run)."""
    import json

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed
    from websockets.typing import Subprotocol

    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout_s):
        async with connect(
            url,
            additional_headers=dict(headers or {}),
            subprotocols=[Subprotocol(p) for p in subprotocols] if subprotocols else None,
            max_size=None,
        ) as ws:
            try:
                for item in send:
                    await ws.send(json.dumps(item) if isinstance(item, Mapping) else item)
            except ConnectionClosed:
                pass  # refused before it read everything: its answer is still buffered below
            try:
                while True:
                    message = json.loads(await ws.recv())
                    messages.append(message)
                    if stop is not None and stop(message):
                        break
            except ConnectionClosed:
                pass
        return Conversation(messages, ws.close_code, ws.close_reason or "")
