"""How large a difference between two methods' backtest errors must be before it counts.

Two methods scored on the same origins differ by chance as well as by skill: on bike sharing's
7 test origins a model 0.2% ahead of AutoETS at one training seed is 1.4% behind at another. The
difference of their errors, origin by origin, is the paired sample that says how large chance
is (the Diebold-Mariano comparison, with each origin's mean error as one observation). A gain
counts as one when it clears two standard errors of that mean difference. Origins closer together
than the horizon forecast some of the same steps, so neighbours' errors are alike and count as less
than independent evidence: the standard error then takes their autocovariances in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
STANDARD_ERRORS = 2.0  # a gain must clear this many standard errors of the paired difference


def origin_errors(abs_err: F64, scored: NDArray[np.bool_], scales: F64 | None) -> F64:
    """(n,) each origin's error on the scale methods are ranked by (``backtest.ranking_error``):
    its MAE for one target; for several, the mean over targets of each one's MAE relative to its
    own scale. NaN for an origin with nothing scored."""
    count = scored.sum(axis=1)  # (n, k)
    total = np.where(scored, abs_err, 0.0).sum(axis=1)
    if abs_err.shape[-1] == 1 or scales is None or not np.isfinite(scales).any():
        pooled = count.sum(axis=1)
        out: F64 = np.where(pooled > 0, total.sum(axis=1) / np.maximum(pooled, 1), np.nan)
        return out
    per_target = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    relative = per_target / np.asarray(scales, np.float64)
    usable = np.isfinite(relative)
    n_usable = usable.sum(axis=1)
    out = np.where(
        n_usable > 0, np.where(usable, relative, 0.0).sum(axis=1) / np.maximum(n_usable, 1), np.nan
    )
    return out


def overlap_lags(horizon: int, stride: int) -> int:
    """How many neighbouring origins share forecast steps with each one: their errors move
    together, and the variance of the mean difference has to count it."""
    return max(0, -(-max(horizon, 1) // max(stride, 1)) - 1)


def margin(model: F64, best: F64, lags: int = 0) -> tuple[float | None, int]:
    """(two standard errors of the mean per-origin difference, origins compared); None with
    fewer than two origins, where nothing tells a gain from chance.

    ``lags``: origins whose horizons overlap the next ones' (:func:`overlap_lags`). Their
    differences are autocorrelated, so the variance is the Diebold-Mariano one, autocovariances
    up to ``lags`` included, with Harvey, Leybourne and Newbold's small-sample correction (as R's
    ``forecast::dm.test``), and Bartlett weights where that estimate is not positive. With
    ``lags=0`` it is the plain standard error of the mean difference. Dropped origins (too little
    observed) are taken as if the rest were evenly spaced.
    """
    both = np.isfinite(model) & np.isfinite(best)
    n = int(both.sum())
    if n < 2:
        return None, n
    diff = model[both] - best[both]
    h = min(lags + 1, n - 1)  # beyond n - 1 the correction is undefined
    centred = diff - diff.mean()
    gamma = np.array([centred[k:] @ centred[: n - k] / n for k in range(h)])
    variance = float(gamma[0] + 2.0 * gamma[1:].sum())
    if variance <= 0.0:
        bartlett = 1.0 - np.arange(1, h) / h
        variance = float(gamma[0] + 2.0 * (bartlett * gamma[1:]).sum())
    correction = (n + 1 - 2 * h + h * (h - 1) / n) / n
    return float(STANDARD_ERRORS * np.sqrt(max(variance, 0.0) / n / correction)), n
