"""The one mapping of errors to responses, and pydantic errors turned into messages naming a field.

``field_path`` writes a pydantic location the way a user reads their JSON:
``("preprocessing", 6, "window", "lookback")`` → ``preprocessing[6].lookback`` (the ``window`` there
is the tag of a discriminated union, not a key the user wrote, so it is dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gapcast.errors import GapcastError, InvalidInput, Unavailable

_TAG_KEYS = ("step", "type")
_REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def field_path(loc: Sequence[int | str], data: Any = None, prefix: str | None = None) -> str:
    out = prefix or ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        is_tag = isinstance(node, dict) and part not in node
        if is_tag and any(node.get(key) == part for key in _TAG_KEYS):
            continue  # a discriminator tag pydantic added to the location
        out += f".{part}" if out else part
        node = node.get(part) if isinstance(node, dict) else None
    return out


def _describe(error: dict[str, Any], path: str) -> str:
    if error.get("type") == "missing":
        return f"{path}: field required"
    if error.get("type") == "extra_forbidden":
        return f"{path}: unknown field"
    received = error.get("input")
    text = repr(received)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{path}: {error['msg']}, received {text}"


def invalid_from_validation(
    exc: ValidationError, data: Any = None, *, prefix: str | None = None
) -> InvalidInput:
    """The first error of ``exc`` as InvalidInput; the rest are listed in ``details``."""
    errors = exc.errors()
    paths = [field_path(e["loc"], data, prefix) or (prefix or "body") for e in errors]
    return InvalidInput(
        _describe(dict(errors[0]), paths[0]),
        field=paths[0],
        errors=[
            {"field": p, "message": _describe(dict(e), p)}
            for p, e in zip(paths, errors, strict=True)
        ],
    )


def error_body(exc: GapcastError) -> dict[str, Any]:
    return {"error": exc.to_dict()}


async def _gapcast_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GapcastError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(error_body(exc), status_code=exc.http_status, headers=headers)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    body = getattr(exc, "body", None)
    paths = []
    for e in errors:
        loc = list(e.get("loc", ()))
        part = loc.pop(0) if loc and loc[0] in _REQUEST_PARTS else "body"
        paths.append(field_path(loc, body if part == "body" else None) or str(part))
    invalid = InvalidInput(
        _describe(dict(errors[0]), paths[0]) if errors else "invalid request",
        field=paths[0] if paths else None,
        errors=[
            {"field": p, "message": _describe(dict(e), p)}
            for p, e in zip(paths, errors, strict=True)
        ],
    )
    return JSONResponse(error_body(invalid), status_code=422)


DATABASE_ERRORS = (DataError, OperationalError, InterfaceError)


def from_database_error(exc: DBAPIError) -> GapcastError:
    """What a database refusal means to the client: a value it cannot hold (a NUL character, an
    id beyond its integer range) is bad input; a lost connection means "try again shortly"."""
    reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
    if isinstance(exc, DataError):
        return InvalidInput(f"a value in the request cannot be stored or looked up: {reason}")
    return Unavailable(f"the database is unreachable ({reason}); try again shortly")


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    error = from_database_error(exc)
    return JSONResponse(error_body(error), status_code=error.http_status)


_HTTP_CODES = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals (no such route, wrong method, an unparsable body) in our shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in message:
        message = "the request body is not valid JSON (or not UTF-8 text)"
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GapcastError, _gapcast_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in DATABASE_ERRORS:
        app.add_exception_handler(kind, _database_error)


def close_code_of(code: str) -> int:
    """The WebSocket close code for an error ``code`` (1011, a server-side fault, by default)."""
    return _CLOSE_CODES.get(code, 1011)


def _all_subclasses(cls: type[GapcastError]) -> list[type[GapcastError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_subclasses(sub))
    return out


_CLOSE_CODES = {c.code: c.ws_close_code for c in _all_subclasses(GapcastError) if c.code != "error"}
