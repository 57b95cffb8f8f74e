"""The backtest's figures for the model's ranges: coverage, width and pinball loss on the same
origins and points as its point forecasts, beside the seasonal naive's empirical quantiles and
statsforecast's own intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.model_training.backtest import F64, Origins, truth_at


def interval_figures(
    data: Any,
    intervals: Any,
    quantiles: F64,
    origins: Origins,
    observed_fraction: F64,
    season: int,
    baselines: dict[str, tuple[str, F64]] | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    """Coverage, width and pinball loss of the model's quantiles on the backtest origins, the
    pinball loss of the seasonal naive's empirical quantiles on the same points, and their
    ratio (< 1: the model's ranges are better); then the same figures for the statsforecast
    models' own intervals (``baselines``: method → (label, (quantiles, n, horizon, k))), each
    scored on the model's points. The hour (or day) where the model's range held least is read
    on the wall clock of ``zone``."""
    from gapcast.model_training.baselines import Naive, SeasonalNaive
    from gapcast.model_training.intervals import empirical_quantiles, interval_scores, pinball
    from gapcast.processing.seasons import Season

    levels = tuple(intervals.quantiles)
    horizon = data.horizon
    truth = truth_at(data.real, origins.index, horizon)
    scored = np.isfinite(truth) & np.isfinite(quantiles).all(axis=0)
    gappy = np.asarray(observed_fraction) < 1.0
    times = np.asarray(data.grid_ts)[origins.index[:, None] + np.arange(horizon)[None, :]]
    figures = interval_scores(
        truth, quantiles, levels, scored, gappy, times, data.freq_ns, zone=zone
    )
    # Named as the leaderboard names it: with no confirmed season the reference is the naive.
    named = next((s for s in data.baseline_seasons() if s.steps == season), None)
    reference = SeasonalNaive(named or Season(f"{season} steps", season)) if season > 1 else Naive()
    baseline = reference.forecast(data.real, origins.index, horizon)
    offsets = empirical_quantiles(data.real[:, : data.split[0]], season, horizon, levels)
    naive_q = baseline[None] + offsets[:, None]
    figures["pinball_seasonal_naive"] = pinball(truth, naive_q, levels, scored)
    figures["pinball_ratio"] = pinball_ratio(truth, quantiles, naive_q, levels, scored)
    figures["pinball_reference"] = reference.label
    figures["quantiles"] = list(levels)
    figures["gap_factor"] = intervals.gap_factor
    figures["baselines"] = []
    for method, (label, bands) in (baselines or {}).items():
        theirs = interval_scores(truth, bands, levels, scored, gappy)
        figures["baselines"].append(
            {
                "method": method,
                "label": label,
                "coverage": theirs["coverage"],
                "width": theirs["width"],
                "pinball": theirs["pinball"],
                "pinball_ratio": pinball_ratio(truth, bands, naive_q, levels, scored),
            }
        )
    return figures


def pinball_ratio(
    truth: F64, bands: F64, reference: F64, levels: tuple[float, ...], scored: NDArray[np.bool_]
) -> float | None:
    """Pinball loss of ``bands`` over the ``reference``'s, (quantiles, n, horizon, k) each; with
    several targets the mean of each target's ratio, as the leaderboard's mean MASE (a pooled
    loss would be the largest-valued target's). None where the reference's loss is 0 or
    unscored."""
    from gapcast.model_training.intervals import pinball

    ratios = []
    for j in range(truth.shape[-1]):
        mine = pinball(truth[..., j], bands[..., j], levels, scored[..., j])
        ref = pinball(truth[..., j], reference[..., j], levels, scored[..., j])
        if np.isfinite(mine) and np.isfinite(ref) and ref > 0:
            ratios.append(mine / ref)
    return float(np.mean(ratios)) if ratios else None
