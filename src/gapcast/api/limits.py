"""Request body limits, as ASGI middleware: a body over the limit is refused before it is read.

FastAPI reads and parses a whole form (spooling files to disk) before a route runs, so a limit
checked in the route comes after the damage. Here a declared ``Content-Length`` over the limit is
answered 413 without reading a byte, and a body without one (chunked) is counted as it arrives and
cut off at the limit. Uploads (``POST /datasets``) get ``max_upload_bytes`` plus room for the
multipart framing; every other body (JSON requests) gets ``max_message_bytes``, the same limit as a
WebSocket message.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gapcast.errors import TooLarge

MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_PATHS = frozenset({"/datasets"})


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, *, upload_bytes: int, body_bytes: int) -> None:
        self.app = app
        self.upload_bytes = upload_bytes
        self.body_bytes = body_bytes

    def limit_of(self, scope: Scope) -> tuple[int, str]:
        if scope["path"] in UPLOAD_PATHS:
            return self.upload_bytes + MULTIPART_OVERHEAD, "file"
        return self.body_bytes, "body"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit, field = self.limit_of(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, f"{declared:,} bytes", limit, field)
            return
        received = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to the aborted read (a 400, a 500): ours replaces it
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not over:
                raise
        if over and not started:
            await _refuse(send, f"over {limit:,} bytes", limit, field)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, size: str, limit: int, field: str) -> None:
    setting = "GAPCAST_MAX_UPLOAD_BYTES" if field == "file" else "GAPCAST_MAX_MESSAGE_BYTES"
    error = TooLarge(
        f"the request body is {size}, over the limit of {limit:,} bytes ({setting}); "
        "it was not read",
        field=field,
    )
    body = json.dumps({"error": error.to_dict()}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
