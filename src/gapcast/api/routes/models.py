"""The model registry over REST: names and hyperparameter JSON schemas, for forms and scripts."""

from __future__ import annotations

import sys
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gapcast.api.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/models", tags=["models"], responses=ERROR_RESPONSES)


class ModelOut(BaseModel):
    name: str
    description: str = Field(description="what the model is, in one line")
    hyperparameters: dict[str, Any] = Field(description="JSON schema of the hyperparameters")
    defaults: dict[str, Any]


@router.get("")
def list_models() -> list[ModelOut]:
    """Every registered forecasting model (built-in and plug-in), sorted by name."""
    from gapcast.model_training.ml_strategy import available, get_strategy

    out = []
    for name in available():
        strategy = get_strategy(name)
        # A strategy class often has no docstring of its own; its module's first line says it.
        module = sys.modules.get(strategy.__module__)
        doc = (strategy.__doc__ or getattr(module, "__doc__", None) or "").strip().splitlines()
        description = doc[0].removeprefix(f"{name}:").strip() if doc else ""
        out.append(
            ModelOut(
                name=name,
                description=description,
                hyperparameters=strategy.Hyperparameters.model_json_schema(),
                defaults=strategy.Hyperparameters().model_dump(mode="json"),
            )
        )
    return out
