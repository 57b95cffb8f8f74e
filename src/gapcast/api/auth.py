"""Bearer-token guard for every HTTP route and WebSocket, as ASGI middleware.

Middleware rather than a per-route dependency: a route added later is guarded without anyone
remembering to. Only the paths in ``PUBLIC_PATHS`` and under ``PUBLIC_PREFIXES`` (liveness, the API
description and the web page's static files, which reveal no data) are open. The token may come as
``Authorization: Bearer <token>``, as ``?token=<token>`` (browser downloads), or — WebSockets only,
since browsers cannot set headers there — as the subprotocol ``bearer.<token>``. A refused
WebSocket is accepted and closed with 1008 and an
``error`` message, so clients see why instead of a bare handshake failure.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from gapcast.errors import Unauthorized

PUBLIC_PATHS = frozenset(
    {"/", "/healthz", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
)
# The web page's static files: the page holds no data and asks for the token itself.
PUBLIC_PREFIXES = ("/web/",)
SUBPROTOCOL_PREFIX = "bearer."


def offered_subprotocols(scope: Scope) -> list[str]:
    return [str(p) for p in scope.get("subprotocols", [])]


def bearer_subprotocol(scope: Scope) -> str | None:
    """The ``bearer.<token>`` subprotocol the client offered (the server must echo it back)."""
    return next((p for p in offered_subprotocols(scope) if p.startswith(SUBPROTOCOL_PREFIX)), None)


def token_of(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                return str(credentials).strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return str(query["token"][0])
    protocol = bearer_subprotocol(scope) if scope["type"] == "websocket" else None
    return protocol[len(SUBPROTOCOL_PREFIX) :] if protocol else None


class TokenGuard:
    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.token is None
            or scope["type"] not in ("http", "websocket")
            or scope["path"] in PUBLIC_PATHS
            or scope["path"].startswith(PUBLIC_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        given = token_of(scope)
        if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            await self.app(scope, receive, send)
            return
        reason = "a token is required" if given is None else "the token is wrong"
        error = Unauthorized(
            f"{reason}: send 'Authorization: Bearer <token>', ?token=<token>, or the "
            "WebSocket subprotocol 'bearer.<token>'"
        )
        if scope["type"] == "http":
            await _refuse_http(send, error)
        else:
            await _refuse_websocket(scope, receive, send, error)


async def _refuse_http(send: Send, error: Unauthorized) -> None:
    body = json.dumps({"error": error.to_dict()}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(
    scope: Scope, receive: Receive, send: Send, error: Unauthorized
) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    accept: dict[str, Any] = {"type": "websocket.accept"}
    protocol = bearer_subprotocol(scope)
    if protocol is not None:
        accept["subprotocol"] = protocol
    await send(accept)
    payload = {"type": "error", "run_id": None, "seq": 0, "time": time.time(), **error.to_dict()}
    await send({"type": "websocket.send", "text": json.dumps(payload)})
    await send({"type": "websocket.close", "code": 1008, "reason": "unauthorized"})
