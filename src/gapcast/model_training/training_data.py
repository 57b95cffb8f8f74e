"""The bridge from the processing package to training: arrays in the shapes the runner needs.

Everything the runner knows about data preparation goes through :func:`prepare`, so the runner,
the evaluation and the plot depend on this small dataclass and not on the pipeline's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gapcast.model_training.results import GapSummary
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig

Inverse = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class TrainingData:
    x_train: np.ndarray  # (n, lookback, n_inputs) scaled
    y_train: np.ndarray  # (n, horizon, n_targets) scaled
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_target_ts: np.ndarray  # (n_test, horizon) int64 ns
    inverse: Inverse  # scaled targets + their timestamps → real units
    grid_ts: np.ndarray  # (T,) the regular grid after resampling
    real: np.ndarray  # (n_targets, T) real units, NaN where nothing was observed
    observed: np.ndarray  # (T,) bool: any target observed at that grid point
    split: tuple[int, int]  # grid indices where validation and test begin
    freq_ns: int
    channels: list[str]
    targets: list[str]
    covariates: list[str]
    pipeline: Any  # the fitted pipeline (kept for predict-time preparation)
    pipeline_config: list[dict[str, Any]]
    gap_summary: GapSummary
    large_gaps: list[tuple[int, int]]  # (start_ns, end_ns) of large gaps in the targets


def as_float32(a: Any) -> np.ndarray:
    # Keras computes in float32: converting once here avoids a cast per batch.
    return np.ascontiguousarray(a, dtype=np.float32)


def prepare(frame: SeriesFrame, config: TrainingConfig, pool: Any = None) -> TrainingData:
    """Run the configured preparation on ``frame`` (through the ProcessingPool's cache)."""
    from gapcast.processing.pool import ProcessingPool

    targets = list(config.target or [frame.channels[0]])
    covariates = list(config.covariates)
    pool = pool if pool is not None else ProcessingPool.default()
    pipeline, prepared = pool.prepare(frame, config.preprocessing, targets, covariates)
    report = prepared.gap_report
    grid = (
        prepared.raw_frame if getattr(prepared, "raw_frame", None) is not None else prepared.frame
    )
    target_rows = [grid.channel_index(t) for t in targets]
    observed_by_target = np.asarray(grid.mask)[target_rows]
    real = np.where(observed_by_target, np.asarray(grid.values)[target_rows], np.nan)
    large = [(g.start, g.end) for g in report.gaps if g.kind == "large" and g.channel in targets]
    lengths = [g.length for g in report.gaps]
    summary = GapSummary(
        gaps=len(lengths),
        small=sum(1 for g in report.gaps if g.kind == "small"),
        large=sum(1 for g in report.gaps if g.kind == "large"),
        missing_points=int(sum(lengths)),
        observed_fraction=float(observed_by_target.mean()) if observed_by_target.size else 0.0,
        largest=max(lengths, default=0),
    )
    split = prepared.frame.split or (prepared.frame.n_points, prepared.frame.n_points)
    return TrainingData(
        x_train=as_float32(prepared.train.X),
        y_train=as_float32(prepared.train.y),
        x_val=as_float32(prepared.val.X),
        y_val=as_float32(prepared.val.y),
        x_test=as_float32(prepared.test.X),
        y_test=as_float32(prepared.test.y),
        test_target_ts=np.asarray(prepared.test.target_timestamps, dtype=np.int64),
        inverse=pipeline.inverse_targets,
        grid_ts=np.asarray(grid.timestamps, dtype=np.int64),
        real=real,
        observed=np.asarray(observed_by_target.any(axis=0), dtype=bool),
        split=(int(split[0]), int(split[1])),
        freq_ns=int(grid.freq_ns or prepared.frame.freq_ns or 0),
        channels=list(frame.channels),
        targets=targets,
        covariates=covariates,
        pipeline=pipeline,
        pipeline_config=[s.model_dump(mode="json") for s in pipeline.to_config()],
        gap_summary=summary,
        large_gaps=large,
    )
