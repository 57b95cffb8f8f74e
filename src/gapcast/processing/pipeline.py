"""ProcessingPipeline: run the steps, keep what was learned, and undo it for model outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapcast.errors import InvalidInput
from gapcast.processing._time import calendar_period, format_duration, infer_frequency
from gapcast.processing.base import FrameStep, Step, ValueStep
from gapcast.processing.calendar import Calendar
from gapcast.processing.config import StepConfig
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.gaps import DetectGaps, GapReport, detect_gaps
from gapcast.processing.outliers import MaskOutliers
from gapcast.processing.resample import Resample, grid_source
from gapcast.processing.split import Split
from gapcast.processing.value_grid import on_grid
from gapcast.processing.window_inputs import Layout, ModelBatch, build_batch
from gapcast.processing.windows import Window, WindowSet, WindowSplits


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Everything a model run needs from preparation.

    ``frame`` is the prepared grid (filled, detrended, scaled; large gaps NaN; split set) and
    ``raw_frame`` the same grid right after resampling, in real units, before any fill.
    Channels of both are ``inputs``: the targets first, then the covariates.
    """

    frame: SeriesFrame
    raw_frame: SeriesFrame
    gap_report: GapReport
    train: WindowSet
    val: WindowSet
    test: WindowSet
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    cache_hit: bool = False
    # (C, T): readings the mask_outliers step masked as glitches (None: none were), which
    # ``raw_frame`` still holds as recorded.
    outliers: NDArray[np.bool_] | None = None

    @property
    def lookback(self) -> int:
        return self.train.lookback

    @property
    def horizon(self) -> int:
        return self.train.horizon

    @property
    def freq_ns(self) -> int | None:
        return self.frame.freq_ns

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def n_targets(self) -> int:
        return len(self.targets)

    def windows(self, part: str) -> WindowSet:
        return {"train": self.train, "val": self.val, "test": self.test}[part]


@dataclass(frozen=True, eq=False)
class History:
    """Recent raw data prepared for one forecast: the prepared grid and the forecast's origin
    (grid index of its first step, possibly past the grid's end when data stopped arriving)."""

    frame: SeriesFrame
    origin: int
    start_ns: int


# Grid steps read before the lookback when preparing a history (fill steps look at neighbours).
MAX_FILL_MARGIN = 64


def _iso(ns: int) -> str:
    return str(np.datetime64(ns, "ns").astype("datetime64[s]")) + "Z"


