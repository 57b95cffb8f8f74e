"""The values a target can take: counts are whole numbers, a thermostat's setpoint moves in half
degrees, a meter reports to one decimal.

A quantile of such a target lies on that grid too, and an interval's ends read off it (P90 of
"2.36 orders" is 2 orders). It matters beyond looks: a setpoint that is exactly 21.0 most of the
time gets P10 and P90 a hair either side of a forecast a hair off 21.0, a band that misses the
value it was drawn around (a synthetic thermostat's P10-P90 held 67% of its test part in a
default run, and 90% read off the half degrees). Moving each quantile to the nearest value on
the grid never takes a value of the grid out of the interval — every grid value at or above a
lower end is at or above its nearest grid value, and likewise below an upper end — and puts the
grid value a narrow band was drawn around back in. Nearest is monotone, so quantiles stay in
order.

The grid is learned from the observed values of the training part: the largest step that every
value is a whole number of steps from the first one. Means of several readings (a resample to a
coarser grid) or measurements of a continuous quantity fit no such step, and are left alone.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]
# Values are a whole number of steps apart to within this share of a step (floating-point sums of
# 0.1 are not exact).
TOLERANCE = 1e-6
# More levels than this between the lowest and highest value is no grid a forecast reads off.
MAX_LEVELS = 10_000_000
# The step is the smallest difference between distinct values divided by one of these: 0, 0.2
# and 0.5 are on a grid of 0.1, whose step never shows as a difference of two values.
DIVISORS = (1, 2, 3, 4, 5, 6, 8, 10)
MIN_VALUES = 20  # fewer observed values show no grid


def value_grid(values: ArrayLike) -> tuple[float, float] | None:
    """(step, anchor) of the grid ``anchor + k x step`` the finite ``values`` all lie on, or None
    when they lie on none (or are too few, or all equal)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < MIN_VALUES:
        return None
    levels = np.unique(v)
    if levels.size < 2:
        return None
    smallest = float(np.diff(levels).min())
    span = float(levels[-1] - levels[0])
    anchor = float(levels[0])
    for divisor in DIVISORS:
        step = smallest / divisor
        if span / step > MAX_LEVELS:
            return None
        k = (levels - anchor) / step
        if float(np.abs(k - np.round(k)).max()) <= TOLERANCE:
            # Rounded (0.1, not the 0.10000000000000142 two readings differ by) and anchored in
            # [0, step), so a grid of whole numbers reads as 0 + k x 1 and its points print as
            # the data's values do.
            step = _round(step)
            offset = (anchor / step) % 1.0
            return step, 0.0 if min(offset, 1 - offset) <= TOLERANCE else _round(offset * step)
    return None


def _round(x: float) -> float:
    return float(f"{x:.10g}")


def on_grid(values: ArrayLike, step: float, anchor: float) -> F64:
    """``values`` moved to the nearest point of the grid ``anchor + k x step``."""
    v = np.asarray(values, dtype=np.float64)
    return anchor + step * np.round((v - anchor) / step)
