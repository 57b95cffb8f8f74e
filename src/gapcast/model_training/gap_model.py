"""Training and evaluation of the gap classifier.

Samples are (origin, lead) pairs (:mod:`gapcast.model_training.gap_features`) drawn at random from
the training part — at most ``MAX_TRAIN_PAIRS`` whatever the series' length, so the stage costs
the same on a month and on four years of minute data — with their labels (no data at the step).
The classifier trains all its epochs (``fit_pairs`` says why); the validation part sets the
calibration of the window-level outage probability; the step threshold is half the best F1 on
validation and out-of-fold predictions of training + validation (``_choose_thresholds``); the
test part (every window, strided to at most ``MAX_SCORED_STEPS`` steps) scores classifier and
calendar baseline on the same steps (:mod:`gapcast.model_training.gap_scoring`). When the test
part holds too few gaps to say anything (outages are rare and often all lie early in a record),
the figures come from blocked cross-validation over the whole series instead
(:mod:`gapcast.model_training.gap_cv`), and say so. What ``predict`` returns:
:mod:`gapcast.model_training.gap_predict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.model_training import gap_scoring as gs
from gapcast.model_training.gap_features import GapEncoder, GapInputs

MAX_TRAIN_PAIRS = 65_536
MAX_VAL_PAIRS = 32_768
MAX_SCORED_STEPS = 262_144
GAP_BATCH = 512  # samples are single steps: small batches would make an epoch all overhead
# Not the forecaster's learning rate: batches of 512 single steps of a tiny model, ten epochs by
# default; at 1e-3 it barely moves from its prior (the baseline) in that many steps.
GAP_LEARNING_RATE = 1e-2
# AdamW's decoupled weight decay (Keras' default strength) for the classifier: on the quality
# suite its average precision on the weekly-outage series no longer depends on the seed
# (0.445-0.503 over three seeds against 0.357-0.503 with Adam; the baseline's is 0.435), and
# sea temperature's F1 rose (bench/README.md). The forecasters use it too (training.weight_decay).
GAP_WEIGHT_DECAY = 0.004
PREDICT_BATCH = 8_192
# Below this many missing grid points the test part's precision and recall are noise: one missing
# point is up to ``horizon`` labels, all from the same outage.
MIN_TEST_GAP_POINTS = 5
# Version of the gap document stored with the model (pipeline JSON, key "gap_classifier"); a gap
# model stored without one reads calendar sin/cos and the observed fraction only (LEGACY_*).
GAP_DOC_FORMAT = 2

I64 = NDArray[np.int64]
B = NDArray[np.bool_]


@dataclass
class GapTrainingResult:
    model: Any  # keras.Model
    metrics: dict[str, Any]
    history: dict[str, list[float]]
    doc: dict[str, Any] = field(default_factory=dict)  # what predict needs besides the model


def sample_pairs(
    lo: int, hi: int, horizon: int, limit: int, rng: np.random.Generator
) -> tuple[I64, I64]:
    """(origins, leads) of pairs whose target lies in [lo, hi) with some history before the
    origin: all of them when they fit in ``limit``, else ``limit`` drawn at random."""
    total = max(hi - lo, 0) * horizon
    idx = np.arange(total) if total <= limit else np.sort(rng.integers(0, total, limit))
    target = lo + idx // horizon
    lead = idx % horizon
    origin = target - lead
    keep = origin >= 1
    return origin[keep].astype(np.int64), lead[keep].astype(np.int64)


def window_origins(lo: int, hi: int, horizon: int, limit: int) -> I64:
    """Origins of whole windows inside [lo, hi), evenly strided to at most ``limit`` steps."""
    first, last = max(lo, 1), hi - horizon
    if last < first:
        return np.zeros(0, np.int64)
    stride = max(1, -(-((last - first + 1) * horizon) // limit))
    return np.arange(first, last + 1, stride, dtype=np.int64)


def predict_inputs(model: Any, inputs: GapInputs) -> NDArray[np.float64]:
    if not len(inputs):
        return np.zeros(0, np.float64)
    out = model.predict(inputs.as_list(), batch_size=PREDICT_BATCH, verbose=0)
    return np.asarray(out, np.float64).ravel()


def build_model(encoder: GapEncoder, learning_rate: float, seed: int) -> Any:
    from gapcast.model_training.algorithm_implementation.gap_classifier import GapClassifier
    from gapcast.model_training.gap_features import N_FEATURES
    from gapcast.model_training.general_model import GeneralModel

    gm = GeneralModel(
        GapClassifier(), learning_rate=learning_rate, seed=seed, weight_decay=GAP_WEIGHT_DECAY
    )
    return gm.build((N_FEATURES, 1), encoder.horizon, 1)


def _whole_batches(inputs: GapInputs, y: NDArray[Any], batch: int) -> tuple[list[Any], Any]:
    """The samples less the first few, so every batch has one shape and JAX compiles once."""
    drop = len(y) % batch if len(y) > batch else 0
    return [a[drop:] for a in inputs.as_list()], y[drop:]


def fit_pairs(
    model: Any,
    inputs: GapInputs,
    y: NDArray[Any],
    *,
    validation: tuple[GapInputs, NDArray[Any]] | None,
    epochs: int,
    callbacks: Sequence[Any],
) -> dict[str, list[float]]:
    """Train all ``epochs``; ``validation``'s loss is logged and shown, and stops nothing.

    No early stopping for the classifier: its validation loss is read on the few outages of a
    short part (one or two of a weekly one, plus whatever random ones fell there) and ranks
    epochs no better than chance. On the quality suite's weekly-outage series it stopped one
    seed after 2 of 10 epochs, before the calendar prior had its full weight, and that seed's
    average precision fell under the baseline's (0.358 against 0.435); trained to the end,
    every seed scored 0.494-0.504, the other series level or better (bench/README.md).
    """
    batch = min(GAP_BATCH, max(len(y), 1))
    x_fit, y_fit = _whole_batches(inputs, y.astype(np.float32), batch)
    val_data = None
    if validation is not None and len(validation[1]) > 0:
        val_data = (validation[0].as_list(), validation[1].astype(np.float32))
    history = model.fit(
        x_fit,
        y_fit,
        validation_data=val_data,
        epochs=epochs,
        batch_size=batch,
        shuffle=True,
        callbacks=list(callbacks),
        verbose=0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def train_gap_classifier(
    timestamps: np.ndarray,
    observed: np.ndarray,
    split: tuple[int, int],
    *,
    lookback: int,
    horizon: int,
    epochs: int,
    learning_rate: float,
    seed: int,
    callbacks: list[Any],
    min_outage: int = 1,
    freq_ns: int | None = None,
    fold_callbacks: Sequence[Any] = (),
    zone: str | None = None,
) -> GapTrainingResult:
    """Train and evaluate the classifier on one grid (``observed``: any target measured).

    ``min_outage``: the steps an outage must last to count in the window-level question ("will
    the horizon hold an outage of at least that many steps?"). ``callbacks`` go to the
    classifier that is kept; ``fold_callbacks`` (say, cancellation) to the throw-away ones of
    blocked cross-validation, which must not share its backup or progress. ``zone``: the zone
    whose wall clock the positions in the cycle are read on (:class:`GapEncoder`).
    """
    ts = np.asarray(timestamps, np.int64)
    obs = np.asarray(observed, bool)
    missing = ~obs
    freq = int(freq_ns if freq_ns is not None else ts[1] - ts[0])
    val_start, test_start = split
    rng = np.random.default_rng(seed)
    encoder = GapEncoder.fit(freq, ts[:val_start], missing[:val_start], lookback, horizon, zone)
    o, h = sample_pairs(0, val_start, horizon, MAX_TRAIN_PAIRS, rng)
    oof = encoder.out_of_fold_baseline(ts[:val_start], missing[:val_start], o + h)
    x_train, y_train = encoder.encode_pairs(ts, obs, o, h, oof), missing[o + h]
    vo, vh = sample_pairs(val_start, test_start, horizon, MAX_VAL_PAIRS, rng)
    x_val, y_val = encoder.encode_pairs(ts, obs, vo, vh), missing[vo + vh]
    model = build_model(encoder, learning_rate, seed)
    history = fit_pairs(
        model,
        x_train,
        y_train,
        validation=(x_val, y_val),
        epochs=epochs,
        callbacks=callbacks,
    )
    from gapcast.model_training.gap_cv import FoldFitter, blocked_cv_metrics

    def fold_fitter() -> FoldFitter:
        # Blocked CV gets a fitter of its own: a shared one would start its folds from other
        # initial weights (the global seed state moves on), and its figures would differ for
        # that alone.
        return FoldFitter(
            encoder=encoder,
            epochs=epochs,
            learning_rate=learning_rate,
            seed=seed,
            callbacks=fold_callbacks,
        )

    p_val = predict_inputs(model, x_val)
    threshold, base_threshold, source = _choose_thresholds(
        ts[:test_start],
        obs[:test_start],
        encoder,
        fold_fitter(),
        validation=(y_val, p_val, encoder.baseline(ts[vo + vh])),
        freq_ns=freq,
    )
    if threshold is None:
        # No held-out gap before the test part: the training samples, in sample.
        p_train = predict_inputs(model, x_train)
        threshold, source = gs.half_best_f1_threshold(y_train, p_train), "training"
        base_threshold = gs.half_best_f1_threshold(y_train, encoder.baseline(ts[o + h]))
    if threshold is None:
        threshold, source = gs.DEFAULT_THRESHOLD, "default"
    thresholds = (threshold, base_threshold if base_threshold is not None else threshold)
    k = max(1, min(min_outage, horizon))
    window = _window_calibration(model, encoder, ts, obs, (val_start, test_start), k)
    metrics = _test_split_metrics(model, encoder, ts, obs, test_start, thresholds, window)
    if int(missing[test_start:].sum()) < MIN_TEST_GAP_POINTS:
        cv = blocked_cv_metrics(ts, obs, encoder, fit=fold_fitter().fit, freq_ns=freq)
        # Scored on more gaps than the test part holds, or not used: never a worse figure.
        if cv is not None and cv["positives"] > metrics["positives"]:
            metrics = cv
    metrics["threshold_from"] = source
    doc = {
        "format": GAP_DOC_FORMAT,
        "encoder": encoder.to_dict(),
        "threshold": threshold,
        "window": window,
    }
    return GapTrainingResult(model=model, metrics=metrics, history=history, doc=doc)


def _choose_thresholds(
    ts: I64,
    obs: B,
    encoder: GapEncoder,
    folds: Any,  # gap_cv.FoldFitter
    *,
    validation: tuple[NDArray[Any], NDArray[Any], NDArray[Any]],
    freq_ns: int,
) -> tuple[float | None, float | None, str]:
    """Thresholds of classifier and baseline (None, None when no held-out step before the test
    part is a gap): half the best F1 (:func:`gs.half_best_f1_threshold`) on the validation
    predictions pooled with out-of-fold predictions of blocked CV over training + validation.

    The validation part alone is a few days of a short series: one or two occurrences of a
    recurring outage plus whatever random ones fell in it, too few to place a threshold on.
    The folds' throw-away classifiers see every outage of training + validation held out once.
    Their scores are not on the kept classifier's scale, so they set only how high F1 can get,
    never where the cut falls; the rule turns that into the threshold. The baseline's folds are
    its rates refitted outside each held-out block, like the classifier's prior input.
    """
    from gapcast.model_training.gap_cv import held_out_scores

    y_val, p_val, base_val = validation
    # Held-out windows strided to as many steps as the validation sample: enough to place the
    # top of the F1 curve, and it halves the folds' cost on long series (their training pairs
    # come from the same strided windows).
    held = held_out_scores(
        ts,
        obs,
        encoder,
        fit=folds.fit,
        freq_ns=freq_ns,
        in_sample_thresholds=False,
        max_scored=MAX_VAL_PAIRS,
    )
    y = np.concatenate([y_val.ravel(), *(f.y.ravel() for f in held)])
    p = np.concatenate([p_val.ravel(), *(f.p.ravel() for f in held)])
    base = np.concatenate([base_val.ravel(), *(f.base.ravel() for f in held)])
    threshold = gs.half_best_f1_threshold(y, p)
    source = "out_of_fold" if held else "validation"
    return threshold, gs.half_best_f1_threshold(y, base), source


def _window_calibration(
    model: Any, encoder: GapEncoder, ts: I64, obs: B, part: tuple[int, int], k: int
) -> dict[str, Any]:
    """The window-level question's calibration (Platt, on the validation part's windows) and
    threshold (F1-optimal there; 0.5 without an outage to choose on)."""
    origins = window_origins(*part, encoder.horizon, MAX_SCORED_STEPS // 2)
    y, score = _window_labels_scores(model, encoder, ts, obs, origins, k)
    ab = gs.fit_platt(y, score) if len(y) else (1.0, 0.0)
    p = gs.platt(score, ab)
    threshold = gs.f1_threshold(y, p) if len(y) else None
    base_y, base_score = y, _baseline_window_score(encoder, ts, origins, k)
    base_ab = gs.fit_platt(base_y, base_score) if len(y) else (1.0, 0.0)
    base_threshold = gs.f1_threshold(base_y, gs.platt(base_score, base_ab)) if len(y) else None
    return {
        "min_steps": k,
        "platt": list(ab),
        "threshold": threshold if threshold is not None else gs.DEFAULT_THRESHOLD,
        "baseline_platt": list(base_ab),
        "baseline_threshold": (
            base_threshold if base_threshold is not None else gs.DEFAULT_THRESHOLD
        ),
    }


def _window_labels_scores(
    model: Any, encoder: GapEncoder, ts: I64, obs: B, origins: I64, k: int
) -> tuple[B, NDArray[np.float64]]:
    h = encoder.horizon
    if not len(origins):
        return np.zeros(0, bool), np.zeros(0)
    freq = int(ts[1] - ts[0])
    p = predict_inputs(model, encoder.encode_windows(obs, origins, ts[origins], freq))
    missing = ~obs[origins[:, None] + np.arange(h)]
    return gs.outage_windows(missing, k), gs.window_score(p.reshape(-1, h), k)


def _baseline_window_score(encoder: GapEncoder, ts: I64, origins: I64, k: int) -> NDArray[Any]:
    if not len(origins):
        return np.zeros(0)
    steps = ts[origins[:, None] + np.arange(encoder.horizon)]
    return gs.window_score(encoder.baseline(steps), k)


def _test_split_metrics(
    model: Any,
    encoder: GapEncoder,
    ts: I64,
    obs: B,
    test_start: int,
    thresholds: tuple[float, float],
    window: dict[str, Any],
) -> dict[str, Any]:
    """Every test window (strided when the part is long) against the calendar baseline."""
    h = encoder.horizon
    origins = window_origins(test_start, len(ts), h, MAX_SCORED_STEPS)
    freq = int(ts[1] - ts[0]) if len(ts) > 1 else 1
    p = predict_inputs(model, encoder.encode_windows(obs, origins, ts[origins], freq))
    steps = origins[:, None] + np.arange(h)
    y = ~obs[steps]
    base = encoder.baseline(ts[steps])
    metrics = score_windows(y, p.reshape(-1, h), base, thresholds, encoder.baseline_name, steps)
    k = int(window["min_steps"])
    wy = gs.outage_windows(y, k)
    wp = gs.platt(gs.window_score(p.reshape(-1, h), k), tuple(window["platt"]))
    wb = gs.platt(gs.window_score(base, k), tuple(window["baseline_platt"]))
    win: dict[str, Any] = dict(gs.scores(wy, wp, float(window["threshold"])))
    win["baseline"] = gs.scores(wy, wb, float(window["baseline_threshold"]))
    win["min_steps"], win["windows"], win["positives"] = k, len(wy), int(wy.sum())
    return {**metrics, "window": win, "evaluation": "test_split"}


def score_windows(
    y: NDArray[Any],
    p: NDArray[Any],
    baseline_p: NDArray[Any],
    thresholds: tuple[float, float],
    baseline_name: str,
    steps: NDArray[np.int64],
) -> dict[str, Any]:
    """Scores of the classifier and the baseline on windows ``y`` (n, horizon) of grid steps
    ``steps``, and the verdict, judged on the distinct missing steps (a step is in up to
    ``horizon`` windows; an outage's steps are far from independent even then)."""
    metrics: dict[str, Any] = gs.scores(y, p, thresholds[0])
    metrics["baseline"] = gs.scores(y, baseline_p, thresholds[1])
    metrics["baseline_name"] = baseline_name
    metrics["gap_rate"] = float(np.mean(y)) if np.size(y) else 0.0
    metrics["samples"] = len(y)
    metrics["positives"] = int(np.sum(y))
    metrics["gap_steps"] = int(np.unique(steps[np.asarray(y, bool)]).size)
    metrics["verdict"] = gs.verdict(
        metrics["average_precision"],
        metrics["baseline"]["average_precision"],
        baseline_name,
        metrics["gap_steps"],
    )
    return metrics
