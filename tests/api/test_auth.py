"""With a token set, every route but the public ones needs it — checked over all app routes, so a
route added later cannot slip through — and a non-loopback bind without a token is refused."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route, WebSocketRoute

from gapcast.api.app import create_app
from gapcast.api.auth import PUBLIC_PATHS
from gapcast.api.server import check_bind
from gapcast.api.testing import LiveServer, converse, running_server
from gapcast.config import Settings
from gapcast.errors import InvalidInput

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def guarded(server_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=server_db_url,
        data_dir=tmp_path_factory.mktemp("data"),
        api_token=TOKEN,
        workers_max=1,
    )
    with running_server(settings) as live:
        yield live


def _walk(routes: list[Any]) -> Iterator[Any]:
    """Every leaf route; recent FastAPI keeps included routers as nested route objects."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _walk(list(nested.routes))
        else:
            yield route


def _routes() -> tuple[list[tuple[str, str]], list[str]]:
    app = create_app(Settings(_env_file=None, api_token=TOKEN))  # type: ignore[call-arg]
    http: list[tuple[str, str]] = []
    sockets: list[str] = []
    for route in _walk(list(app.routes)):
        path = re.sub(r"\{[^}]+\}", "x", getattr(route, "path", ""))
        if isinstance(route, WebSocketRoute):
            sockets.append(path)
        elif isinstance(route, APIRoute | Route):
            http += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
    return http, sockets


def test_every_http_route_needs_the_token(guarded: LiveServer) -> None:
    routes, _ = _routes()
    assert len(routes) >= 20
    with httpx.Client(base_url=guarded.url) as anonymous, guarded.http() as authorised:
        for method, path in routes:
            refused = anonymous.request(method, path)
            if path in PUBLIC_PATHS:
                assert refused.status_code != 401, path
                continue
            assert refused.status_code == 401, (method, path)
            assert refused.json()["error"]["code"] == "unauthorized"
            assert refused.headers["www-authenticate"] == "Bearer"
            wrong = anonymous.request(method, path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert authorised.request(method, path).status_code != 401, (method, path)
        assert anonymous.get("/datasets", params={"token": TOKEN}).status_code == 200


def test_every_websocket_needs_the_token(guarded: LiveServer) -> None:
    _, sockets = _routes()
    assert sorted(sockets) == ["/ws/runs/x", "/ws/train"]
    for path in sockets:
        talk = asyncio.run(converse(guarded.ws_url + path, [{"type": "train"}]))
        assert talk.close_code == 1008
        assert talk.messages[0]["code"] == "unauthorized"
        for kwargs in (
            {"headers": {"Authorization": f"Bearer {TOKEN}"}},
            {"subprotocols": [f"bearer.{TOKEN}"]},
        ):
            allowed = asyncio.run(converse(guarded.ws_url + path, [{"type": "train"}], **kwargs))
            assert allowed.messages[0]["code"] != "unauthorized"
        by_query = asyncio.run(converse(f"{guarded.ws_url}{path}?token={TOKEN}", [{"type": "x"}]))
        assert by_query.messages[0]["code"] != "unauthorized"


def test_non_loopback_bind_needs_a_token(tmp_path: Path) -> None:
    base = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    with pytest.raises(InvalidInput, match="without a token"):
        check_bind(base.model_copy(update={"host": "0.0.0.0"}))
    check_bind(base.model_copy(update={"host": "0.0.0.0", "api_token": TOKEN}))
    check_bind(base.model_copy(update={"host": "::1"}))
    check_bind(base)
