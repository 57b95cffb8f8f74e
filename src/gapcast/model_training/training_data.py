"""The bridge from the processing package to training: the prepared grid and its windows.

Everything the runner knows about data preparation goes through :func:`prepare`, so the runner,
the backtest and the plot depend on this small dataclass and not on the pipeline's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.model_training.results import GapSummary
from gapcast.model_training.window_store import WindowStore
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.gaps import DetectGaps, GapReport, find_runs
from gapcast.processing.pipeline import ProcessingPipeline
from gapcast.processing.seasons import Season, fitting_seasons
from gapcast.training_config import TrainingConfig


@dataclass
class TrainingData:
    pipeline: ProcessingPipeline  # fitted
    frame: SeriesFrame  # the prepared grid (inputs: targets first), split set
    origins: dict[str, NDArray[np.int64]]  # usable window origins per part (first target step)
    grid_ts: NDArray[np.int64]  # (T,) the regular grid after resampling
    real: NDArray[np.float64]  # (n_targets, T) real units, NaN where nothing was observed
    observed: NDArray[np.bool_]  # (T,) any target observed at that grid point
    split: tuple[int, int]  # grid indices where validation and test begin
    freq_ns: int
    max_fill: int  # longest gap (grid steps) that counts as small
    channels: list[str]
    targets: list[str]
    covariates: list[str]
    pipeline_config: list[dict[str, Any]]
    gap_summary: GapSummary
    large_gaps: list[tuple[int, int]]  # (start_ns, end_ns) of large gaps in the targets
    # Per input channel with any: how many readings were masked as glitches (mask_outliers),
    # and the first one's time (ns) and value as recorded.
    glitches: dict[str, tuple[int, int, float]] = field(default_factory=dict)
    # Covariates known in advance: read for the forecast steps too.
    future_covariates: list[str] = field(default_factory=list)

    @property
    def lookback(self) -> int:
        return self.pipeline.window.lookback

    @property
    def horizon(self) -> int:
        return self.pipeline.window.horizon

    @property
    def unused_channels(self) -> list[str]:
        """Channels of the data that are neither a target nor a covariate (the run ignores
        them)."""
        used = {*self.targets, *self.covariates, *self.future_covariates}
        return [c for c in self.channels if c not in used]

    @property
    def seasons(self) -> list[Season]:
        """The seasons confirmed on the training part (what the lookback was sized for)."""
        return list(self.pipeline.window.seasons_)

    @cached_property
    def large_outages(self) -> int:
        """Stretches of more than ``max_fill`` grid steps where no target was observed: what the
        gap classifier learns to foresee (a covariate's outage, or one target's while another
        reports, is not one)."""
        return int(np.count_nonzero(find_runs(~self.observed)[1] > self.max_fill))

    @cached_property
    def training_outages(self) -> NDArray[np.int64]:
        """Lengths (grid steps) of the training part's large outages, those ``large_outages``
        counts: the ones drawn onto training windows (:mod:`~.outage_draws`)."""
        lengths = find_runs(~self.observed[: self.split[0]])[1]
        return lengths[lengths > self.max_fill]

    def recurring_at(self, zone: str | None = None) -> NDArray[np.int64]:
        """Positions of the natural cycle (say, the days of the week) at which the training
        part's targets are missing at least half the time: gaps too short to be outages that a
        calendar still foresees (a business-day series' weekends). Read on the wall clock of
        ``zone``, as the gap classifier reads them: a nightly hour offline in local time is
        two half-rates an hour apart in UTC, neither of them recurring."""
        from gapcast.model_training.gap_features import recurring_positions
        from gapcast.processing._time import wall_clock

        end = self.split[0]
        ts = wall_clock(self.grid_ts[:end], zone)
        return recurring_positions(self.freq_ns, ts, ~self.observed[:end])

    @cached_property
    def window_store(self) -> WindowStore | None:
        """The windows of the training and validation parts, built once for every candidate,
        epoch and refit copy, when they fit in memory (:mod:`~.window_store`); None otherwise."""
        at = np.concatenate([self.origins["train"], self.origins["val"]])
        if not at.size or not WindowStore.fits(self.pipeline.layout, at.size):
            return None
        return WindowStore(self.pipeline, self.frame, at)

    @cached_property
    def long_season_data(self) -> TrainingData | None:
        """The same data read by windows that also see each target one longer season before
        each forecast step (:meth:`~gapcast.processing.windows.Window.longer_season`): what
        model "auto"'s candidates with the long season train on. None without a longer
        confirmed season."""
        season = self.pipeline.window.longer_season()
        if season is None or self.pipeline.window.long_season_:
            return None
        pipeline = self.pipeline.with_long_season(season.steps)
        config = [s.model_dump(mode="json") for s in pipeline.to_config()]
        return replace(self, pipeline=pipeline, pipeline_config=config)

    @property
    def mase_season(self) -> int:
        """The season MASE is scaled by: the shortest confirmed one, else 1 (naive)."""
        return self.seasons[0].steps if self.seasons else 1

    def baseline_seasons(self) -> list[Season]:
        """Seasons a seasonal naive baseline can use: those of the frequency that fit the
        history before the test part, confirmed by the data or not."""
        return fitting_seasons(self.freq_ns, self.split[1])


def prepare(frame: SeriesFrame, config: TrainingConfig, pool: Any = None) -> TrainingData:
    """Run the configured preparation on ``frame``.

    In this process by default; through ``pool.prepare`` (a ProcessingPool: worker processes and
    an on-disk cache) when one is given.
    """
    targets = list(config.target or [frame.channels[0]])
    covariates = list(config.covariates)
    future = list(config.future_covariates)
    if pool is not None:
        pipeline, prepared = pool.prepare(
            frame, config.preprocessing, targets, covariates, future_covariates=future
        )
    else:
        pipeline = ProcessingPipeline.from_config(
            config.preprocessing,
            targets=targets,
            covariates=covariates,
            future_covariates=future,
        )
        prepared = pipeline.fit_transform(frame)
    report = prepared.gap_report
    grid = prepared.raw_frame
    rows = [grid.channel_index(t) for t in targets]
    observed_by_target = np.asarray(grid.mask)[rows]
    real = np.where(observed_by_target, np.asarray(grid.values)[rows], np.nan)
    glitches: dict[str, tuple[int, int, float]] = {}
    if prepared.outliers is not None:
        # A glitch is not a reading of the quantity: neither scored as the truth nor repeated
        # by a baseline (they read ``real``), while the gap classifier still counts it as data
        # that arrived (``observed``).
        real = np.where(prepared.outliers[rows], np.nan, real)
        for i, name in enumerate(grid.channels):
            at = np.flatnonzero(prepared.outliers[i])
            if at.size:
                first = int(at[0])
                glitches[name] = (int(at.size), int(grid.timestamps[first]), grid.values[i, first])
    report_targets = (
        np.isin(np.asarray(report.channels)[report.channel_index], targets)
        if report.n_gaps
        else np.zeros(0, dtype=bool)
    )
    large = report.is_large & report_targets
    summary = run_gap_summary(report)
    n = prepared.frame.n_points
    split = prepared.frame.split or (n, n)
    freq = prepared.frame.freq_ns or grid.freq_ns
    if not freq:
        raise InvalidInput("the prepared data has no regular frequency; add a resample step")
    lookback = pipeline.window.lookback
    detect = next((s for s in pipeline.frame_steps if isinstance(s, DetectGaps)), None)
    return TrainingData(
        pipeline=pipeline,
        frame=prepared.frame,
        origins={p: prepared.windows(p).starts + lookback for p in ("train", "val", "test")},
        grid_ts=np.asarray(grid.timestamps, dtype=np.int64),
        real=real,
        observed=np.asarray(observed_by_target.any(axis=0), dtype=bool),
        split=(int(split[0]), int(split[1])),
        freq_ns=int(freq),
        max_fill=int(detect.max_fill_points_) if detect is not None else 0,
        channels=list(frame.channels),
        targets=list(prepared.targets),
        covariates=covariates,
        pipeline_config=[s.model_dump(mode="json") for s in pipeline.to_config()],
        gap_summary=summary,
        large_gaps=list(zip(report.start[large].tolist(), report.end[large].tolist(), strict=True)),
        glitches=glitches,
        future_covariates=future,
    )


def run_gap_summary(report: GapReport) -> GapSummary:
    """The run's gap totals. A channel's steps before its first reading (a humidity sensor
    installed a week after the meter) are no gap of it, as the dataset's own view counts them
    (:mod:`~gapcast.processing.dataset_gaps`): counted, a run on a dataset the page showed
    without gaps reported one large gap and its observed share fell by that week."""
    later = report.start_index > 0
    lengths, large = report.length[later], report.is_large[later]
    missing = int(lengths.sum())
    total = report.n_points * len(report.channels) - int(report.length[~later].sum())
    return GapSummary(
        gaps=int(lengths.size),
        small=int(np.count_nonzero(~large)),
        large=int(np.count_nonzero(large)),
        missing_points=missing,
        observed_fraction=1.0 - missing / total if total > 0 else 1.0,
        largest=int(lengths.max()) if lengths.size else 0,
    )
