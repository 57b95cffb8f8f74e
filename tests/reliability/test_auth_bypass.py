"""Auth, beyond tests/api/test_auth.py (which checks a missing and a wrong bearer token on every
route): every way of presenting a wrong token — header schemes, query, WebSocket subprotocol, a
prefix or extension of the right one, other case, whitespace — on every HTTP route (mounts
included, enumerated from the app so a new route cannot slip through) and on both WebSockets is
refused (401 / close 1008); path tricks that start like a public path reach no data; refusals
change nothing in the database."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route, WebSocketRoute

from gapcast.api.app import create_app
from gapcast.api.auth import PUBLIC_PATHS, PUBLIC_PREFIXES
from gapcast.api.testing import LiveServer, converse, running_server, temporary_database
from gapcast.config import Settings

from .support import series_csv, settings_for, snapshot, upload

TOKEN = "Tr0ub4dor-&-3"
WRONG_HEADERS: list[dict[str, str]] = [
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Bearer {TOKEN.upper()}"},
    {"Authorization": "Bearer"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"Token {TOKEN}"},
    {"Authorization": TOKEN},
    {"Authorization": f"Bearer\t{TOKEN}x"},
    {"X-Api-Token": TOKEN},
    {"Cookie": f"token={TOKEN}"},
]
WRONG_QUERIES = [f"token={TOKEN}x", "token=", f"Token={TOKEN}", f"token[]={TOKEN}"]
TALLY: dict[str, int] = {"http": 0, "ws": 0}


def _leaf_routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _leaf_routes(list(nested.routes))
        else:
            yield route


def app_routes() -> tuple[list[tuple[str, str]], list[str]]:
    """(method, concrete path) of every HTTP route and mount, and every WebSocket path."""
    app = create_app(Settings(_env_file=None, api_token=TOKEN))  # type: ignore[call-arg]
    http: list[tuple[str, str]] = []
    sockets: list[str] = []
    for route in _leaf_routes(list(app.routes)):
        path = re.sub(r"\{[^}]+\}", "x", getattr(route, "path", ""))
        if isinstance(route, WebSocketRoute):
            sockets.append(path)
        elif isinstance(route, Mount):
            http.append(("GET", f"{path}/index.html"))
        elif isinstance(route, APIRoute | Route):
            http += [(m, path) for m in sorted(route.methods or ()) if m != "HEAD"]
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return http, sockets


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES) or path == "/"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    tmp = tmp_path_factory.mktemp("auth")
    with temporary_database("sqlite", tmp_dir=tmp) as url:
        settings = settings_for(url, tmp / "data", api_token=TOKEN)
        with running_server(settings) as live:
            with live.http() as http:
                assert upload(http, "secret", series_csv(30)).status_code == 201
            yield live, url


def test_the_enumeration_sees_every_kind_of_route() -> None:
    http, sockets = app_routes()
    assert sorted(sockets) == ["/ws/runs/x", "/ws/train"]
    assert ("GET", "/web/index.html") in http and ("POST", "/datasets") in http
    assert len([r for r in http if not _public(r[1])]) >= 20


def test_every_route_refuses_every_wrong_token(guarded: tuple[LiveServer, str]) -> None:
    live, url = guarded
    before = snapshot(url)
    routes, _ = app_routes()
    with httpx.Client(base_url=live.url, timeout=30) as client:
        for method, path in routes:
            if _public(path):
                continue
            for headers in WRONG_HEADERS:
                refused = client.request(method, path, headers=headers)
                assert refused.status_code == 401, (method, path, headers)
                assert refused.json()["error"]["code"] == "unauthorized"
                TALLY["http"] += 1
            for query in WRONG_QUERIES:
                refused = client.request(method, f"{path}?{query}")
                assert refused.status_code == 401, (method, path, query)
                TALLY["http"] += 1
    assert snapshot(url) == before


@pytest.mark.parametrize("path", ["/ws/train", "/ws/runs/x"])
def test_both_websockets_refuse_every_wrong_token(
    guarded: tuple[LiveServer, str], path: str
) -> None:
    live, url = guarded
    before = snapshot(url)
    attempts: list[dict[str, Any]] = [{"headers": h} for h in WRONG_HEADERS]
    attempts += [{"query": q} for q in WRONG_QUERIES]
    attempts += [
        {"subprotocols": [f"bearer.{TOKEN}x"]},
        {"subprotocols": ["bearer."]},
        {"subprotocols": [f"Bearer.{TOKEN}"]},
        {"subprotocols": [TOKEN]},
    ]
    request = {"type": "train", "dataset": "secret"}
    for attempt in attempts:
        query = attempt.pop("query", None)
        target = f"{live.ws_url}{path}" + (f"?{query}" if query else "")
        talk = asyncio.run(converse(target, [request], **attempt))
        assert talk.close_code == 1008, attempt
        assert [m["code"] for m in talk.messages] == ["unauthorized"], attempt
        TALLY["ws"] += 1
    assert snapshot(url) == before


def _raw_get(live: LiveServer, target: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as written (no client-side normalisation)."""
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


TRICKS = [
    "/web/../datasets",
    "/web/..%2fdatasets",
    "/web/%2e%2e/datasets",
    "/web/../../runs",
    "/healthz/../datasets",
    "/docs/../datasets",
    "/openapi.json/../datasets",
    "//datasets",
    "/datasets/",
    "/DATASETS",
    "/datasets?token=",
    "/healthz%00/../datasets",
    "/web/%00",
]


@pytest.mark.parametrize("target", TRICKS)
def test_paths_that_look_public_reach_no_data(guarded: tuple[LiveServer, str], target: str) -> None:
    live, _ = guarded
    status, body = _raw_get(live, target)
    assert status != 200 or b"secret" not in body, (target, status, body[:200])
    assert status in (400, 401, 404, 405, 307), (target, status, body[:200])
    TALLY["http"] += 1


def test_tally(record_property: Any) -> None:
    record_property("http_refusals", TALLY["http"])
    record_property("ws_refusals", TALLY["ws"])
    print(f"auth: {TALLY['http']} HTTP and {TALLY['ws']} WebSocket attempts refused")
