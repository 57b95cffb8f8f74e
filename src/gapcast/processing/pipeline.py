"""ProcessingPipeline: run the steps, keep what was learned, and undo it for model outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapcast.errors import InvalidInput
from gapcast.processing.base import FrameStep, Step, ValueStep
from gapcast.processing.config import StepConfig
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.gaps import DetectGaps, GapReport, detect_gaps
from gapcast.processing.resample import Resample
from gapcast.processing.split import Split
from gapcast.processing.windows import WINDOW_DTYPE, Window, WindowSet, WindowSplits


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
class RecentInputs:
    """Model inputs for a forecast from the end of some new data."""

    X: NDArray[np.float32]  # (1, lookback, n_inputs)
    input_timestamps: NDArray[np.int64]  # (lookback,)
    target_timestamps: NDArray[np.int64]  # (horizon,) the moments the forecast is for


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
    ) -> None:
        if not steps or not isinstance(steps[-1], Window):
            raise InvalidInput("the preprocessing has no window step", field="preprocessing")
        self.steps = list(steps)
        self.targets = None if targets is None else tuple(targets)
        self.covariates = tuple(covariates)
        self.window: Window = steps[-1]
        self.frame_steps: list[FrameStep] = [s for s in steps if isinstance(s, FrameStep)]
        self.value_steps: list[ValueStep] = [s for s in steps if isinstance(s, ValueStep)]

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
        for name in self.covariates:
            if name not in frame.channels:
                raise InvalidInput(
                    f"unknown covariate channel {name!r}; the data has {list(frame.channels)}",
                    field="covariates",
                )
        inputs = tuple(dict.fromkeys((*targets, *self.covariates)))
        return inputs, tuple(targets)

    def fit_transform(self, frame: SeriesFrame) -> PreparedData:
        """Fit every step on ``frame`` (trend and scale on its training part) and prepare it."""
        inputs, targets = self._inputs(frame)
        self.window.targets = targets
        return self._run(frame.select(inputs), fit=True)

    def fit(self, frame: SeriesFrame) -> ProcessingPipeline:
        self.fit_transform(frame)
        return self

    def transform(self, frame: SeriesFrame) -> PreparedData:
        """Prepare other data of the same series with the fitted parameters."""
        self._require_fitted()
        return self._run(frame.select(self.window.inputs_), fit=False)

    def _run(self, frame: SeriesFrame, *, fit: bool) -> PreparedData:
        raw_frame = frame
        report: GapReport | None = None
        for step in self.frame_steps:
            frame = step.fit_transform(frame) if fit else step.transform(frame)
            if isinstance(step, Resample):
                raw_frame = frame
            elif isinstance(step, DetectGaps):
                report = step.report_ if fit else step.report(frame)
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
        )

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise InvalidInput("the processing pipeline is not fitted; call fit_transform first")

    # -- from model outputs back to data ----------------------------------------------------------

    def inverse_targets(
        self, y_scaled: ArrayLike, target_timestamps: ArrayLike
    ) -> NDArray[np.float64]:
        """Scaled model outputs (n, horizon, n_targets) → real units, undoing scale then trend.

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
        return y[..., 0] if squeeze else y

    def recent_inputs(self, frame: SeriesFrame) -> RecentInputs:
        """Prepare new raw data with the fitted parameters and take its last ``lookback`` points."""
        self._require_fitted()
        frame = frame.select(self.window.inputs_)
        for step in self.frame_steps:
            if not isinstance(step, Split):
                frame = step.transform(frame)
        lookback = self.window.lookback
        if frame.n_points < lookback:
            raise InvalidInput(
                f"a forecast needs the last {lookback} grid points; the data covers "
                f"{frame.n_points}",
                field="data",
            )
        tail = frame.values[:, -lookback:]
        if bool(np.isnan(tail).any()):
            missing = int(np.isnan(tail).any(axis=0).sum())
            raise InvalidInput(
                f"the last {lookback} grid points have {missing} missing point(s) in a gap too "
                "long to fill; a forecast needs them all",
                field="data",
            )
        freq = frame.freq_ns
        assert freq is not None  # the resample step always sets it
        last = int(frame.timestamps[-1])
        return RecentInputs(
            X=np.ascontiguousarray(tail.T, dtype=WINDOW_DTYPE)[np.newaxis],
            input_timestamps=np.array(frame.timestamps[-lookback:]),
            target_timestamps=last + freq * np.arange(1, self.window.horizon + 1, dtype=np.int64),
        )

    def transform_recent(self, frame: SeriesFrame) -> NDArray[np.float32]:
        """(1, lookback, n_inputs) model input for a forecast right after the end of ``frame``."""
        return self.recent_inputs(frame).X

    # -- configuration --------------------------------------------------------------------------

    def to_config(self) -> list[StepConfig]:
        """The step configs, with learned parameters in ``fitted`` once fitted."""
        return [step.to_config() for step in self.steps]

    @classmethod
    def from_config(
        cls,
        steps: Sequence[StepConfig | Mapping[str, Any]],
        targets: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
    ) -> ProcessingPipeline:
        """A pipeline from step configs; fitted configs give a fitted pipeline."""
        from gapcast.processing.builder import ProcessingBuilder

        return ProcessingBuilder.from_config(steps, targets=targets, covariates=covariates).build()

    def __repr__(self) -> str:
        names = ", ".join(step.name for step in self.steps)
        return f"ProcessingPipeline([{names}], targets={self.targets}, fitted={self.is_fitted})"
