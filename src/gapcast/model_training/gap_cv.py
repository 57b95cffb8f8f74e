"""Blocked cross-validation of the gap classifier, for series whose test part has too few gaps
to score it on (outages are rare and often all lie early in a record)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.model_training import evaluation
from gapcast.model_training import gap_scoring as gs
from gapcast.model_training.gap_features import GapEncoder, GapInputs
from gapcast.model_training.gap_model import (
    MAX_SCORED_STEPS,
    MAX_TRAIN_PAIRS,
    build_model,
    fit_pairs,
    predict_inputs,
    score_windows,
    window_origins,
)

CV_FOLDS = 3  # three small extra fits: cheap, and each block still spans a third of the record
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


@dataclass(kw_only=True, eq=False)
class FoldFitter:
    """Trains the throw-away classifiers of blocked CV, all on one compiled Keras model.

    Compiling the train step is most of what a fold costs (the classifier is tiny): each fold
    starts from the weights and optimizer state the model had before its first fit (the
    optimizer's learning rate lives among those variables, so it is restored, not zeroed) and
    trains on whole batches of one shape, so JAX compiles once. The model ``fit`` returns is only
    valid until the next call.
    """

    encoder: GapEncoder
    epochs: int
    learning_rate: float
    seed: int
    callbacks: Sequence[Any] = ()
    model_: Any = field(default=None, init=False)
    initial_: tuple[list[np.ndarray], list[np.ndarray]] = field(
        default_factory=lambda: ([], []), init=False
    )

    def fit(self, inputs: GapInputs, y: NDArray[Any]) -> Any:
        from gapcast.model_training.keras_env import import_keras

        if self.model_ is None:
            model = build_model(self.encoder, self.learning_rate, self.seed)
            model.optimizer.build(model.trainable_variables)  # its state exists before a fit
            self.model_ = model
            self.initial_ = (
                model.get_weights(),
                [np.array(v.numpy()) for v in model.optimizer.variables],
            )
        else:
            weights, optimizer_state = self.initial_
            self.model_.set_weights(weights)
            for variable, value in zip(
                self.model_.optimizer.variables, optimizer_state, strict=True
            ):
                variable.assign(value)
        # Every fold shuffles from the same state, whichever folds ran before it.
        import_keras().utils.set_random_seed(self.seed)
        fit_pairs(
            self.model_,
            inputs,
            y,
            validation=None,
            epochs=self.epochs,
            callbacks=self.callbacks,
        )
        return self.model_


@dataclass
class HeldOut:
    """One fold's held-out windows: grid steps (n, horizon), labels, the fold classifier's and
    the fold baseline's probabilities, and the F1-optimal thresholds of both on the fold's
    training samples."""

    steps: I64
    y: B
    p: NDArray[np.float64]
    base: NDArray[np.float64]
    thresholds: tuple[float, float]


def held_out_scores(
    ts: I64,
    obs: B,
    encoder: GapEncoder,
    *,
    fit: Callable[[GapInputs, NDArray[Any]], Any],
    freq_ns: int,
    folds: int = CV_FOLDS,
    in_sample_thresholds: bool = True,
    max_scored: int = MAX_SCORED_STEPS,
) -> list[HeldOut]:
    """Blocked folds over the grid ``ts``/``obs``, each scored by a classifier trained by ``fit``
    on the rest minus the purge margin, and by the baseline fitted on the same rest; folds
    without training or held-out windows are left out. Without ``in_sample_thresholds`` the
    fold thresholds are left at 0.5 (one prediction over the training samples less). Windows
    are strided to at most ``max_scored`` steps, held out and training ones alike."""
    h, margin = encoder.horizon, encoder.lookback + encoder.horizon
    missing = ~obs
    origins = window_origins(encoder.lookback, len(ts), h, max_scored)
    rng = np.random.default_rng(0)
    out: list[HeldOut] = []
    for train, held in evaluation.blocked_folds(origins, folds, margin):
        if not len(train) or not len(held):
            continue
        known = np.ones(len(ts), bool)
        lo = max(int(origins[held[0]]) - margin, 0)
        known[lo : int(origins[held[-1]]) + margin] = False
        fold_enc = GapEncoder.fit(
            freq_ns, ts[known], missing[known], encoder.lookback, encoder.horizon, encoder.zone
        )
        # Training pairs: a random draw of the leads of the training windows.
        pick = rng.choice(len(train) * h, size=min(len(train) * h, MAX_TRAIN_PAIRS), replace=False)
        t_orig, t_lead = origins[train][pick // h], pick % h
        t_idx = np.flatnonzero(known)
        # Out of fold on the fold's own training grid (its positions re-indexed onto it).
        oof = fold_enc.out_of_fold_baseline(
            ts[known], missing[known], np.searchsorted(t_idx, t_orig + t_lead)
        )
        x_fold = fold_enc.encode_pairs(ts, obs, t_orig, t_lead, oof)
        y_fold = missing[t_orig + t_lead]
        model = fit(x_fold, y_fold)
        threshold = base_threshold = None
        if in_sample_thresholds:
            threshold = gs.f1_threshold(y_fold, predict_inputs(model, x_fold))
            base_threshold = gs.f1_threshold(y_fold, fold_enc.baseline(ts[t_orig + t_lead]))
        held_o = origins[held]
        p = predict_inputs(model, fold_enc.encode_windows(obs, held_o, ts[held_o], freq_ns))
        steps = held_o[:, None] + np.arange(h)
        out.append(
            HeldOut(
                steps=steps,
                y=missing[steps],
                p=p.reshape(-1, h),
                base=fold_enc.baseline(ts[steps]),
                thresholds=(
                    threshold if threshold is not None else gs.DEFAULT_THRESHOLD,
                    base_threshold if base_threshold is not None else gs.DEFAULT_THRESHOLD,
                ),
            )
        )
    return out


def blocked_cv_metrics(
    ts: I64,
    obs: B,
    encoder: GapEncoder,
    *,
    fit: Callable[[GapInputs, NDArray[Any]], Any],
    freq_ns: int,
    folds: int = CV_FOLDS,
) -> dict[str, Any] | None:
    """Scores of classifiers trained by ``fit`` on blocked folds over the whole series.

    Each fold's baseline rates — also the classifier's prior input — come from the grid outside
    its held-out block and purge margin, like its training samples; its thresholds are the
    F1-optimal ones on its training samples (the only data it has besides the held-out block).
    Precision, recall, F1 and Brier count over the held-out steps of all folds together: gaps
    cluster in time, so a single fold often has none. ROC AUC and average precision are means
    over the folds where they are defined: scores of different folds' classifiers are not on one
    scale, so ranking them together would measure the folds' calibration, not the classifier
    (Forman & Scholz, "Apples-to-apples in cross-validation studies", 2010). None when no fold
    has both training and held-out samples.
    """
    held = held_out_scores(ts, obs, encoder, fit=fit, freq_ns=freq_ns, folds=folds)
    scored = [(f.y, f.p, f.base) for f in held]
    thresholds = [f.thresholds for f in held]
    all_steps = [f.steps for f in held]
    if not scored:
        return None
    y, p, base = (np.concatenate(part) for part in zip(*scored, strict=True))
    # Each step flagged at its own fold's threshold, then counted together.
    flag = np.concatenate([fp >= t for (_, fp, _), (t, _) in zip(scored, thresholds, strict=True)])
    base_flag = np.concatenate(
        [fb >= t for (_, _, fb), (_, t) in zip(scored, thresholds, strict=True)]
    )
    held_steps = np.concatenate(all_steps)
    metrics = score_windows(
        y, flag.astype(float), base_flag.astype(float), (0.5, 0.5), "", held_steps
    )
    metrics["brier"] = gs.brier(y, p)
    metrics["baseline"]["brier"] = gs.brier(y, base)
    metrics["threshold"] = float(np.mean([t for t, _ in thresholds]))
    metrics["baseline"]["threshold"] = float(np.mean([t for _, t in thresholds]))
    for name, rank_score in RANKING_SCORES.items():
        metrics[name] = _fold_mean(rank_score, [(fy, fp) for fy, fp, _ in scored])
        metrics["baseline"][name] = _fold_mean(rank_score, [(fy, fb) for fy, _, fb in scored])
    metrics["baseline_name"] = encoder.baseline_name
    metrics["verdict"] = gs.verdict(
        metrics["average_precision"],
        metrics["baseline"]["average_precision"],
        encoder.baseline_name,
        metrics["gap_steps"],
    )
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
