"""The WebSocket messages, one pydantic model each (documented with examples in docs/protocol.md).

Client → server: :class:`TrainRequest` (first message on ``/ws/train``), :class:`CancelRequest`.
Server → client: :class:`Accepted`, the run events of :mod:`gapcast.events` (status, progress, gaps,
candidate, log), then one terminal :class:`Done` or :class:`ErrorMessage`. Every server message
carries ``run_id`` (null before a run exists), ``seq`` (0 for messages that are not stored:
``accepted`` and request errors; 1, 2, ... for the run's stored events) and ``time`` (unix seconds
at creation).
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gapcast.api.errors import invalid_from_validation
from gapcast.errors import InvalidInput, TooLarge


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["train"] = "train"
    dataset: str | int = Field(description="dataset name or id")
    config: str | int | dict[str, Any] | None = Field(
        default=None,
        description="stored config name or id, an inline TrainingConfig object, or null (defaults)",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="e.g. {'epochs': 5, 'lookback': 32, 'model': 'mlp'}"
    )


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["cancel"] = "cancel"


class _ServerMessage(BaseModel):
    run_id: str | None
    seq: int = 0
    time: float = Field(default_factory=time.time)


class Accepted(_ServerMessage):
    type: Literal["accepted"] = "accepted"
    status: Literal["queued"] = "queued"
    watch: str = Field(description="path of the watch socket, for reattaching")


class ArtifactLink(BaseModel):
    kind: str
    media_type: str
    size: int
    sha256: str
    url: str


class Done(_ServerMessage):
    type: Literal["done"] = "done"
    status: Literal["succeeded", "cancelled"]
    metrics: dict[str, Any] | None
    verdict: dict[str, Any] | None = Field(
        default=None, description="the model against the best baseline (metrics.verdict)"
    )
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, description="the run's warnings (metrics.warnings)"
    )
    gap_metrics: dict[str, Any] | None = None
    runtime_s: float | None
    epochs: int | None
    loss: float | None
    val_loss: float | None = None
    artifacts: list[ArtifactLink]


class ErrorMessage(_ServerMessage):
    type: Literal["error"] = "error"
    status: Literal["failed", "interrupted"] | None = Field(
        default=None, description="the run's final status; null when no run was created"
    )
    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (send null or a number)")


def parse_json(raw: str | bytes, *, field: str = "message") -> Any:
    """Strict JSON: no NaN/Infinity, no nesting deeper than Python can follow, no lone surrogates
    (``"\\ud800"`` decodes to text that can be neither stored nor sent back)."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
        json.dumps(data, ensure_ascii=False).encode()
    except RecursionError as exc:
        raise InvalidInput("the message is nested too deeply", field=field) from exc
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            "the message holds an unpaired UTF-16 surrogate escape (such as \\ud800)",
            field=field,
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise InvalidInput(f"the message is not valid JSON: {exc}", field=field) from exc
    return data


def parse_client_message(raw: str | bytes, *, max_bytes: int) -> TrainRequest | CancelRequest:
    """A client's message, or InvalidInput/TooLarge saying exactly what is wrong with it."""
    if len(raw) > max_bytes:
        raise TooLarge(
            f"the message has {len(raw)} bytes; the limit is {max_bytes}", field="message"
        )
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise InvalidInput(
            f"expected a JSON object, received {type(data).__name__}", field="message"
        )
    kind = data.get("type")
    model: type[TrainRequest | CancelRequest]
    if kind == "train":
        model = TrainRequest
    elif kind == "cancel":
        model = CancelRequest
    else:
        raise InvalidInput(
            f"expected a message of type 'train' or 'cancel', received type={kind!r}",
            field="type",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_from_validation(exc, data) from exc
