"""An in-process server for ``demo`` and ``train`` without ``--server``: the same app and runtime as
``gapcast serve``, in a thread of this process, so the command still talks to it over the WebSocket
exactly as any other client would."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from gapcast.config import Settings
from gapcast.errors import GapcastError

STARTUP_TIMEOUT_S = 60.0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``port``, or on a free port when that one is taken (or 0)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        if port == 0:
            raise
        sock.bind((host, 0))
    return sock


@contextmanager
def local_server(settings: Settings, *, port: int = 0, log_level: str = "warning") -> Iterator[str]:
    """Serve ``settings`` on 127.0.0.1 (``port``, else a free one) and yield the base URL."""
    from gapcast.api.server import serve_in_thread

    # Bound before uvicorn starts, so the port cannot be taken in between.
    sock = bind("127.0.0.1", port)
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"host": "127.0.0.1", "port": port})
    _quiet(log_level)
    try:
        with serve_in_thread(
            settings,
            sock,
            log_level=log_level,
            thread_name="gapcast-server",
            startup_timeout_s=STARTUP_TIMEOUT_S,
            not_started=GapcastError(f"the local server did not start on {settings.database_url}"),
        ):
            yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def _quiet(level: str) -> None:
    """The server's own log lines would tear the live progress display: keep warnings only."""
    for name in ("gapcast", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(level.upper())
