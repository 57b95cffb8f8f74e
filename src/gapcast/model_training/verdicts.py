"""The verdict: better or worse than the best baseline, by how much, in words a report can quote.

"Better" needs a strict gain larger than chance gives on the origins compared (two standard
errors of the paired per-origin difference, :mod:`paired_noise`); a model worse than the best
baseline says so, whatever the margin: a report that flatters is worse than none.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _times(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def _ratio(model_mae: float, best_mae: float) -> float:
    """model / best; equal up to rounding counts as equal (1.0), so an exact model is not
    "better" than an exact baseline by a rounding error."""
    if np.isclose(model_mae, best_mae, rtol=1e-9, atol=1e-12):
        return 1.0
    return model_mae / best_mae if best_mae > 0 else float("inf")


def _percent(share: float) -> str:
    """A difference in percent: whole percents, one decimal under 1% (never "by 0%")."""
    return f"{100 * share:.1f}%" if share < 0.01 else f"{round(100 * share)}%"


def verdict(
    model_mae: float | None,
    best_label: str,
    best_mae: float | None,
    *,
    noise: float | None = None,
    compared: int = 0,
) -> dict[str, Any]:
    """Better or worse than the best baseline, by how much. ``better`` only when strictly so and,
    given ``noise`` (two standard errors of the paired per-origin difference over ``compared``
    origins, :mod:`paired_noise`), by more than it: a gain chance could give is "no better"."""
    if model_mae is None or best_mae is None:
        return {
            "better": False,
            "ratio": None,
            "baseline": best_label,
            "noise": None,
            "text": "not scored: no backtest origin had enough observed points",
        }
    ratio = _ratio(model_mae, best_mae)
    within = noise is not None and abs(best_mae - model_mae) <= noise
    noted = f", within noise on {compared} origins" if within else ""
    if ratio < 1 and not within:
        text = f"better than the best baseline ({best_label}) by {_percent(1 - ratio)}"
    elif ratio < 1:
        text = (
            f"no better than the best baseline ({best_label}): "
            f"{_percent(1 - ratio)} lower MAE{noted}"
        )
    elif ratio == 1:
        text = f"no better than the best baseline ({best_label})"
    elif ratio < 2:
        text = f"worse than the best baseline ({best_label}) by {_percent(ratio - 1)}{noted}"
    elif np.isfinite(ratio):
        text = f"worse than the best baseline ({best_label}) by {_times(ratio)}{noted}"
    else:
        text = f"worse than the best baseline ({best_label}), which is exact"
    return {
        "better": bool(ratio < 1 and not within),
        "ratio": float(ratio) if np.isfinite(ratio) else None,
        "baseline": best_label,
        "noise": noise,
        "text": text,
    }
