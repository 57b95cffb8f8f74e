"""The run's PNG: forecast against truth on the test span, in real units.

Main panel: the truth and the 1-step-ahead and horizon-step-ahead forecasts of every test window,
stitched along time, with large gaps shaded; a lower track with the gap classifier's probability
when one was trained; a side panel with the train/validation loss curves. matplotlib (Agg) is
imported only when a plot is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

WIDTH_PX, HEIGHT_PX, DPI = 1200, 700, 100


@dataclass
class PlotData:
    title: str
    target_ts: np.ndarray  # (n, horizon) int64 ns
    forecast: np.ndarray  # (n, horizon, k) real units
    truth: np.ndarray  # (n, horizon, k) real units, NaN where unobserved
    targets: Sequence[str] = ("value",)
    large_gaps: Sequence[tuple[int, int]] = ()
    gap_probability: tuple[np.ndarray, np.ndarray] | None = None  # (timestamps ns, p)
    history: Sequence[dict[str, float]] = field(default_factory=list)


def _dt(ts: np.ndarray) -> np.ndarray:
    return np.asarray(ts, dtype=np.int64).astype("datetime64[ns]")


def render_forecast_png(data: PlotData) -> bytes:
    """PNG bytes, exactly 1200x700 px."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, thread-safe
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    has_gap = data.gap_probability is not None
    grid = fig.add_gridspec(
        2 if has_gap else 1,
        2,
        width_ratios=(3.2, 1),
        height_ratios=(3, 1) if has_gap else None,
        left=0.06,
        right=0.98,
        top=0.92,
        bottom=0.08,
        wspace=0.18,
        hspace=0.08,
    )
    ax = fig.add_subplot(grid[0, 0])
    horizon = data.target_ts.shape[1] if data.target_ts.ndim == 2 else 1
    if data.target_ts.size:
        k = 0  # the first target; more would crowd the panel
        # Truth along the test span: step 0 of each window, then the last window's tail.
        t_truth = np.concatenate([data.target_ts[:, 0], data.target_ts[-1, 1:]])
        y_truth = np.concatenate([data.truth[:, 0, k], data.truth[-1, 1:, k]])
        ax.plot(_dt(t_truth), y_truth, color="black", lw=1.0, label=f"{data.targets[0]} (truth)")
        ax.plot(
            _dt(data.target_ts[:, 0]),
            data.forecast[:, 0, k],
            color="tab:blue",
            lw=1.0,
            label="forecast, 1 step ahead",
        )
        if horizon > 1:
            ax.plot(
                _dt(data.target_ts[:, -1]),
                data.forecast[:, -1, k],
                color="tab:orange",
                lw=0.9,
                alpha=0.8,
                label=f"forecast, {horizon} steps ahead",
            )
    span = (data.target_ts.min(), data.target_ts.max()) if data.target_ts.size else (0, -1)
    shown = [(s, e) for s, e in data.large_gaps if e >= span[0] and s <= span[1]]
    for start, end in shown:
        ax.axvspan(_dt(np.array([start]))[0], _dt(np.array([end]))[0], color="tab:red", alpha=0.15)
    if shown:
        ax.plot([], [], color="tab:red", alpha=0.3, lw=6, label="large gap")
    if data.target_ts.size:
        lo, hi = _dt(np.array([data.target_ts[:, 0].min(), data.target_ts[:, -1].max()]))
        ax.set_xlim(lo, hi)
    ax.set_title(data.title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    if has_gap and data.gap_probability is not None:
        axg = fig.add_subplot(grid[1, 0], sharex=ax)
        ts, p = data.gap_probability
        axg.fill_between(
            _dt(ts), np.asarray(p, dtype=float), color="tab:red", alpha=0.5, step="mid"
        )
        axg.set_ylim(0, 1)
        axg.set_ylabel("P(no data)")
        axg.grid(alpha=0.3)
        ax.tick_params(labelbottom=False)
    axl = fig.add_subplot(grid[:, 1])
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(data.history)]
    for key, color in (("loss", "tab:blue"), ("val_loss", "tab:orange")):
        values = [h.get(key, np.nan) for h in data.history]
        if any(np.isfinite(values)):
            axl.plot(epochs, values, marker="o", ms=3, color=color, label=key)
    axl.set_title("loss (scaled units)")
    axl.set_xlabel("epoch")
    axl.xaxis.set_major_locator(MaxNLocator(integer=True))
    axl.grid(alpha=0.3)
    if data.history:
        axl.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
