"""Data preparation: from a raw, gappy series to model-ready windows, and back to real units.

``SeriesFrame`` is the typed series every step takes; ``ProcessingBuilder`` builds a
``ProcessingPipeline`` from step configs; ``ProcessingPool`` runs preparations in worker
processes and caches them on disk.

The names below load on first use, so importing ``gapcast.processing.config`` (as the API does)
does not pull in numpy-heavy modules or pandas.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gapcast.processing._time import format_duration, infer_frequency, parse_duration
    from gapcast.processing.base import FrameStep, Step, ValueStep
    from gapcast.processing.builder import ProcessingBuilder, validate_steps
    from gapcast.processing.calendar import Calendar
    from gapcast.processing.fill import FillGaps
    from gapcast.processing.frame import SeriesFrame
    from gapcast.processing.gaps import DetectGaps, Gap, GapReport, detect_gaps
    from gapcast.processing.outliers import MaskOutliers
    from gapcast.processing.pipeline import History, PreparedData, ProcessingPipeline
    from gapcast.processing.pool import PrepareRequest, ProcessingPool, config_hash, content_hash
    from gapcast.processing.registry import STEP_CLASSES, STEP_ORDER
    from gapcast.processing.resample import Resample
    from gapcast.processing.split import Split
    from gapcast.processing.transforms import RemoveLinearTrend, Scale
    from gapcast.processing.window_inputs import Layout, ModelBatch, build_batch
    from gapcast.processing.windows import Window, WindowArray, WindowSet, WindowSplits

_MODULES: dict[str, str] = {
    "DetectGaps": "gapcast.processing.gaps",
    "FillGaps": "gapcast.processing.fill",
    "FrameStep": "gapcast.processing.base",
    "Gap": "gapcast.processing.gaps",
    "GapReport": "gapcast.processing.gaps",
    "PrepareRequest": "gapcast.processing.pool",
    "PreparedData": "gapcast.processing.pipeline",
    "ProcessingBuilder": "gapcast.processing.builder",
    "ProcessingPipeline": "gapcast.processing.pipeline",
    "ProcessingPool": "gapcast.processing.pool",
    "History": "gapcast.processing.pipeline",
    "Calendar": "gapcast.processing.calendar",
    "Layout": "gapcast.processing.window_inputs",
    "MaskOutliers": "gapcast.processing.outliers",
    "ModelBatch": "gapcast.processing.window_inputs",
    "build_batch": "gapcast.processing.window_inputs",
    "RemoveLinearTrend": "gapcast.processing.transforms",
    "Resample": "gapcast.processing.resample",
    "STEP_CLASSES": "gapcast.processing.registry",
    "STEP_ORDER": "gapcast.processing.registry",
    "Scale": "gapcast.processing.transforms",
    "SeriesFrame": "gapcast.processing.frame",
    "Split": "gapcast.processing.split",
    "Step": "gapcast.processing.base",
    "ValueStep": "gapcast.processing.base",
    "Window": "gapcast.processing.windows",
    "WindowArray": "gapcast.processing.windows",
    "WindowSet": "gapcast.processing.windows",
    "WindowSplits": "gapcast.processing.windows",
    "config_hash": "gapcast.processing.pool",
    "content_hash": "gapcast.processing.pool",
    "detect_gaps": "gapcast.processing.gaps",
    "format_duration": "gapcast.processing._time",
    "infer_frequency": "gapcast.processing._time",
    "parse_duration": "gapcast.processing._time",
    "validate_steps": "gapcast.processing.builder",
}

__all__ = [
    "STEP_CLASSES",
    "STEP_ORDER",
    "Calendar",
    "DetectGaps",
    "FillGaps",
    "FrameStep",
    "Gap",
    "GapReport",
    "History",
    "Layout",
    "MaskOutliers",
    "ModelBatch",
    "PrepareRequest",
    "PreparedData",
    "ProcessingBuilder",
    "ProcessingPipeline",
    "ProcessingPool",
    "RemoveLinearTrend",
    "Resample",
    "Scale",
    "SeriesFrame",
    "Split",
    "Step",
    "ValueStep",
    "Window",
    "WindowArray",
    "WindowSet",
    "WindowSplits",
    "build_batch",
    "config_hash",
    "content_hash",
    "detect_gaps",
    "format_duration",
    "infer_frequency",
    "parse_duration",
    "validate_steps",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
