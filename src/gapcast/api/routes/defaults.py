"""The default training configuration: the one place the CLI, the page and the API agree on.

``TrainingConfig()`` defines the defaults; this route serves them, so a client shows what a run
with no choices would do instead of keeping its own copy (the page used to say mlp/52/13 while
the command line said lstm/48/24).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gapcast.api.schemas import ERROR_RESPONSES

router = APIRouter(prefix="/defaults", tags=["models"], responses=ERROR_RESPONSES)


class DefaultsOut(BaseModel):
    config: dict[str, Any] = Field(
        description="TrainingConfig with every default; lookback/horizon null mean 'resolved "
        "from the data when the run starts'"
    )
    auto_candidates: list[str] = Field(description="the models model 'auto' chooses between")


@router.get("")
def get_defaults() -> DefaultsOut:
    from gapcast.model_training.candidates import AUTO_MODELS
    from gapcast.training_config import TrainingConfig

    return DefaultsOut(
        config=TrainingConfig().model_dump(mode="json"),
        auto_candidates=[name for name, _ in AUTO_MODELS],
    )
