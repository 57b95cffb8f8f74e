"""Forecaster: a Keras model plus what turns its output into real values, and how it is trained.

The ``.keras`` file holds built-in layers only (it loads in plain Keras with ``safe_mode=True``);
what surrounds it is plain numpy kept with the stored pipeline: the window-relative scaling
(:mod:`gapcast.processing.window_inputs`) and, when ``correction`` is on, the seasonal-naive
reference the model's output corrects. Training, the backtest and ``predict`` all call
:meth:`Forecaster.forecast`, so what is scored is what a user gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.model_training.intervals import RECENT_ORIGINS, Intervals
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.outage_draws import draw_outages
from gapcast.model_training.window_store import WindowStore
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.pipeline import ProcessingPipeline
from gapcast.processing.window_inputs import ModelBatch

F64 = NDArray[np.float64]
PREDICT_BATCH = 256
CHUNK_BATCHES = 16  # training batches gathered per call (see window_dataset)
RESIDUAL_CHUNK = 2_048


@dataclass
class Forecaster:
    """``model`` maps inputs (n, lookback + horizon, features) to (n, horizon, targets) in window-
    relative units; that output is added to ``correction`` times the seasonal-naive reference (1:
    the model corrects the reference, 0: it forecasts the level, 0.5: the average of one of each,
    see :func:`~gapcast.model_training.candidates.combine`). ``intervals`` (when calibrated) turn
    the point forecast into quantiles."""

    model: Any
    pipeline: ProcessingPipeline
    correction: float
    intervals: Intervals | None = None

    def relative(self, batch: ModelBatch) -> F64:
        from gapcast.model_training.general_model import predict

        out = np.asarray(predict(self.model, batch.x, PREDICT_BATCH), dtype=np.float64)
        return out + float(self.correction) * batch.reference if self.correction else out

    def forecast(self, batch: ModelBatch) -> F64:
        """(n, horizon, targets) forecasts in real units."""
        prepared = batch.to_real(self.relative(batch))
        return self.pipeline.inverse_targets(prepared, batch.target_ts)

    def forecast_at(self, frame: SeriesFrame, origins: NDArray[np.int64]) -> F64:
        """Forecasts from ``origins`` of a prepared grid (its values before each origin only)."""
        return self.forecast(self.pipeline.model_batch(frame, origins))

    def forecast_with_quantiles(
        self, batch: ModelBatch, recent: F64 | None = None
    ) -> tuple[F64, F64 | None]:
        """(point (n, horizon, targets), quantiles (q, n, horizon, targets) or None), real units;
        ``recent``: the (n, targets) factors of :meth:`recent_factors` (none: static widths)."""
        relative = self.relative(batch)
        point = self.pipeline.inverse_targets(batch.to_real(relative), batch.target_ts)
        if self.intervals is None:
            return point, None
        bands = self.intervals.relative(relative, batch.observed_fraction, recent, batch.target_ts)
        quantiles = np.stack(
            [self.pipeline.inverse_targets(batch.to_real(b), batch.target_ts) for b in bands]
        )
        # Read off the values the target takes (whole numbers, half degrees); the point
        # forecast, an estimate of a level, is left as it is.
        return point, self.pipeline.on_value_grid(quantiles)

    @property
    def context_steps(self) -> int:
        """Grid steps of history before the lookback that :meth:`recent_factors` reads."""
        if self.intervals is None:
            return 0
        return self.intervals.recent_steps(self.pipeline.layout.horizon)

    def recent_samples(self, origin: int) -> NDArray[np.int64]:
        """Origins before a forecast from grid position ``origin`` whose whole horizon lies
        before it, and whose lookback lies in the grid: where the intervals' recent coverage is
        measured (up to RECENT_ORIGINS, evenly spread over ``context_steps``)."""
        layout = self.pipeline.layout
        hi = origin - layout.horizon
        lo = max(layout.lookback, hi - self.context_steps)
        if not self.context_steps or hi < lo:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.linspace(lo, hi, RECENT_ORIGINS).round().astype(np.int64))

    def recent_factors(self, frames: Sequence[SeriesFrame], origins: Sequence[int]) -> F64 | None:
        """(n, targets) interval factors of forecasts from ``origins[i]`` of prepared
        ``frames[i]``, from the model's error at the :meth:`recent_samples` before each (see
        :class:`~gapcast.model_training.intervals.Intervals`); None without intervals. The model
        runs on the samples of many forecasts at once, at most RESIDUAL_CHUNK windows per call
        (a backtest of minute data has thousands of origins, each with up to RECENT_ORIGINS
        samples of a long lookback: all at once would take gigabytes)."""
        if self.intervals is None:
            return None
        out = np.ones((len(origins), self.pipeline.layout.n_targets))
        samples = [self.recent_samples(int(o)) for o in origins]
        per_call = max(1, RESIDUAL_CHUNK // RECENT_ORIGINS)
        for first in range(0, len(samples), per_call):
            group = range(first, min(first + per_call, len(samples)))
            parts = [
                self.pipeline.model_batch(frames[i], samples[i], with_targets=True)
                for i in group
                if len(samples[i])
            ]
            if not parts:
                continue
            batch = concat_batches(parts)
            assert batch.y is not None and batch.weight is not None
            error = batch.y.astype(np.float64) - self.relative(batch)
            error = np.where(batch.weight[..., None] > 0, error, np.nan)
            pos = 0
            for i in group:
                if len(samples[i]):
                    # Each sample's error in its own window's units, as the calibration's are.
                    part = slice(pos, pos + len(samples[i]))
                    out[i] = self.intervals.recent_factor(
                        error[part], batch.observed_fraction[part], batch.target_ts[part]
                    )
                    pos += len(samples[i])
        return out

    def residuals(
        self, frame: SeriesFrame, origins: NDArray[np.int64]
    ) -> tuple[F64, F64, NDArray[np.int64]]:
        """(relative residuals (n, horizon, targets), NaN where the truth was not observed;
        observed fraction (n,) of each lookback; the forecast steps' times (n, horizon)) at
        ``origins`` of a prepared grid, in chunks so memory stays bounded."""
        out, fractions, times = [], [], []
        for part in np.array_split(origins, max(1, -(-len(origins) // RESIDUAL_CHUNK))):
            batch = self.pipeline.model_batch(frame, part, with_targets=True)
            assert batch.y is not None and batch.weight is not None
            error = batch.y.astype(np.float64) - self.relative(batch)
            out.append(np.where(batch.weight[..., None] > 0, error, np.nan))
            fractions.append(batch.observed_fraction)
            times.append(batch.target_ts)
        return np.concatenate(out), np.concatenate(fractions), np.concatenate(times)


def training_target(batch: ModelBatch, correction: bool) -> NDArray[np.float32]:
    """What the model learns: the relative targets, minus the reference when correcting it."""
    assert batch.y is not None
    y = batch.y - batch.reference if correction else batch.y
    return np.ascontiguousarray(y, dtype=np.float32)


def window_dataset(
    pipeline: ProcessingPipeline,
    frame: SeriesFrame,
    origins: NDArray[np.int64],
    *,
    batch_size: int,
    correction: bool,
    shuffle: bool,
    seed: int,
    max_windows: int | None = None,
    store: WindowStore | None = None,
    outages: float = 0.0,
    outage_lengths: NDArray[np.int64] | None = None,
) -> Any:
    """A ``keras.utils.PyDataset`` gathering each batch's windows from the grid on demand, or
    reading them from ``store`` when it holds them all (:mod:`~.window_store`).

    Windows are never materialised all at once otherwise (a long minute series has more windows
    than memory); every batch has the same shape — the last one is topped up with zero-weight
    repeats — so JAX compiles the train step once. With ``max_windows``, each epoch trains on
    that many windows drawn at random (all of them are seen over the epochs). With ``outages``,
    about that share of the windows of each batch read an outage drawn onto their lookback
    (:mod:`~.outage_draws`; targets unchanged), built afresh whether or not a store holds them.
    """
    base: type = import_keras().utils.PyDataset
    rng = np.random.default_rng(seed)
    # Its own stream, so drawing outages leaves the epochs' draws as they were without them.
    outage_rng = np.random.default_rng([seed, 1])
    lengths = np.zeros(0, np.int64) if outage_lengths is None else outage_lengths
    all_origins = np.asarray(origins, dtype=np.int64)
    if store is not None and not store.holds(all_origins):
        store = None
    calendar = pipeline.layout.calendar_columns

    class WindowDataset(base):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.epoch_origins = self._draw()
            # The windows of CHUNK_BATCHES batches in a row are gathered in one call: building
            # a batch is many small numpy operations, and for a small model doing them per
            # batch cost as much as the train step itself (bench/train_overhead.py). Windows
            # are built one by one, so the batches are the same as built singly.
            self._chunk: tuple[NDArray[np.int64], int, tuple[Any, Any, Any]] | None = None

        def _draw(self) -> NDArray[np.int64]:
            chosen = all_origins
            if max_windows is not None and chosen.size > max_windows:
                chosen = np.sort(rng.choice(chosen, size=max_windows, replace=False))
            return rng.permutation(chosen) if shuffle else chosen

        @property
        def num_batches(self) -> int:
            return max(1, -(-self.epoch_origins.size // batch_size))

        def __getitem__(self, index: int) -> tuple[Any, Any, Any]:
            origins, first = self.epoch_origins, index - index % CHUNK_BATCHES
            chunk = self._chunk
            if chunk is None or chunk[0] is not origins or chunk[1] != first:
                last = min(first + CHUNK_BATCHES, self.num_batches)
                chunk = self._chunk = (origins, first, self._gather(origins, first, last))
            at = (index - first) * batch_size
            x, y, weight = chunk[2]
            return x[at : at + batch_size], y[at : at + batch_size], weight[at : at + batch_size]

        def _gather(
            self, origins: NDArray[np.int64], first: int, last: int
        ) -> tuple[Any, Any, Any]:
            """Batches ``first`` to ``last - 1`` of an epoch drawing ``origins``, end to end;
            the epoch's last batch topped up with zero-weight repeats."""
            part = origins[first * batch_size : last * batch_size]
            pad = (last - first) * batch_size - part.size if origins.size >= batch_size else 0
            if pad:
                part = np.concatenate([part, origins[:pad]])
            rows, hide = draw_outages(outage_rng, part.size, pipeline.lookback, outages, lengths)
            if store is not None:
                x, y, weight = store.take(part, correction)
                if rows.size:  # the stored windows have no outage drawn: build those afresh
                    drawn = pipeline.model_batch(
                        frame, part[rows], with_targets=True, hide=hide, calendar=False
                    )
                    assert drawn.weight is not None
                    # An outage hides readings, not time: the stored calendar is the window's.
                    drawn.x[:, :, calendar] = x[rows, :, calendar]
                    x[rows], y[rows] = drawn.x, training_target(drawn, correction)
                    weight[rows] = drawn.weight
            else:
                every = None
                if rows.size:
                    every = np.zeros((part.size, pipeline.lookback), dtype=bool)
                    every[rows] = hide
                batch = pipeline.model_batch(frame, part, with_targets=True, hide=every)
                assert batch.weight is not None
                x, y, weight = batch.x, training_target(batch, correction), batch.weight.copy()
            if pad:
                weight[-pad:] = 0.0
            return x, y, weight

        def continue_next_fit(self) -> None:
            """Make the next ``fit`` go on with the epochs one fit would have drawn: Keras calls
            ``on_epoch_end`` once more as a fit starts (resetting its iterator), which for a
            fit continuing another would skip an epoch's draw of a single fit."""
            self.skip_draw = True

        def on_epoch_end(self) -> None:
            if getattr(self, "skip_draw", False):
                self.skip_draw = False
                return
            self.epoch_origins = self._draw()

    return WindowDataset()


def fit_model(
    model: Any,
    train: Any,
    validation: Any | None,
    *,
    epochs: int,
    callbacks: Sequence[Any] = (),
    initial_epoch: int = 0,
) -> dict[str, list[float]]:
    """``model.fit`` on window datasets (epochs ``initial_epoch`` to ``epochs``); the history of
    each logged figure. The batches are asked for in order: the dataset already draws each
    epoch's windows in a random order, and gathers a run of batches at once
    (:func:`window_dataset`), which Keras's own shuffling of batch indices would defeat."""
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=list(callbacks),
        shuffle=False,
        verbose=0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def history_batch(
    forecaster: Forecaster, raw: SeriesFrame, starts_ns: NDArray[np.int64]
) -> tuple[ModelBatch, F64 | None] | None:
    """Inputs of forecasts from each of ``starts_ns``, each prepared from the raw rows before it
    exactly as ``predict`` prepares a user's history, and their recent-error interval factors
    (:meth:`Forecaster.recent_factors`), without ``predict``'s ``min_observed`` refusal (the
    batch's ``observed_fraction`` says where it would refuse)."""
    pipeline = forecaster.pipeline
    batches, frames, origins = [], [], []
    for start in np.asarray(starts_ns, dtype=np.int64):
        history = pipeline.history(raw, int(start), check=False, context=forecaster.context_steps)
        batches.append(pipeline.model_batch(history.frame, np.array([history.origin])))
        frames.append(history.frame)
        origins.append(history.origin)
    if not batches:
        return None
    return concat_batches(batches), forecaster.recent_factors(frames, origins)


def concat_batches(batches: Sequence[ModelBatch]) -> ModelBatch:
    """One batch of the windows of several (with their targets when all have them)."""

    def joined(name: str) -> Any:
        values = [getattr(b, name) for b in batches]
        return None if any(v is None for v in values) else np.concatenate(values)

    return ModelBatch(
        x=np.concatenate([b.x for b in batches]),
        level=np.concatenate([b.level for b in batches]),
        spread=np.concatenate([b.spread for b in batches]),
        reference=np.concatenate([b.reference for b in batches]),
        observed_fraction=np.concatenate([b.observed_fraction for b in batches]),
        target_ts=np.concatenate([b.target_ts for b in batches]),
        y=joined("y"),
        weight=joined("weight"),
    )
