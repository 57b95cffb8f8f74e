"""Running the app under uvicorn with gapcast's settings and safety checks."""

from __future__ import annotations

import gc
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from gapcast.config import Settings
from gapcast.errors import InvalidInput

# WebSocket pings keep idle watchers' connections (and proxies in between) alive, and find dead
# peers; a run may be silent for minutes while a large epoch trains.
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(settings: Settings) -> None:
    """Refuse to listen beyond this machine without a token: the API can read every dataset."""
    if not is_loopback(settings.host) and not settings.api_token:
        raise InvalidInput(
            f"refusing to listen on {settings.host} without a token: set GAPCAST_API_TOKEN, "
            "or bind 127.0.0.1",
            field="host",
        )


def uvicorn_config(settings: Settings, *, log_level: str = "info") -> uvicorn.Config:
    from gapcast.api.app import create_app

    return uvicorn.Config(
        create_app(settings, log_level=log_level.upper()),
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.max_message_bytes,
        ws_ping_interval=PING_INTERVAL_S,
        ws_ping_timeout=PING_TIMEOUT_S,
        # Messages are small JSON; compressing each one again for every watcher of a run costs
        # more CPU than the bytes it saves.
        ws_per_message_deflate=False,
        log_config=None,  # ours (key=value) is set up by serve()
        log_level=log_level,
        timeout_graceful_shutdown=5,
    )


def serve(
    settings: Settings, *, log_level: str = "info", sock: socket.socket | None = None
) -> None:
    """Run the server until SIGINT/SIGTERM (blocking)."""
    from gapcast.execution.logs import configure_logging

    check_bind(settings)
    configure_logging(log_level.upper())
    server = uvicorn.Server(uvicorn_config(settings, log_level=log_level))
    freeze_imports()
    server.run(sockets=[sock] if sock is not None else None)


def freeze_imports() -> None:
    """Keep what the imports allocated out of every future garbage collection.

    The server holds ~150,000 objects from its libraries (numpy, pandas, pyarrow, SQLAlchemy,
    FastAPI) that live as long as it does. A full collection walks them all, ~150 ms on these
    machines, on the event loop's thread: a stall every watcher and ping feels. Frozen, a full
    collection walks only what the server allocated since.
    """
    gc.collect()
    gc.freeze()


@contextmanager
def serve_in_thread(
    settings: Settings,
    sock: socket.socket,
    *,
    log_level: str,
    thread_name: str,
    startup_timeout_s: float,
    not_started: Exception,
) -> Iterator[None]:
    """Serve on the bound ``sock`` from a daemon thread for the length of the block, once the server
    has started; raises ``not_started`` if it dies or is not up within ``startup_timeout_s``. The
    socket stays the caller's to close."""
    server = uvicorn.Server(uvicorn_config(settings, log_level=log_level))
    # uvicorn installs signal handlers only on the main thread; this one leaves Ctrl-C to callers.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=thread_name, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise not_started
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(30)
