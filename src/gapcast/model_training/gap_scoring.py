"""How the gap classifier is judged: a threshold chosen on data it was not trained on, the scores
of classifier and calendar baseline on the same steps, the window-level question, and the verdict.

Gaps are 2-25% of the steps of real series, so a fixed 0.5 threshold flags nothing and reports
precision, recall and F1 of 0. The threshold is half the best F1 reachable on held-out data
(``half_best_f1_threshold``; stored with the model, ``predict`` uses it), and the baseline gets
its own, chosen the same way. The threshold-free scores (ROC AUC, average precision) and the
Brier score (calibration) stand beside them. The verdict compares average precision — the score
that is not flattered by a large majority of observed steps — in the evaluation's words: "better
than the hour-of-week rate by 23%" or "no better than the hour-of-week rate".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from gapcast.model_training import evaluation

F64 = NDArray[np.float64]
DEFAULT_THRESHOLD = 0.5
# A difference in average precision below this (absolute, or relative to the baseline's) is
# noise whatever the number of gaps scored (see ``verdict`` for the part that depends on it).
AP_NOISE_ABS = 0.01
AP_NOISE_REL = 0.05


def f1_threshold(y: Any, p: Any) -> float | None:
    """The score above which flagging a gap gives the best F1 on (y, p); None without gaps."""
    curve = _f1_curve(y, p)
    if curve is None:
        return None
    s_sorted, last, f1 = curve
    best = int(np.argmax(f1))
    cut = float(s_sorted[last[best]])
    if best + 1 == last.size:
        return cut
    # Any threshold down to the next lower score flags the same steps here; halfway (on the
    # logit scale) is the one least likely to flip on new data, where the cut itself would sit
    # right on one validation step's score.
    below = float(s_sorted[last[best + 1]])
    return float(_sigmoid((_logit(cut) + _logit(below)) / 2)[0])


def best_f1(y: Any, p: Any) -> float | None:
    """The highest F1 any threshold reaches on (y, p); None without gaps."""
    curve = _f1_curve(y, p)
    return None if curve is None else float(np.max(curve[2]))


def half_best_f1_threshold(y: Any, p: Any) -> float | None:
    """Half the best F1 reachable on (y, p), as a probability threshold; None without gaps.

    For calibrated probabilities the F1-optimal threshold is exactly half the optimal F1 (Lipton,
    Elkan & Naryanaswamy, "Thresholding classifiers to maximize F1 score", 2014). Gaps come in
    outages, so a few hundred held-out gap steps are a handful of independent events, and the
    F1 curve is flat over a wide range of thresholds: where on that plateau its argmax falls is
    noise (on uk_demand_30min the validation part's argmax was 0.16, the test part's 0.93), its
    height is not. The classifier is trained on log loss and the baseline is a frequency, so
    both are close enough to calibrated for the rule to hold.
    """
    f1 = best_f1(y, p)
    return None if f1 is None else f1 / 2


def _f1_curve(y: Any, p: Any) -> tuple[F64, NDArray[np.int64], F64] | None:
    """(scores sorted descending, index of the last sample of each distinct score, F1 when
    flagging down to it); None when ``y`` has a single class."""
    t = np.asarray(y, bool).ravel()
    s = np.asarray(p, np.float64).ravel()
    n_pos = int(t.sum())
    if n_pos in (0, t.size):
        return None
    order = np.argsort(-s, kind="mergesort")
    s_sorted, hits = s[order], t[order]
    # Tied scores are one threshold: the counts at the last sample of each distinct score.
    last = np.append(np.flatnonzero(np.diff(s_sorted)), s.size - 1)
    tp = np.cumsum(hits)[last]
    f1: F64 = 2 * tp / (last + 1 + n_pos)
    return s_sorted, last, f1


def brier(y: Any, p: Any) -> float:
    t = np.asarray(y, np.float64).ravel()
    s = np.asarray(p, np.float64).ravel()
    return float(np.mean((s - t) ** 2)) if t.size else float("nan")


def scores(y: Any, p: Any, threshold: float) -> dict[str, float]:
    out = dict(evaluation.classification_metrics(y, p, threshold))
    out["brier"] = brier(y, p)
    out["threshold"] = float(threshold)
    return out


def outage_windows(missing: NDArray[np.bool_], min_steps: int) -> NDArray[np.bool_]:
    """(n,) whether each row of ``missing`` (n, horizon) holds a run of ``min_steps`` gaps."""
    m = np.asarray(missing, bool)
    k = min(max(min_steps, 1), m.shape[1])
    runs = np.asarray(sliding_window_view(m, k, axis=1).all(axis=-1), bool)
    return np.asarray(runs.any(axis=1), bool)


def window_score(p: Any, min_steps: int) -> F64:
    """(n,) the highest mean step probability over ``min_steps`` consecutive steps of each row:
    high when some stretch of the horizon is likely to be missing as a whole."""
    q = np.asarray(p, np.float64)
    k = min(max(min_steps, 1), q.shape[1])
    out: F64 = sliding_window_view(q, k, axis=1).mean(axis=-1).max(axis=1)
    return out


def fit_platt(y: Any, score: Any, iterations: int = 50) -> tuple[float, float]:
    """(a, b) of P = sigmoid(a * logit(score) + b), minimising the log loss plus a little ridge
    (perfectly separated classes would send ``a`` to infinity) by Newton steps halved until the
    loss falls (full steps diverge when the scores are far from calibrated). With a single
    class there is no slope to fit: the scores keep their ranking, shifted so their mean is the
    part's rate smoothed by half an event (Jeffreys' prior). A window score is a mean of step
    probabilities, not a probability of an outage: a business-day series' weekends give every
    fortnight 0.5 for "4 missing days in a row", which its data never had. The identity (1, 0)
    without any sample."""
    t = np.asarray(y, np.float64).ravel()
    if t.size == 0:
        return 1.0, 0.0
    if t.min() == t.max():
        return 1.0, _shift_to_mean(_logit(score), (t.sum() + 0.5) / (t.size + 1))
    design = np.stack([_logit(score), np.ones(t.size)], axis=-1)
    ridge = 1e-2 * np.eye(2)

    def loss(w: F64) -> float:
        z = design @ w
        # log(1 + e^z) - t z, written so neither term overflows.
        return float(np.sum(np.logaddexp(0.0, z) - t * z) + 0.5 * w @ ridge @ w)

    w = np.array([1.0, 0.0])
    current = loss(w)
    for _ in range(iterations):
        q = _sigmoid(design @ w)
        grad = design.T @ (q - t) + ridge @ w
        hess = design.T @ (design * (q * (1 - q))[:, None]) + ridge
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6 and loss(w - scale * step) > current:
            scale /= 2
        if scale <= 1e-6:
            break
        w = w - scale * step
        new = loss(w)
        if current - new < 1e-10 * max(1.0, abs(current)):
            current = new
            break
        current = new
    if w[0] < 0:
        # A score ranking windows backwards on this part is not trusted: the base rate.
        return 0.0, float(_logit(t.mean())[0])
    return float(w[0]), float(w[1])


def _shift_to_mean(z: F64, rate: float) -> float:
    """The b for which the mean of sigmoid(z + b) is ``rate`` (bisection: it grows with b)."""
    lo, hi = -60.0, 60.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if float(np.mean(_sigmoid(z + mid))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def platt(score: Any, ab: Sequence[float]) -> F64:
    return _sigmoid(ab[0] * _logit(score) + ab[1])


def _sigmoid(z: Any) -> F64:
    out: F64 = 1 / (1 + np.exp(-np.clip(np.asarray(z, np.float64), -40, 40)))
    return out


def _logit(p: Any) -> F64:
    q = np.clip(np.asarray(p, np.float64).ravel(), 1e-6, 1 - 1e-6)
    out: F64 = np.log(q / (1 - q))
    return out


def verdict(
    model_ap: float | None, baseline_ap: float | None, baseline: str, gap_steps: int | None = None
) -> dict[str, Any]:
    """Better or worse than the calendar baseline in average precision, by how much; "no better"
    within noise: 0.01, 5% of the baseline's, or two standard errors of an average precision
    near the baseline's on ``gap_steps`` distinct missing steps (sqrt(AP (1 - AP) / n), the
    binomial approximation), whichever is largest. A test part with a handful of outages cannot
    show a gain, and the verdict says so rather than a percentage."""
    name = f"the {baseline}"
    if model_ap is None or baseline_ap is None or not np.isfinite(model_ap + baseline_ap):
        return {
            "better": False,
            "baseline": baseline,
            "text": "not scored: the scored steps have no gaps",
        }
    diff = model_ap - baseline_ap
    noise = max(AP_NOISE_ABS, AP_NOISE_REL * baseline_ap)
    if gap_steps:
        noise = max(noise, 2 * float(np.sqrt(baseline_ap * (1 - baseline_ap) / gap_steps)))
    figures = f"(average precision {model_ap:.2f} vs {baseline_ap:.2f})"
    better = bool(diff > noise)
    if better:
        gain = f"{round(100 * diff / baseline_ap)}%" if baseline_ap > 0 else "far"
        text = f"better than {name} by {gain} {figures}"
    elif diff < -noise:
        text = f"worse than {name} by {round(100 * -diff / baseline_ap)}% {figures}"
    else:
        text = f"no better than {name} {figures}"
        if diff > 0 and gap_steps:
            text += f": within noise on {gap_steps} missing steps"
    return {"better": better, "baseline": baseline, "text": text}
