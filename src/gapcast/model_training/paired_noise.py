"""How large a difference between two methods' backtest errors must be before it counts.

Two methods scored on the same origins differ by chance as well as by skill: on bike sharing's
7 test origins a model 0.2% ahead of AutoETS at one training seed is 1.4% behind at another. The
difference of their errors, origin by origin, is the paired sample that says how large chance
is (the Diebold-Mariano comparison, with each origin's mean error as one observation: the
origins' horizons do not overlap, so they are closer to independent than single points). A gain
counts as one when it clears two standard errors of that mean difference.
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


def margin(model: F64, best: F64) -> tuple[float | None, int]:
    """(two standard errors of the mean per-origin difference, origins compared); None with
    fewer than two origins, where nothing tells a gain from chance."""
    both = np.isfinite(model) & np.isfinite(best)
    n = int(both.sum())
    if n < 2:
        return None, n
    diff = model[both] - best[both]
    return float(STANDARD_ERRORS * diff.std(ddof=1) / np.sqrt(n)), n
