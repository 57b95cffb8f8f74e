"""The bridge from the processing package to training: arrays in the shapes the runner needs.

Everything the runner knows about data preparation goes through :func:`prepare`, so the runner,
the evaluation and the plot depend on this small dataclass and not on the pipeline's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gapcast.errors import InvalidInput
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
    """Run the configured preparation on ``frame``.

    In this process by default; through ``pool.prepare`` (a ProcessingPool: worker processes and
    an on-disk cache) when one is given.
    """
    targets = list(config.target or [frame.channels[0]])
    covariates = list(config.covariates)
    if pool is not None:
        pipeline, prepared = pool.prepare(frame, config.preprocessing, targets, covariates)
    else:
        from gapcast.processing.pipeline import ProcessingPipeline

        pipeline = ProcessingPipeline.from_config(
            config.preprocessing, targets=targets, covariates=covariates
        )
        prepared = pipeline.fit_transform(frame)
    report = prepared.gap_report
    grid = prepared.raw_frame
    rows = [grid.channel_index(t) for t in targets]
    observed_by_target = np.asarray(grid.mask)[rows]
    real = np.where(observed_by_target, np.asarray(grid.values)[rows], np.nan)
    report_targets = (
        np.isin(np.asarray(report.channels)[report.channel_index], targets)
        if report.n_gaps
        else np.zeros(0, dtype=bool)
    )
    large = report.is_large & report_targets
    summary = GapSummary(
        gaps=report.n_gaps,
        small=report.n_small,
        large=report.n_large,
        missing_points=report.missing_points,
        observed_fraction=float(report.observed_fraction),
        largest=report.longest_gap,
    )
    n = prepared.frame.n_points
    split = prepared.frame.split or (n, n)
    freq = prepared.frame.freq_ns or grid.freq_ns
    if not freq:
        raise InvalidInput("the prepared data has no regular frequency; add a resample step")
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
        freq_ns=int(freq),
        channels=list(frame.channels),
        targets=list(prepared.targets),
        covariates=covariates,
        pipeline=pipeline,
        pipeline_config=[s.model_dump(mode="json") for s in pipeline.to_config()],
        gap_summary=summary,
        large_gaps=list(zip(report.start[large].tolist(), report.end[large].tolist(), strict=True)),
    )