class ProcessingPipeline:
    """Steps in their fixed order, the last one a ``Window``. Build it with ``ProcessingBuilder``.

    ``targets`` None means the first channel of the data; inputs are the targets followed by the
    covariates, and every other channel of the data is ignored.
    """

    def __init__(
        self,
        steps: Sequence[Step],
        targets: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        future_covariates: Sequence[str] = (),
    ) -> None:
        if not steps or not isinstance(steps[-1], Window):
            raise InvalidInput("the preprocessing has no window step", field="preprocessing")
        self.steps = list(steps)
        self.targets = None if targets is None else tuple(targets)
        self.covariates = tuple(covariates)
        self.future_covariates = tuple(future_covariates)
        self.window: Window = steps[-1]
        self.frame_steps: list[FrameStep] = [s for s in steps if isinstance(s, FrameStep)]
        self.value_steps: list[ValueStep] = [s for s in steps if isinstance(s, ValueStep)]
        self.window.real_units = not self.value_steps

    # -- fitting and transforming -----------------------------------------------------------------

    @property
    def is_fitted(self) -> bool:
        return all(step.is_fitted for step in self.steps)

    @property
    def lookback(self) -> int:
        return self.window.lookback

    @property
    def horizon(self) -> int:
        return self.window.horizon

    def _inputs(self, frame: SeriesFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
        targets = self.targets if self.targets is not None else frame.channels[:1]
        for name in targets:
            if name not in frame.channels:
                raise InvalidInput(
                    f"unknown target channel {name!r}; the data has {list(frame.channels)}",
                    field="target",
                )
        for field, names in (
            ("covariates", self.covariates),
            ("future_covariates", self.future_covariates),
        ):
            for name in names:
                if name not in frame.channels:
                    raise InvalidInput(
                        f"unknown covariate channel {name!r} in {field}; the data has "
                        f"{list(frame.channels)}",
                        field=field,
                    )
        inputs = tuple(dict.fromkeys((*targets, *self.covariates, *self.future_covariates)))
        return inputs, tuple(targets)

    def fit_transform(self, frame: SeriesFrame) -> PreparedData:
        """Fit every step on ``frame`` (trend and scale on its training part) and prepare it."""
        inputs, targets = self._inputs(frame)
        self.window.targets = targets
        self.window.future = self.future_covariates
        return self._run(frame.select(inputs).from_first_reading(targets), fit=True)

    def fit(self, frame: SeriesFrame) -> ProcessingPipeline:
        self.fit_transform(frame)
        return self

    def transform(self, frame: SeriesFrame) -> PreparedData:
        """Prepare other data of the same series with the fitted parameters."""
        self._require_fitted()
        inputs = frame.select(self.window.inputs_)
        return self._run(inputs.from_first_reading(self.window.targets_), fit=False)

    def _run(self, frame: SeriesFrame, *, fit: bool) -> PreparedData:
        raw_frame = frame
        report: GapReport | None = None
        outliers: NDArray[np.bool_] | None = None
        for step in self.frame_steps:
            before = frame
            if fit and isinstance(step, Resample):
                targets = self.window.targets or ()
                # The grid follows the targets' own step where they keep a coarser one.
                source = grid_source(frame, targets) if step.freq is None else frame
                step.fit(source).hold_slow_channels(frame, skip=targets)
                frame = step.transform(frame)
                if source is not before:
                    frame = _until_last_reading(frame, before, source, targets)
            else:
                frame = step.fit_transform(frame) if fit else step.transform(frame)
            if isinstance(step, Resample):
                raw_frame = frame
            elif isinstance(step, DetectGaps):
                report = step.report_ if fit else step.report(frame)
            elif isinstance(step, MaskOutliers) and frame is not before:
                outliers = before.mask & ~frame.mask
        if report is None:
            # Without a detect_gaps step nothing is filled: every gap counts as large.
            report = detect_gaps(raw_frame, 0)
        windows: WindowSplits = (
            self.window.fit(frame).transform(frame) if fit else self.window.transform(frame)
        )
        return PreparedData(
            frame=frame,
            raw_frame=raw_frame,
            gap_report=report,
            train=windows.train,
            val=windows.val,
            test=windows.test,
            inputs=self.window.inputs_,
            targets=self.window.targets_,
            outliers=outliers,
        )

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise InvalidInput("the processing pipeline is not fitted; call fit_transform first")

    # -- from model outputs back to data ----------------------------------------------------------

    def inverse_targets(
        self, y_scaled: ArrayLike, target_timestamps: ArrayLike
    ) -> NDArray[np.float64]:
        """Scaled model outputs (n, horizon, n_targets) → real units, undoing scale then trend;
        a target that never went below zero in the training part is not forecast below it.

        ``target_timestamps`` has shape (n, horizon) (``WindowSet.target_timestamps``); with one
        target, ``y_scaled`` may also be (n, horizon).
        """
        self._require_fitted()
        y = np.asarray(y_scaled, dtype=np.float64)
        ts = np.asarray(target_timestamps, dtype=np.int64)
        k = len(self.window.targets_)
        squeeze = k == 1 and y.shape == ts.shape
        if squeeze:
            y = y[..., np.newaxis]
        if y.shape[:-1] != ts.shape or y.shape[-1] != k:
            raise InvalidInput(
                f"expected outputs of shape {(*ts.shape, k)} for target timestamps of shape "
                f"{ts.shape}, received {np.shape(y_scaled)}"
            )
        index = [self.window.inputs_.index(name) for name in self.window.targets_]
        for step in reversed(self.value_steps):
            y = step.inverse_values(y, ts, index)
        y = self._floored(y)
        return y[..., 0] if squeeze else y

    def _floored(self, y: NDArray[np.float64]) -> NDArray[np.float64]:
        floored = np.asarray(self.window.nonnegative_, dtype=bool)
        return np.where(floored, np.maximum(y, 0.0), y) if floored.any() else y

    def on_value_grid(self, y: ArrayLike) -> NDArray[np.float64]:
        """Quantile forecasts (..., n_targets) in real units moved to the nearest value each
        target's data can take (whole numbers, half degrees: :mod:`~.value_grid`); a target whose
        data lie on no grid as it is."""
        self._require_fitted()
        out = np.array(y, dtype=np.float64)
        for j, grid in enumerate(self.window.value_grid_):
            if grid is not None:
                out[..., j] = on_grid(out[..., j], *grid)
        return self._floored(out)

    @property
    def layout(self) -> Layout:
        """How the fitted windows become model inputs (with the calendar step's cycles)."""
        self._require_fitted()
        calendar = next((s for s in self.frame_steps if isinstance(s, Calendar)), None)
        cycles = tuple(calendar.cycles_) if calendar is not None else ()
        return replace(self.window.layout, cycles=cycles)

    def model_batch(
        self,
        frame: SeriesFrame,
        origins: ArrayLike,
        *,
        with_targets: bool = False,
        hide: NDArray[np.bool_] | None = None,
        calendar: bool = True,
    ) -> ModelBatch:
        """Model inputs of the windows of a prepared ``frame`` starting at grid ``origins``
        (``hide``: lookback steps read as missing; ``calendar=False``: the calendar features
        left 0; :func:`~.window_inputs.build_batch`)."""
        freq = frame.freq_ns
        assert freq is not None  # the resample step always sets it
        start = int(frame.timestamps[0]) if frame.n_points else 0
        return build_batch(
            np.asarray(frame.values),
            np.asarray(frame.mask),
            start,
            freq,
            np.asarray(origins, dtype=np.int64),
            self.layout,
            with_targets=with_targets,
            hide=hide,
            calendar=calendar,
        )

    @property
    def held_channels(self) -> dict[str, int]:
        """The input channels read on a slower step than the grid's, and how many grid steps
        each reading is held for (:meth:`Resample.hold_slow_channels`)."""
        self._require_fitted()
        resample = self.frame_steps[0]
        return dict(resample.held_steps_) if isinstance(resample, Resample) else {}

    @property
    def step_change(self) -> tuple[int, int] | None:
        """``(the step before, the reading the grid's began after)`` when fitting read the data
        on the coarser step its last readings keep (:func:`~.resample.recent_step`), else
        None."""
        resample = self.frame_steps[0]
        return getattr(resample, "step_changed_", None) if isinstance(resample, Resample) else None

    def grid_labels(self, grid_ns: NDArray[np.int64]) -> NDArray[np.int64]:
        """Grid points as shown to people (:meth:`Resample.labels`)."""
        self._require_fitted()
        resample = self.frame_steps[0]
        assert isinstance(resample, Resample)
        return resample.labels(grid_ns)

    def history(
        self,
        frame: SeriesFrame,
        start_ns: int | None = None,
        *,
        check: bool = True,
        context: int = 0,
    ) -> History:
        """New raw data prepared for a forecast whose first step is at ``start_ns``.

        Only the rows before ``start_ns`` are read (default: the grid step after the last row,
        trailing rows without values included, so a forecast made during an outage starts at the
        requested time, not at the last observed point). Covariates known in advance are read
        for the forecast steps as well, and only they: rows that hold nothing but their values
        are the future, not the history (the default start comes before them), and a forecast
        with none of their values ahead is refused, naming them. Refused when fewer than
        ``min_observed`` of the lookback's steps were observed, unless ``check`` is off (the
        backtest, which forecasts every origin and counts the ones ``predict`` would refuse).
        ``context``: grid steps read before the lookback as well (where the forecaster measures
        how its intervals recently covered).
        """
        self._require_fitted()
        missing = [name for name in self.window.inputs_ if name not in frame.channels]
        if missing:
            targets = self.window.targets_
            covariates = [n for n in self.window.inputs_ if n not in targets]
            trained = f"targets {list(targets)}" + (
                f" and covariates {covariates}" if covariates else ""
            )
            raise InvalidInput(
                f"the model was trained on {trained}; a forecast needs their recent values, and "
                f"the data lacks {missing} (it has {list(frame.channels)})",
                field="data",
            )
        frame = frame.select(self.window.inputs_)
        if frame.n_points == 0:
            raise InvalidInput("a forecast needs some history; the data is empty", field="data")
        resample = self.frame_steps[0]
        assert isinstance(resample, Resample)
        freq = resample.freq_ns_
        future = [self.window.inputs_.index(name) for name in self.window.future_]
        past = [c for c in range(frame.n_channels) if c not in future]
        if start_ns is None:
            # Due next: the step after the last target reading, or later when rows came after
            # it (an outage still going on; a faster covariate's rows within the last step).
            history_rows: NDArray[np.bool_] = np.ones(frame.n_points, dtype=bool)
            if future:
                values = np.asarray(frame.values)
                ahead_only = np.isfinite(values[future]).any(axis=0)
                history_rows = np.asarray(
                    ~ahead_only | np.isfinite(values[past]).any(axis=0), dtype=bool
                )
                if not history_rows.any():
                    raise InvalidInput(
                        "a forecast needs some history; the data holds only values of the "
                        f"covariates known in advance {list(self.window.future_)}",
                        field="data",
                    )
            start_ns = resample.point_after(int(frame.timestamps[np.flatnonzero(history_rows)[-1]]))
            read = np.isfinite(np.asarray(frame.values)[: len(self.window.targets_)]).any(axis=0)
            if read.any():
                last_read = int(frame.timestamps[np.flatnonzero(read)[-1]])
                start_ns = max(start_ns, resample.grid_point(last_read) + freq)
        else:
            on_grid = resample.on_grid(start_ns)
            if on_grid is None:
                period = calendar_period(freq)
                # The grid points either side, so the fix is one copy away.
                before = resample.grid_point(start_ns)
                before = before if before <= start_ns else before - freq
                rule = (
                    f"be the first instant of a {period} (UTC): the model's grid is {period}ly"
                    if period
                    else f"lie on the model's {format_duration(freq)} grid (the nearest are "
                    f"{_iso(before)} and {_iso(before + freq)})"
                )
                raise InvalidInput(f"start must {rule}, received {_iso(start_ns)}", field="start")
            start_ns = on_grid
        lookback = self.window.lookback
        # The long season's reference reads a cycle back, before the lookback when it is longer.
        reach = max(lookback, self.window.long_season_ or 0)
        # Fill steps read a few neighbours: a margin past the lookback keeps the tail exact.
        first = start_ns - (reach + context + MAX_FILL_MARGIN) * freq
        ts = frame.timestamps
        # Rows binned into grid points before start_ns (bins can begin before their grid point).
        lo, hi = np.searchsorted(
            ts, [resample.bin_start(first), resample.bin_start(start_ns)], side="left"
        )
        if hi == 0:
            raise InvalidInput(
                f"a forecast from {_iso(start_ns)} needs history before it; the data starts at "
                f"{_iso(int(ts[0]))}",
                field="start",
            )
        k = len(self.window.targets_)
        rows = np.asarray(frame.values)
        known = np.isfinite(rows[:k, lo:hi]).any(axis=1)
        # A target with no known value in the whole read stretch (an outage longer than it):
        # the lookback's rows before it stopped are read too, and the forecast's window, all
        # missing for that target, takes its level from them (build_batch), as the naive
        # baseline carries the last value forward, instead of starting from nothing. With no
        # target known at all, refused below like any history short of min_observed (the
        # backtest still forecasts it).
        last_seen: list[int] = []
        read_from = lo
        for target in np.flatnonzero(~known):
            seen_before = np.flatnonzero(np.isfinite(rows[target, :read_from]))
            if seen_before.size:
                last_seen.append(int(ts[seen_before[-1]]))
                since = resample.bin_start(resample.grid_point(last_seen[-1]) - lookback * freq)
                lo = min(lo, int(np.searchsorted(ts, since, side="left")))
        if lo == hi:
            # Not a row in the stretch and nothing known before it: every step is missing.
            edges = np.array([first, start_ns - freq], dtype=np.int64)
            tail = SeriesFrame(
                timestamps=edges,
                values=np.full((frame.n_channels, 2), np.nan),
                channels=frame.channels,
                freq_ns=frame.freq_ns,
            )
        else:
            tail = frame.slice(int(lo), int(hi))
        if future:
            tail = self._with_future(tail, frame, int(hi), start_ns, past)
        for step in self.frame_steps:
            if not isinstance(step, Split):
                tail = step.transform(tail)
        origin = (start_ns - int(tail.timestamps[0])) // freq
        if check and future:
            self._check_future(tail, int(origin), future, start_ns)
        seen: NDArray[np.bool_] = np.any(tail.mask[: len(self.window.targets_)], axis=0)
        fraction = float(seen[max(origin - lookback, 0) : origin].sum()) / lookback
        if check and fraction < self.window.min_observed:
            observed = np.flatnonzero(seen[:origin])
            resume: int | None = None  # the grid step after the last observation
            if known.any() and observed.size and observed[-1] < origin - lookback:
                resume = int(tail.timestamps[observed[-1]]) + freq
                last = _iso(int(resample.labels(tail.timestamps[observed[-1:]])[0]))
                stopped = f" (the targets were last observed at {last})"
            elif known.any():
                stopped = _coarser(ts[read_from:hi], freq)
            elif last_seen:
                resume = resample.grid_point(max(last_seen)) + freq
                stopped = f" (the targets were last observed at {_iso(max(last_seen))})"
            else:
                stopped = " (the targets were never observed before it)"
            # An outage going on: the one forecast the data allows is from where it stopped.
            instead = (
                f"; to forecast from the last observations instead, start at "
                f"{_iso(int(resample.labels(np.array([resume], np.int64))[0]))}"
                if resume is not None and resume < start_ns
                else ""
            )
            raise InvalidInput(
                f"the {lookback} grid steps before {_iso(start_ns)} have {fraction:.0%} of their "
                f"points observed{stopped}; a forecast needs "
                f"min_observed={self.window.min_observed:g} "
                f"({int(np.ceil(self.window.min_observed * lookback))} steps){instead}",
                field="data",
            )
        return History(frame=tail, origin=int(origin), start_ns=int(start_ns))

    def _with_future(
        self, tail: SeriesFrame, frame: SeriesFrame, hi: int, start_ns: int, past: list[int]
    ) -> SeriesFrame:
        """``tail`` followed by the rows of the forecast steps with only the values of the
        covariates known in advance: a target's future value in the data (the backtest's
        history is the whole series) is never read."""
        resample = self.frame_steps[0]
        assert isinstance(resample, Resample)
        end = resample.bin_start(start_ns + self.window.horizon * resample.freq_ns_)
        stop = int(np.searchsorted(frame.timestamps, end, side="left"))
        if stop <= hi:
            return tail
        ahead = frame.slice(hi, stop)
        values = np.array(ahead.values, dtype=np.float64)
        observed = np.array(ahead.mask, dtype=bool)
        values[past] = np.nan
        observed[past] = False
        return SeriesFrame(
            timestamps=np.concatenate([tail.timestamps, ahead.timestamps]),
            values=np.concatenate([np.asarray(tail.values), values], axis=1),
            channels=tail.channels,
            freq_ns=tail.freq_ns,
            observed=np.concatenate([np.asarray(tail.mask), observed], axis=1),
        )

    def _check_future(
        self, tail: SeriesFrame, origin: int, future: list[int], start_ns: int
    ) -> None:
        """Refuse a forecast whose steps hold no value of a covariate known in advance: the
        model would read it as missing all along, and the user most likely forgot to pass it."""
        horizon = self.window.horizon
        ahead = np.asarray(tail.mask)[future, origin : origin + horizon]
        resample = self.frame_steps[0]
        assert isinstance(resample, Resample)
        for c, seen in zip(future, ahead, strict=True):
            if not seen.any():
                last = _iso(start_ns + (horizon - 1) * resample.freq_ns_)
                raise InvalidInput(
                    f"the model reads covariate {self.window.inputs_[c]!r} (known in advance) at "
                    f"the forecast steps, and the data holds no value of it from "
                    f"{_iso(start_ns)} to {last}: pass rows for those steps with its values "
                    "(the targets left empty)",
                    field="data",
                )

    # -- configuration --------------------------------------------------------------------------

    def with_long_season(self, steps: int) -> ProcessingPipeline:
        """This fitted pipeline with windows that also read each target ``steps`` before each
        forecast step (:meth:`Window.with_long_season`); the other steps are shared."""
        return ProcessingPipeline(
            [*self.steps[:-1], self.window.with_long_season(steps)],
            targets=self.targets,
            covariates=self.covariates,
            future_covariates=self.future_covariates,
        )

    def to_config(self) -> list[StepConfig]:
        """The step configs, with learned parameters in ``fitted`` once fitted."""
        return [step.to_config() for step in self.steps]

    @classmethod
    def from_config(
        cls,
        steps: Sequence[StepConfig | Mapping[str, Any]],
        targets: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        future_covariates: Sequence[str] = (),
    ) -> ProcessingPipeline:
        """A pipeline from step configs; fitted configs give a fitted pipeline."""
        from gapcast.processing.builder import ProcessingBuilder

        builder = ProcessingBuilder.from_config(
            steps, targets=targets, covariates=covariates, future_covariates=future_covariates
        )
        return builder.build()

    def __repr__(self) -> str:
        names = ", ".join(step.name for step in self.steps)
        return f"ProcessingPipeline([{names}], targets={self.targets}, fitted={self.is_fitted})"


def _coarser(timestamps: NDArray[np.int64], freq: int) -> str:
    """' (its rows are 1D apart; the model's grid step is 1h)' when history rows are at least
    twice as far apart as the model's grid, which is why most of its steps are empty; else ''."""
    if len(timestamps) < 3:
        return ""
    try:
        step = infer_frequency(timestamps)
    except InvalidInput:  # one distinct time, repeated: no spacing to speak of
        return ""
    if step < 2 * freq:
        return ""
    return (
        f" (its rows are {format_duration(step)} apart; the model's grid step is "
        f"{format_duration(freq)})"
    )


def _until_last_reading(
    grid: SeriesFrame, rows: SeriesFrame, source: SeriesFrame, targets: Sequence[str]
) -> SeriesFrame:
    """``grid`` (a target's own step) without its trailing steps after the one holding the
    target's last reading, when the faster rows after that reading span less than one step:
    the next reading is not due yet, and is neither a gap nor a step to train on."""
    if grid.freq_ns is None or rows.timestamps[-1] - source.timestamps[-1] >= grid.freq_ns:
        return grid
    seen = np.flatnonzero(np.asarray(grid.select(targets).mask).any(axis=0))
    return grid.slice(0, int(seen[-1]) + 1) if seen.size else grid
