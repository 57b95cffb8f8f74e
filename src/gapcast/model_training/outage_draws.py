"""Outages drawn onto training windows, so a model learns to forecast from a sparse lookback.

The windows a series offers are mostly complete: a sensor that fails a few times a year gives a
few dozen windows with an outage in their lookback among thousands. Yet the forecasts that matter
most to this product are the ones made right after an outage, or while one is still going on,
from whatever readings are left. A share of each epoch's training windows therefore reads a
stretch of its lookback as missing, exactly as a real outage reads (carried forward, mask 0,
level and spread from what is left), while its targets stay the truth: the masking augmentation
of masked time-series pretraining, applied to the gap pattern this product sees.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def draw_outages(
    rng: np.random.Generator,
    n: int,
    lookback: int,
    share: float,
    lengths: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """(which of ``n`` windows, their hidden lookback steps (m, lookback)) for about ``share``
    of them: one stretch each, as long as one of ``lengths`` (the series' own outages, capped at
    all of the lookback but one step), ending anywhere in the lookback (an outage still going
    on, or one that ended a few readings ago). No lengths, no outages."""
    if share <= 0 or lookback < 2 or n == 0 or lengths.size == 0:
        return np.zeros(0, np.int64), np.zeros((0, lookback), bool)
    chosen = np.flatnonzero(rng.random(n) < share)
    length = np.minimum(rng.choice(lengths, size=chosen.size), lookback - 1)
    end = rng.integers(length, lookback + 1)
    steps = np.arange(lookback)
    hide = (steps >= (end - length)[:, None]) & (steps < end[:, None])
    return chosen.astype(np.int64), hide
