"""Step name → step class and config model, and the one order steps run in."""

from __future__ import annotations

from gapcast.processing.base import Step
from gapcast.processing.calendar import Calendar
from gapcast.processing.config import (
    CalendarStep,
    DetectGapsStep,
    FillGapsStep,
    MaskOutliersStep,
    RemoveLinearTrendStep,
    ResampleStep,
    ScaleStep,
    SplitStep,
    WindowStep,
    _Step,
)
from gapcast.processing.fill import FillGaps
from gapcast.processing.gaps import DetectGaps
from gapcast.processing.outliers import MaskOutliers
from gapcast.processing.resample import Resample
from gapcast.processing.split import Split
from gapcast.processing.transforms import RemoveLinearTrend, Scale
from gapcast.processing.windows import Window

# The order is fixed: the grid first, gaps before filling (a glitch masked later is not a gap),
# the split before anything fitted on the training part (glitches are judged by its typical
# change among them), the calendar (which only reads timestamps) just before the windows that use
# it, and windows last.
STEP_ORDER: tuple[str, ...] = (
    "resample",
    "detect_gaps",
    "fill_gaps",
    "split",
    "mask_outliers",
    "remove_linear_trend",
    "scale",
    "calendar",
    "window",
)

STEP_CLASSES: dict[str, type[Step]] = {
    cls.name: cls
    for cls in (
        Resample,
        DetectGaps,
        FillGaps,
        Split,
        MaskOutliers,
        RemoveLinearTrend,
        Scale,
        Calendar,
        Window,
    )
}

CONFIG_TYPES: dict[str, type[_Step]] = {
    "resample": ResampleStep,
    "detect_gaps": DetectGapsStep,
    "fill_gaps": FillGapsStep,
    "split": SplitStep,
    "mask_outliers": MaskOutliersStep,
    "remove_linear_trend": RemoveLinearTrendStep,
    "scale": ScaleStep,
    "calendar": CalendarStep,
    "window": WindowStep,
}
