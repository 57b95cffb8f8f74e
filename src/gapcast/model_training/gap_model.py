"""Data, training and evaluation of the gap classifier.

For a window ending at grid index t, the classifier sees, for each future step t+h of the horizon,
calendar features of that step (hour of day, weekday and month as sin/cos) and the fraction of the
lookback that was really observed; it predicts the probability that the step has no data. Samples
are split chronologically like the forecaster's windows (by the index of their first future step)
and scored on the test part against the hour-of-week gap rate of the training part. When the test
part holds too few gaps to say anything (outages are rare and often all lie early in a record),
the figures come from blocked cross-validation over the whole series instead, and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gapcast.model_training import evaluation

HOUR_NS = 3_600 * 10**9
DAY_NS = 24 * HOUR_NS
N_FEATURES = 7
MAX_TRAIN_SAMPLES = 20_000
CV_FOLDS = 3  # three small extra fits: cheap, and each block still spans a third of the record
# Below this many missing grid points the test part's precision and recall are noise: one missing
# point is up to ``horizon`` labels, all from the same outage.
MIN_TEST_GAP_POINTS = 5


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
    fold_callbacks: Sequence[Any] = (),
) -> GapTrainingResult:
    """Train and evaluate the classifier on one grid (``observed``: any target measured).

    ``callbacks`` go to the classifier that is kept; ``fold_callbacks`` (say, cancellation) to
    the throw-away ones of blocked cross-validation, which must not share its backup or progress.
    """
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
    model = gm.model_
    metrics = _test_split_metrics(model, timestamps, observed, lookback, horizon, split)
    if int((~np.asarray(observed[test_start:], bool)).sum()) < MIN_TEST_GAP_POINTS:
        folds = FoldFitter(
            horizon=horizon,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            seed=seed,
            patience=patience,
            callbacks=fold_callbacks,
        )
        cv = blocked_cv_metrics(
            samples, timestamps, observed, margin=lookback + horizon, fit=folds.fit
        )
        # Scored on more gaps than the test part holds, or not used: never a worse figure.
        if cv is not None and cv["positives"] > metrics["positives"]:
            metrics = cv
    return GapTrainingResult(model=model, metrics=metrics, history=history)


@dataclass(kw_only=True, eq=False)
class FoldFitter:
    """Trains the throw-away classifiers of blocked CV, all on one compiled Keras model.

    Compiling the train step is most of what a fold costs (the classifier is tiny): on the demo's
    series (2 busy cores) three new models took 6-15 s, one model reset between folds 2-3 s. Each
    fold starts from the weights and optimizer state the model had before its first fit (the
    optimizer's learning rate lives among those variables, so it is restored, not zeroed) and
    trains on whole batches only, the oldest few samples left out, so every fold has the same
    batch shape and JAX compiles once. The model ``fit`` returns is only valid until the next
    call.
    """

    horizon: int
    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    patience: int
    callbacks: Sequence[Any] = ()
    model_: Any = field(default=None, init=False)
    initial_: tuple[list[np.ndarray], list[np.ndarray]] = field(
        default_factory=lambda: ([], []), init=False
    )

    def fit(self, x: np.ndarray, y: np.ndarray) -> Any:
        from gapcast.model_training.callbacks import make_early_stopping
        from gapcast.model_training.keras_env import import_keras

        if self.model_ is None:
            self._build()
        else:
            weights, optimizer_state = self.initial_
            self.model_.set_weights(weights)
            for variable, value in zip(
                self.model_.optimizer.variables, optimizer_state, strict=True
            ):
                variable.assign(value)
        # Every fold shuffles from the same state, whichever folds ran before it.
        import_keras().utils.set_random_seed(self.seed)
        batch = min(self.batch_size, max(len(x), 1))
        drop = len(x) % batch
        stop = make_early_stopping(self.patience, has_validation=False)
        self.model_.fit(
            x[drop:],
            y[drop:],
            epochs=self.epochs,
            batch_size=batch,
            shuffle=True,
            callbacks=[*self.callbacks, *([stop] if stop is not None else [])],
            verbose=0,
        )
        return self.model_

    def _build(self) -> None:
        from gapcast.model_training.algorithm_implementation.gap_classifier import GapClassifier
        from gapcast.model_training.general_model import GeneralModel

        gm = GeneralModel(GapClassifier(), learning_rate=self.learning_rate, seed=self.seed)
        model = gm.build((self.horizon, N_FEATURES), self.horizon, 1)
        model.optimizer.build(model.trainable_variables)  # its state exists before the first fit
        self.model_ = model
        self.initial_ = (
            model.get_weights(),
            [np.array(variable.numpy()) for variable in model.optimizer.variables],
        )


def _scores(y: np.ndarray, p: np.ndarray, baseline_p: np.ndarray) -> dict[str, Any]:
    metrics: dict[str, Any] = dict(evaluation.classification_metrics(y, p))
    metrics["baseline"] = evaluation.classification_metrics(y, baseline_p)
    metrics["gap_rate"] = float(y.mean()) if y.size else 0.0
    metrics["samples"] = len(y)
    metrics["positives"] = int(y.sum())
    return metrics


def _test_split_metrics(
    model: Any,
    timestamps: np.ndarray,
    observed: np.ndarray,
    lookback: int,
    horizon: int,
    split: tuple[int, int],
) -> dict[str, Any]:
    """Every test position (stride 1: the test part is small and the plot uses it) against the
    hour-of-week gap rate of the training part."""
    from gapcast.model_training.general_model import predict

    val_start, test_start = split
    test_samples = gap_samples(timestamps, observed, lookback, horizon, 1)
    keep = test_samples.start >= test_start
    x_test, y_test = test_samples.x[keep], test_samples.y[keep]
    p = predict(model, x_test) if len(x_test) else np.zeros((0, horizon), np.float32)
    rates = hour_of_week_rates(timestamps[:val_start], ~np.asarray(observed[:val_start], bool))
    baseline_p = rates[hour_of_week(test_samples.target_ts[keep])]
    return {**_scores(y_test, p, baseline_p), "evaluation": "test_split"}


def blocked_cv_metrics(
    samples: GapSamples,
    timestamps: np.ndarray,
    observed: np.ndarray,
    *,
    margin: int,
    fit: Callable[[np.ndarray, np.ndarray], Any],
    folds: int = CV_FOLDS,
) -> dict[str, Any] | None:
    """Scores of classifiers trained by ``fit`` on blocked folds over the whole series.

    Precision, recall and F1 count hits over the held-out steps of all folds together: gaps
    cluster in time, so a single fold often has none and its precision would be 0/0. ROC AUC and
    average precision are means over the folds where they are defined instead: they rank scores,
    and scores of different folds' classifiers are not on one scale (one trained on a gap-free
    stretch scores everything low), so ranking them together would measure the folds'
    calibration, not the classifier (Forman & Scholz, "Apples-to-apples in cross-validation
    studies", 2010). Each fold's baseline rates come from the grid outside its held-out block
    and purge margin, like its training data. None when no fold has both training and held-out
    samples.
    """
    from gapcast.model_training.general_model import predict

    missing = ~np.asarray(observed, bool)
    scored: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for train, held in evaluation.blocked_folds(samples.start, folds, margin):
        if not len(train) or not len(held):
            continue
        model = fit(samples.x[train], samples.y[train])
        known = np.ones(len(timestamps), bool)
        lo = max(int(samples.start[held[0]]) - margin, 0)
        known[lo : int(samples.start[held[-1]]) + margin] = False
        rates = hour_of_week_rates(timestamps[known], missing[known])
        baseline_p = rates[hour_of_week(samples.target_ts[held])]
        scored.append((samples.y[held], predict(model, samples.x[held]), baseline_p))
    if not scored:
        return None
    y, p, baseline_p = (np.concatenate(part) for part in zip(*scored, strict=True))
    metrics = _scores(y, p, baseline_p)
    for name, rank_score in RANKING_SCORES.items():
        metrics[name] = _fold_mean(rank_score, [(fy, fp) for fy, fp, _ in scored])
        metrics["baseline"][name] = _fold_mean(rank_score, [(fy, fb) for fy, _, fb in scored])
    return {**metrics, "evaluation": "blocked_cv", "folds": len(scored)}


# Scores that rank one classifier's outputs: averaged over folds, never pooled (see above).
RANKING_SCORES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "roc_auc": evaluation.roc_auc,
    "average_precision": evaluation.average_precision,
}


def _fold_mean(
    score: Callable[[np.ndarray, np.ndarray], float], folds: list[tuple[np.ndarray, np.ndarray]]
) -> float:
    """Mean of ``score`` over the folds where it is defined (they have gaps); NaN when none."""
    values = [score(y, p) for y, p in folds]
    defined = [v for v in values if np.isfinite(v)]
    return float(np.mean(defined)) if defined else float("nan")


def gap_probabilities(model: Any, target_ts: np.ndarray, recent_observed: np.ndarray) -> np.ndarray:
    """(n, horizon) probabilities of no data at each target timestamp."""
    from gapcast.model_training.general_model import predict

    out: np.ndarray = predict(model, step_features(target_ts, recent_observed))
    return out
