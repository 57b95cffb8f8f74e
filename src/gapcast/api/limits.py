"""Request body limits, as ASGI middleware: a body over the limit is refused before it is read,
and a JSON body must be strict JSON.

FastAPI reads and parses a whole form (spooling files to disk) before a route runs, so a limit
checked in the route comes after the damage. Here a declared ``Content-Length`` over the limit is
answered 413 without reading a byte, and a body without one (chunked) is counted as it arrives and
cut off at the limit. Uploads (``POST /datasets``) get ``max_upload_bytes`` plus room for the
multipart framing; every other body (JSON requests) gets ``max_message_bytes``, the same limit as a
WebSocket message. A JSON body is checked like a WebSocket message (``parse_json``): NaN,
Infinity, nesting deeper than Python can follow and unpaired surrogates are refused with a clear
422 instead of reaching the database (PostgreSQL refuses them, SQLite would store them).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gapcast.api.messages import parse_json
from gapcast.errors import GapcastError, InvalidInput, TooLarge

MULTIPART_OVERHEAD = 64 * 1024
UPLOAD_PATHS = frozenset({"/datasets", "/files/read"})


class _Refused(Exception):
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
        declared = _header(scope, b"content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > limit
        ):
            await _send_error(send, _too_large(f"{int(declared):,} bytes", limit, field))
            return
        is_json = (_header(scope, b"content-type") or "").startswith("application/json")
        received: list[bytes] = []
        size = 0
        refusal: GapcastError | None = None
        started = False

        async def counted() -> Message:
            nonlocal size, refusal
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    refusal = _too_large(f"over {limit:,} bytes", limit, field)
                    raise _Refused
                if is_json:
                    received.append(chunk)
                    if not message.get("more_body", False) and size:
                        try:
                            parse_json(b"".join(received), field="body")
                        except InvalidInput as exc:
                            refusal = exc
                            raise _Refused from exc
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refusal is not None:
                return  # the app's answer to the aborted read (a 400, a 500): ours replaces it
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except _Refused:
            pass
        except Exception:
            if refusal is None:
                raise
        if refusal is not None and not started:
            await _send_error(send, refusal)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _too_large(size: str, limit: int, field: str) -> TooLarge:
    setting = "GAPCAST_MAX_UPLOAD_BYTES" if field == "file" else "GAPCAST_MAX_MESSAGE_BYTES"
    return TooLarge(
        f"the request body is {size}, over the limit of {limit:,} bytes ({setting}); "
        "it was not read",
        field=field,
    )


async def _send_error(send: Send, error: GapcastError) -> None:
    body = json.dumps({"error": error.to_dict()}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.http_status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
