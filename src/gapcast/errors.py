"""One exception hierarchy for gapcast.

Library code raises these; the API layer maps them once (``api/errors.py``) to an HTTP status or a
WebSocket close code, so a message written here is exactly what the user reads.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DataWarning(UserWarning):
    """gapcast read something in the caller's data other than as written (a logger's -9999 read
    as missing): the data is used, and the warning says what was changed. ``predict``'s JSON
    answer carries these as ``notes``, as an import's answer does."""


class GapcastError(Exception):
    """Base of every error gapcast raises on purpose.

    ``code`` is a short machine-readable name sent to clients next to the message; ``field`` names
    the input the error is about (``"config.preprocessing[2].lookback"``, ``"file"``, ...) so a UI
    can show it next to that field.
    """

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    ws_close_code: ClassVar[int] = 1011

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out


class InvalidInput(GapcastError):
    """The request, file or configuration is wrong; the message says what and where."""

    code = "invalid_input"
    http_status = 422
    ws_close_code = 1008


class NotFound(GapcastError):
    code = "not_found"
    http_status = 404
    ws_close_code = 1008


class Conflict(GapcastError):
    """The request clashes with what is stored (a name already taken, a run already finished)."""

    code = "conflict"
    http_status = 409
    ws_close_code = 1008


class TooLarge(InvalidInput):
    code = "too_large"
    http_status = 413
    ws_close_code = 1009


class QueueFull(GapcastError):
    code = "queue_full"
    http_status = 503
    ws_close_code = 1013


class Unavailable(GapcastError):
    """A dependency (the database) cannot be reached right now; the request may be retried."""

    code = "unavailable"
    http_status = 503
    ws_close_code = 1013


class Unauthorized(GapcastError):
    code = "unauthorized"
    http_status = 401
    ws_close_code = 1008


class Cancelled(GapcastError):
    """A run was cancelled on request; not a fault."""

    code = "cancelled"
    http_status = 409
    ws_close_code = 1000


class UnsafeModel(InvalidInput):
    """A stored or uploaded ``.keras`` archive would execute code on load."""

    code = "unsafe_model"
