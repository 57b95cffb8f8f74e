"""The JSON form of each preparation step: what a training configuration stores.

One pydantic model per step, discriminated by ``step``; ``ProcessingBuilder.from_config`` turns a
list of them into a pipeline, and a fitted pipeline writes them back (with learned parameters in
``fitted``) so a stored model can prepare new raw data exactly as it was trained.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Learned parameters of a fitted step (scaler mean/std, trend slope, ...); empty before fit.
    fitted: dict[str, Any] = Field(default_factory=dict)


class ResampleStep(_Step):
    step: Literal["resample"] = "resample"
    freq: str | None = Field(
        default=None, description="pandas offset alias ('1h', '15min'); None keeps the dataset's"
    )
    agg: Literal["mean", "sum", "min", "max", "first", "last"] = "mean"


class DetectGapsStep(_Step):
    step: Literal["detect_gaps"] = "detect_gaps"
    max_fill: int | str = Field(
        default=3, description="longest gap that counts as small: grid steps (int) or a duration"
    )


class FillGapsStep(_Step):
    step: Literal["fill_gaps"] = "fill_gaps"
    method: Literal["linear", "ffill", "seasonal"] = "linear"
    season: int | None = Field(default=None, ge=2, description="season length in grid steps")


class RemoveLinearTrendStep(_Step):
    step: Literal["remove_linear_trend"] = "remove_linear_trend"


class ScaleStep(_Step):
    step: Literal["scale"] = "scale"
    method: Literal["standard", "minmax", "robust"] = "standard"


class SplitStep(_Step):
    step: Literal["split"] = "split"
    val: float = Field(default=0.15, ge=0.0, lt=0.5)
    test: float = Field(default=0.15, gt=0.0, lt=0.5)


class WindowStep(_Step):
    step: Literal["window"] = "window"
    lookback: int = Field(default=48, ge=1, le=100_000)
    horizon: int = Field(default=24, ge=1, le=100_000)
    stride: int = Field(default=1, ge=1)


StepConfig = Annotated[
    ResampleStep
    | DetectGapsStep
    | FillGapsStep
    | RemoveLinearTrendStep
    | ScaleStep
    | SplitStep
    | WindowStep,
    Field(discriminator="step"),
]


def default_steps() -> list[StepConfig]:
    """The preparation a newcomer gets without choosing anything."""
    return [
        ResampleStep(),
        DetectGapsStep(),
        FillGapsStep(),
        SplitStep(),
        RemoveLinearTrendStep(),
        ScaleStep(),
        WindowStep(),
    ]
