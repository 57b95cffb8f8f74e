"""The FastAPI application factory. Importing this module starts nothing and loads no Keras:
the database engine, the event hub, the executor and the scheduler are created by the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from gapcast.api import ws
from gapcast.api.auth import TokenGuard
from gapcast.api.errors import install_error_handlers
from gapcast.api.limits import BodyLimit
from gapcast.api.routes import ROUTERS
from gapcast.config import Settings, get_settings
from gapcast.execution.runtime import Runtime

WEB_DIR = Path(__file__).parents[1] / "web"

DESCRIPTION = """Trains time-series forecasting models on request, with live progress.

Request a run over the WebSocket `/ws/train` (or `POST /runs`), follow any run on
`/ws/runs/{run_id}?after=SEQ`; the messages are documented in `docs/protocol.md`.
When the server has a token, send it as `Authorization: Bearer <token>`."""


def create_app(settings: Settings | None = None, *, log_level: str = "INFO") -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(settings, loop=asyncio.get_running_loop(), log_level=log_level)
        await anyio.to_thread.run_sync(runtime.start)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(runtime.stop)

    app = FastAPI(
        title="gapcast",
        version=version("gapcast"),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    # The last added runs first: the token is checked before a byte of the body is read.
    app.add_middleware(
        BodyLimit,
        upload_bytes=settings.max_upload_bytes,
        body_bytes=settings.max_message_bytes,
    )
    app.add_middleware(TokenGuard, token=settings.api_token)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(ws.router)
    mount_web_page(app)
    return app


def mount_web_page(app: FastAPI) -> None:
    """The single page at ``/`` and its static files under ``/web/`` (no build step)."""
    app.mount("/web", StaticFiles(directory=WEB_DIR), name="web")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    # Browsers ask for /favicon.ico on pages without an icon link (/docs, a JSON response).
    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(WEB_DIR / "favicon.svg", media_type="image/svg+xml")
