"""Forecast and gap-classifier metrics, and the baselines they are compared with.

All functions take arrays in real units and ignore NaN positions of the truth (a target step that
was never observed is not scored), so a filled gap never counts as ground truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gapcast.errors import InvalidInput


def _pairs(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise InvalidInput(f"expected equal shapes, received {t.shape} and {p.shape}")
    ok = np.isfinite(t) & np.isfinite(p)
    return t[ok], p[ok]


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    t, p = _pairs(y_true, y_pred)
    return float(np.mean(np.abs(t - p))) if t.size else float("nan")


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    t, p = _pairs(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2))) if t.size else float("nan")


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric MAPE in percent (0–200); a step where truth and forecast are both 0 scores 0."""
    t, p = _pairs(y_true, y_pred)
    if not t.size:
        return float("nan")
    denom = np.abs(t) + np.abs(p)
    ratio = np.divide(2.0 * np.abs(t - p), denom, out=np.zeros_like(t), where=denom > 0)
    return float(100.0 * np.mean(ratio))


def naive_scale(train_series: np.ndarray, season: int = 1) -> float:
    """In-sample MAE of the seasonal-naive forecast on the training series (MASE's denominator).

    ``train_series`` is (T,) or (T, n_targets); NaN steps (gaps) are skipped.
    """
    s = np.asarray(train_series, dtype=np.float64)
    if s.ndim == 1:
        s = s[:, None]
    if len(s) <= season:
        return float("nan")
    diff = np.abs(s[season:] - s[:-season])
    diff = diff[np.isfinite(diff)]
    return float(np.mean(diff)) if diff.size else float("nan")


def mase(y_true: np.ndarray, y_pred: np.ndarray, scale: float) -> float:
    """Mean absolute scaled error: MAE divided by the training naive MAE (``naive_scale``)."""
    if not np.isfinite(scale) or scale <= 0:
        return float("nan")
    return mae(y_true, y_pred) / scale


