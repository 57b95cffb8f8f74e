"""The JSON form of each preparation step: what a training configuration stores.

One pydantic model per step, discriminated by ``step``; ``ProcessingBuilder.from_config`` turns a
list of them into a pipeline, and a fitted pipeline writes them back (with learned parameters in
``fitted``) so a stored model can prepare new raw data exactly as it was trained.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from gapcast.errors import InvalidInput

_V = TypeVar("_V")


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Learned parameters of a fitted step (scaler mean/std, trend slope, ...); empty before fit.
    fitted: dict[str, Any] = Field(default_factory=dict)


class ResampleStep(_Step):
    step: Literal["resample"] = "resample"
    freq: str | None = Field(
        default=None, description="pandas offset alias ('1h', '15min'); None keeps the dataset's"
    )
    agg: Literal["mean", "sum", "min", "max", "first", "last", "hold"] = Field(
        default="mean",
        description="how the samples of a grid step make its value; hold: the last, and a step "
        "without one keeps the reading before it (a sensor that reports on change only)",
    )
    max_hold: str | None = Field(
        default=None,
        description="with agg hold, the longest a reading holds ('6h'); past it the steps are "
        "missing (an outage, not a steady value). None: until the next reading",
    )

    @field_validator("freq", "max_hold")
    @classmethod
    def _fixed_duration(cls, value: str | None) -> str | None:
        return _checked_duration(value)


def _checked_duration(value: _V) -> _V:
    """A duration field refused when the config arrives (422, naming the field), not when its
    run reaches the step: ``resample.max_hold = "soon"`` was accepted and failed the run."""
    from gapcast.processing._time import parse_duration

    if isinstance(value, str):
        try:
            parse_duration(value)
        except InvalidInput:
            # The path and the value are added where the error is told (api.errors).
            raise PydanticCustomError(
                "duration", "expected a fixed positive duration such as '15min', '1h' or '7D'"
            ) from None
    return value


class DetectGapsStep(_Step):
    step: Literal["detect_gaps"] = "detect_gaps"
    max_fill: int | str = Field(
        default=3, description="longest gap that counts as small: grid steps (int) or a duration"
    )

    @field_validator("max_fill")
    @classmethod
    def _fixed_duration(cls, value: int | str) -> int | str:
        return _checked_duration(value)


class FillGapsStep(_Step):
    step: Literal["fill_gaps"] = "fill_gaps"
    method: Literal["linear", "ffill", "seasonal"] = "linear"
    season: int | None = Field(default=None, ge=2, description="season length in grid steps")


class MaskOutliersStep(_Step):
    step: Literal["mask_outliers"] = "mask_outliers"
    threshold: float = Field(
        default=20.0,
        gt=0.0,
        description="how many typical step-to-step changes a glitch lies away from both of its "
        "neighbours",
    )
    max_run: int = Field(
        default=3, ge=1, le=100, description="the longest run of readings that counts as a glitch"
    )


class RemoveLinearTrendStep(_Step):
    step: Literal["remove_linear_trend"] = "remove_linear_trend"


class ScaleStep(_Step):
    step: Literal["scale"] = "scale"
    method: Literal["standard", "minmax", "robust"] = "standard"


class SplitStep(_Step):
    step: Literal["split"] = "split"
    val: float = Field(default=0.15, ge=0.0, lt=0.5)
    test: float = Field(default=0.15, gt=0.0, lt=0.5)


class CalendarStep(_Step):
    step: Literal["calendar"] = "calendar"
    cycles: list[Literal["time_of_day", "day_of_week", "day_of_year"]] | None = Field(
        default=None,
        description="calendar cycles given to the model for the lookback and the forecast steps; "
        "None: chosen from the frequency (time of day below daily, day of week up to daily, "
        "day of year for daily or coarser data spanning two years)",
    )


class WindowStep(_Step):
    step: Literal["window"] = "window"
    lookback: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="input steps; None: from the frequency and the seasons (resolved and stored "
        "when the run starts)",
    )
    horizon: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="forecast steps; None: from the frequency (resolved when the run starts)",
    )
    stride: int = Field(default=1, ge=1)
    min_observed: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="a window is usable when at least this fraction of its input steps and at "
        "least one target step were really observed; predict refuses a history below it",
    )
    scaling: Literal["window", "none"] = Field(
        default="window",
        description="window: inputs and targets relative to each window's own level and spread",
    )
    season: int | Literal["auto", "none"] = Field(
        default="auto",
        description="season (grid steps) of the seasonal-naive reference each forecast step "
        "gets as an input; auto: the shortest season the training part confirms (1, the last "
        "value, when it confirms none); none: no reference",
    )


StepConfig = Annotated[
    ResampleStep
    | DetectGapsStep
    | FillGapsStep
    | RemoveLinearTrendStep
    | ScaleStep
    | SplitStep
    | MaskOutliersStep
    | CalendarStep
    | WindowStep,
    Field(discriminator="step"),
]


def default_steps() -> list[StepConfig]:
    """The preparation a newcomer gets without choosing anything.

    No global fill, detrend or scale: windows read gaps through an observed mask and are scaled
    relative to their own level, so a forecast follows the latest level whatever the trend; a
    glitch (a spike far from both neighbours) is masked, since one spike in a lookback would set
    that window's level and spread.
    """
    return [
        ResampleStep(),
        DetectGapsStep(),
        SplitStep(),
        MaskOutliersStep(),
        CalendarStep(),
        WindowStep(),
    ]
