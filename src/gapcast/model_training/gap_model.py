"""Data, training and evaluation of the gap classifier.

For a window ending at grid index t, the classifier sees, for each future step t+h of the horizon,
calendar features of that step (hour of day, weekday and month as sin/cos) and the fraction of the
lookback that was really observed; it predicts the probability that the step has no data. Samples
are split chronologically like the forecaster's windows (by the index of their first future step)
and scored on the test part against the hour-of-week gap rate of the training part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gapcast.model_training import evaluation

HOUR_NS = 3_600 * 10**9
DAY_NS = 24 * HOUR_NS
N_FEATURES = 7
MAX_TRAIN_SAMPLES = 20_000


def calendar_features(timestamps_ns: np.ndarray) -> np.ndarray:
    """(..., 6) float32: hour of day, weekday and month, each as sin/cos (continuous cycles)."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    hour = (ts % DAY_NS) / HOUR_NS
    weekday = ((ts // DAY_NS) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month = ts.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64) % 12
    angles = (2 * np.pi * hour / 24, 2 * np.pi * weekday / 7, 2 * np.pi * month / 12)
    parts = [f(a) for a in angles for f in (np.sin, np.cos)]
    return np.stack(parts, axis=-1).astype(np.float32)


def step_features(target_ts: np.ndarray, recent_observed: np.ndarray) -> np.ndarray:
    """(n, horizon, 7) inputs from target timestamps (n, horizon) and observed fractions (n,)."""
    cal = calendar_features(target_ts)
    recent = np.broadcast_to(
        np.asarray(recent_observed, np.float32)[:, None, None], (*target_ts.shape, 1)
    )
    return np.concatenate([cal, recent], axis=-1)


def hour_of_week(timestamps_ns: np.ndarray) -> np.ndarray:
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    return (((ts // DAY_NS) + 3) % 7) * 24 + (ts % DAY_NS) // HOUR_NS


@dataclass
class GapSamples:
    x: np.ndarray  # (n, horizon, 7) float32
    y: np.ndarray  # (n, horizon) float32: 1 where no data was observed
    target_ts: np.ndarray  # (n, horizon) int64
    start: np.ndarray  # (n,) grid index of the first future step


def gap_samples(
    timestamps: np.ndarray, observed: np.ndarray, lookback: int, horizon: int, stride: int = 1
) -> GapSamples:
    """Every ``stride``-th window position of the grid as classifier samples (vectorised views)."""
    n_pos = len(timestamps) - lookback - horizon + 1
    if n_pos <= 0:
        empty = np.zeros((0, horizon), np.float32)
        return GapSamples(
            np.zeros((0, horizon, N_FEATURES), np.float32),
            empty,
            np.zeros((0, horizon), np.int64),
            np.zeros(0, np.int64),
        )
    start = np.arange(lookback, lookback + n_pos, stride, dtype=np.int64)
    csum = np.concatenate([[0], np.cumsum(observed, dtype=np.int64)])
    recent = (csum[start] - csum[start - lookback]) / lookback
    ts_windows = sliding_window_view(np.asarray(timestamps, np.int64), horizon)[start]
    missing = sliding_window_view(~np.asarray(observed, bool), horizon)[start]
    return GapSamples(
        step_features(ts_windows, recent), missing.astype(np.float32), ts_windows, start
    )


def hour_of_week_rates(timestamps: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """(168,) gap rate per hour of week on the given points; the overall rate where none fall."""
    how = hour_of_week(timestamps)
    counts = np.bincount(how, minlength=168).astype(np.float64)
    gaps = np.bincount(how, weights=missing.astype(np.float64), minlength=168)
    overall = float(missing.mean()) if missing.size else 0.0
    rates: np.ndarray = np.divide(gaps, counts, out=np.full(168, overall), where=counts > 0)
    return rates


@dataclass
class GapTrainingResult:
    model: Any  # keras.Model
    metrics: dict[str, Any]
    history: dict[str, list[float]]


def train_gap_classifier(
    timestamps: np.ndarray,
    observed: np.ndarray,
    split: tuple[int, int],
    *,
    lookback: int,
    horizon: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    patience: int,
    callbacks: list[Any],
) -> GapTrainingResult:
    """Train and evaluate the classifier on one grid (``observed``: any target measured)."""
    from gapcast.model_training.algorithm_implementation.gap_classifier import GapClassifier
    from gapcast.model_training.callbacks import make_early_stopping
    from gapcast.model_training.general_model import GeneralModel

    val_start, test_start = split
    n_pos = max(len(timestamps) - lookback - horizon + 1, 1)
    stride = max(1, -(-n_pos // MAX_TRAIN_SAMPLES))
    samples = gap_samples(timestamps, observed, lookback, horizon, stride)
    end = samples.start + horizon
    train = end <= val_start
    val = (samples.start >= val_start) & (end <= test_start)
    gm = GeneralModel(GapClassifier(), learning_rate=learning_rate, seed=seed)
    gm.build((horizon, N_FEATURES), horizon, 1)
    has_val = bool(val.any())
    stop = make_early_stopping(patience, has_validation=has_val)
    history = gm.fit(
        samples.x[train],
        samples.y[train],
        validation=(samples.x[val], samples.y[val]) if has_val else None,
        epochs=epochs,
        batch_size=min(batch_size, max(int(train.sum()), 1)),
        callbacks=[*callbacks, *([stop] if stop is not None else [])],
    )
    # Score every test position (stride 1): the test part is small and the plot uses it.
    test_samples = gap_samples(timestamps, observed, lookback, horizon, 1)
    keep = test_samples.start >= test_start
    x_test, y_test, ts_test = (
        test_samples.x[keep],
        test_samples.y[keep],
        test_samples.target_ts[keep],
    )
    p = gm.predict(x_test) if len(x_test) else np.zeros((0, horizon), np.float32)
    rates = hour_of_week_rates(timestamps[:val_start], ~np.asarray(observed[:val_start], bool))
    baseline_p = rates[hour_of_week(ts_test)]
    metrics: dict[str, Any] = dict(evaluation.classification_metrics(y_test, p))
    metrics["baseline"] = evaluation.classification_metrics(y_test, baseline_p)
    metrics["gap_rate"] = float(y_test.mean()) if y_test.size else 0.0
    metrics["samples"] = len(x_test)
    return GapTrainingResult(model=gm.model_, metrics=metrics, history=history)


def gap_probabilities(model: Any, target_ts: np.ndarray, recent_observed: np.ndarray) -> np.ndarray:
    """(n, horizon) probabilities of no data at each target timestamp."""
    from gapcast.model_training.general_model import predict

    out: np.ndarray = predict(model, step_features(target_ts, recent_observed))
    return out