def forecast_metrics(y_true: np.ndarray, y_pred: np.ndarray, scale: float) -> dict[str, float]:
    return {
        "mae": mae(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "smape": smape(y_true, y_pred),
        "mase": mase(y_true, y_pred, scale),
    }


def naive_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """Last value of each window repeated over the horizon; history (n, L, k) → (n, horizon, k)."""
    last = history[:, -1:, :]
    return np.repeat(last, horizon, axis=1)


def seasonal_naive_forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Step h repeats the value one season earlier: ŷ[t+h] = y[t+h-m·⌈(h+1)/m⌉] (needs L ≥ m)."""
    lookback = history.shape[1]
    if season > lookback:
        raise InvalidInput(
            f"seasonal naive needs lookback >= season, received {lookback} < {season}"
        )
    idx = lookback - season + (np.arange(horizon) % season)
    return history[:, idx, :]


def season_for(freq_ns: int | None) -> int:
    """The natural season length in grid steps for a frequency (1 when none applies):
    a day for sub-daily grids, a week for daily, a year for weekly and monthly ones."""
    if not freq_ns:
        return 1
    day = 86_400 * 10**9
    if freq_ns < day and day % freq_ns == 0:
        return day // freq_ns
    if freq_ns == day:
        return 7
    if 6 * day <= freq_ns <= 8 * day:
        return 52
    if 28 * day <= freq_ns <= 31 * day:
        return 12
    return 1


def classification_metrics(
    y_true: np.ndarray, p: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """Precision, recall, F1 (at ``threshold``), ROC AUC and average precision of probabilities
    ``p``; labels 0/1."""
    t = np.asarray(y_true, dtype=bool).ravel()
    s = np.asarray(p, dtype=np.float64).ravel()
    pred = s >= threshold
    tp = float(np.sum(pred & t))
    fp = float(np.sum(pred & ~t))
    fn = float(np.sum(~pred & t))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(t, s),
        "average_precision": average_precision(t, s),
    }


def average_precision(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve, as the step sum of precision times the gain in
    recall over the distinct scores from the highest down (scikit-learn's definition, no
    interpolation). Threshold-free, like ROC AUC, but not flattered by a large majority of
    negatives: with gaps at 2% of the steps, a classifier that ranks at random scores ~0.02 here
    and 0.5 in ROC AUC. NaN when there is no positive."""
    t = np.asarray(y_true, dtype=bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    n_pos = int(t.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    hits = t[order]
    # Tied scores are one threshold: take the counts at the last sample of each distinct score.
    last = np.append(np.flatnonzero(np.diff(s[order])), s.size - 1)
    tp = np.cumsum(hits)[last]
    flagged = last + 1
    recall = tp / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * tp / flagged))


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve via the rank-sum (Mann–Whitney U), ties counted half."""
    t = np.asarray(y_true, dtype=bool).ravel()
    s = np.asarray(score, dtype=np.float64).ravel()
    n_pos = int(t.sum())
    n_neg = t.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(s.size, dtype=np.float64)
    sorted_s = s[order]
    # Average ranks over ties so equal scores count half a win each.
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def blocked_folds(
    positions: np.ndarray, n_folds: int, margin: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) index arrays of blocked cross-validation over time-ordered samples.

    ``positions`` (ascending grid indices, one per sample) are cut into ``n_folds`` contiguous
    blocks, never shuffled; each block is held out once. A sample trains only when its position is
    at least ``margin`` away from the held-out block on either side, so with ``margin`` =
    lookback + horizon no training window shares a grid point with a held-out one. Training on
    both sides (not only the past, as a forward-chaining split does) is what lets early outages
    be scored at all; the purge margin is what keeps that from leaking.
    """
    pos = np.asarray(positions, dtype=np.int64)
    folds = []
    for block in np.array_split(np.arange(len(pos)), n_folds):
        if not len(block):
            continue
        first, last = pos[block[0]], pos[block[-1]]
        train = np.flatnonzero((pos <= first - margin) | (pos >= last + margin))
        folds.append((train, block))
    return folds


def ffill(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs along the last axis (what a baseline knows at each step)."""
    v = np.asarray(values, dtype=np.float64)
    idx = np.where(np.isfinite(v), np.arange(v.shape[-1]), 0)
    np.maximum.accumulate(idx, axis=-1, out=idx)
    return np.take_along_axis(v, idx, axis=-1)


def score_test_windows(
    *,
    grid_ts: np.ndarray,
    real: np.ndarray,
    freq_ns: int,
    train_end: int,
    target_ts: np.ndarray,
    forecast: np.ndarray,
    season: int,
    lookback: int,
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of ``forecast`` (n, horizon, k, real units) and both baselines on the same windows.

    Truth comes from the real grid series ``real`` (k, T), NaN where unobserved (not scored);
    baselines use its forward-filled version, i.e. only values known before each window.
    MASE is scaled by the seasonal-naive in-sample error on the training part.
    Returns the metrics and the truth array (n, horizon, k).
    """
    n, horizon, _ = forecast.shape
    idx = ((target_ts - grid_ts[0]) // freq_ns).astype(np.int64)  # (n, horizon)
    truth = np.moveaxis(real[:, idx], 0, -1)  # (n, horizon, k)
    known = ffill(real)
    first = idx[:, :1]
    naive = np.moveaxis(known[:, np.broadcast_to(first - 1, idx.shape)], 0, -1)
    scale = naive_scale(real[:, :train_end].T, season)
    out: dict[str, Any] = forecast_metrics(truth, forecast, scale)
    out["naive"] = forecast_metrics(truth, naive, scale)
    out["seasonal_naive"] = None
    if 1 < season <= lookback:
        h = np.arange(horizon)
        back = season * ((h // season) + 1)
        seasonal = np.moveaxis(known[:, idx - back], 0, -1)
        out["seasonal_naive"] = forecast_metrics(truth, seasonal, scale)
    out["season"] = season
    out["windows"] = int(n)
    out["points"] = int(np.isfinite(truth).sum())
    return out, truth
