"""The run's PNG: what the backtest saw, drawn so it cannot mislead.

Main panel: the truth over the test span (and a little history before it) with breaks where
nothing was observed — never a line drawn across an outage — one shaded band per large gap, small
gaps marked faintly, and the whole forecast path of a few backtest origins — with its calibrated
range (the outer quantiles) shaded — and the best baseline's path in grey. Beside it: the loss
curves and the MAE per lead time of the model and the best baseline. A lower track shows the gap
classifier's probability when one was trained.
matplotlib (Agg) is imported only when a plot is drawn.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.processing.gaps import find_runs

WIDTH_PX, HEIGHT_PX, DPI = 1200, 760, 100
# Characters per line of the main panel's title (about 7 px each at its size, in a panel about
# 770 px wide): a chosen model's label and the verdict together run past one line.
TITLE_CHARS = 100
PATHS_SHOWN = 4
MAX_SMALL_GAPS = 2_000  # faint marks; past this many they would only grey the panel out
TRUTH_COLOR, MODEL_COLOR, BASELINE_COLOR = "black", "tab:blue", "0.55"
LARGE_GAP_COLOR, SMALL_GAP_COLOR = "tab:red", "tab:orange"


@dataclass
class PlotData:
    title: str
    grid_ts: NDArray[np.int64]  # (T,) the span drawn
    truth: NDArray[np.float64]  # (T,) first target, real units, NaN where unobserved
    target: str = "value"
    large_gaps: Sequence[tuple[int, int]] = ()  # (start_ns, end_ns) inclusive
    small_gaps: Sequence[tuple[int, int]] = ()
    paths: Sequence[tuple[NDArray[np.int64], NDArray[np.float64]]] = ()  # (ts, forecast)
    baseline_paths: Sequence[tuple[NDArray[np.int64], NDArray[np.float64]]] = ()
    # (ts, low, high) of the outer quantiles around each forecast path, and their label.
    bands: Sequence[tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]] = ()
    band_label: str | None = None
    baseline_label: str | None = None
    model_label: str = "model"
    mae_by_lead: Sequence[float | None] = ()
    baseline_mae_by_lead: Sequence[float | None] = ()
    better: bool = True
    gap_probability: tuple[NDArray[np.int64], NDArray[np.float64]] | None = None
    gap_threshold: float | None = None  # the classifier's stored threshold, drawn on its track
    history: Sequence[dict[str, float]] = field(default_factory=list)


def merged_intervals(intervals: Sequence[tuple[int, int]], step: int) -> list[tuple[int, int]]:
    """Overlapping or touching (within one grid ``step``) intervals joined into one: an outage of
    several channels is one band, not several stripes."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + step:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def gap_intervals(
    grid_ts: NDArray[np.int64], observed: NDArray[np.bool_], max_fill: int, step: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(large, small) runs of unobserved steps as time intervals, each reaching half a grid step
    past its first and last missing point (so a one-point gap still has a width)."""
    starts, lengths = find_runs(~np.asarray(observed, dtype=bool))
    large: list[tuple[int, int]] = []
    small: list[tuple[int, int]] = []
    for s, n in zip(starts.tolist(), lengths.tolist(), strict=True):
        pair = (int(grid_ts[s]) - step // 2, int(grid_ts[s + n - 1]) + step // 2)
        (large if n > max_fill else small).append(pair)
    return large, small


def plot_data(
    data: Any,
    metrics: Any,
    detail: Any,
    *,
    history: Sequence[dict[str, float]],
    gap_probability: tuple[NDArray[np.int64], NDArray[np.float64]] | None = None,
    gap_threshold: float | None = None,
) -> PlotData:
    """What a run's PNG shows, from its TrainingData, ForecastMetrics and backtest paths."""
    test_start = data.split[1]
    begin = max(0, test_start - 2 * data.horizon)
    grid_ts = data.grid_ts[begin:]
    observed = data.observed[begin:]
    large, small = gap_intervals(grid_ts, observed, data.max_fill, data.freq_ns)
    origins = detail.origins.index
    shown = np.unique(np.linspace(0, len(origins) - 1, min(PATHS_SHOWN, len(origins))).astype(int))
    step = data.freq_ns * np.arange(data.horizon, dtype=np.int64)
    model = detail.forecasts["model"][1]
    baseline_label, baseline = detail.forecasts[detail.best] if detail.best else (None, None)
    model_paths, baseline_paths, bands = [], [], []
    levels: tuple[float, ...] = ()
    quantiles = None
    if detail.quantiles is not None:
        levels, quantiles = detail.quantiles
    for i in shown if len(origins) else []:
        ts = data.grid_ts[origins[i]] + step
        model_paths.append((ts, model[i, :, 0]))
        if quantiles is not None:
            bands.append((ts, quantiles[0, i, :, 0], quantiles[-1, i, :, 0]))
        if baseline is not None:
            baseline_paths.append((ts, baseline[i, :, 0]))
    best = next((r for r in metrics.leaderboard if r.kind == "baseline"), None)
    mae = "n/a" if metrics.mae is None else f"{metrics.mae:.4g}"
    return PlotData(
        title=f"{metrics.model_label}: MAE {mae}, {metrics.verdict.text}",
        grid_ts=grid_ts,
        truth=data.real[0, begin:],
        target=data.targets[0],
        large_gaps=merged_intervals(large, data.freq_ns),
        small_gaps=merged_intervals(small, data.freq_ns)[:MAX_SMALL_GAPS],
        paths=model_paths,
        baseline_paths=baseline_paths,
        bands=bands,
        band_label=f"P{100 * levels[0]:g}–P{100 * levels[-1]:g}" if len(levels) > 1 else None,
        baseline_label=baseline_label,
        model_label=metrics.model_label,
        mae_by_lead=metrics.mae_by_lead,
        baseline_mae_by_lead=best.mae_by_lead if best is not None else (),
        better=metrics.verdict.better,
        gap_probability=gap_probability,
        gap_threshold=gap_threshold,
        history=history,
    )


def _dt(ts: Any) -> NDArray[Any]:
    return np.asarray(ts, dtype=np.int64).astype("datetime64[ns]")


def _floats(values: Sequence[float | None]) -> NDArray[np.float64]:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def render_run_png(data: PlotData) -> bytes:
    """PNG bytes, exactly ``WIDTH_PX`` x ``HEIGHT_PX``."""
    return figure_png(draw_run_figure(data))


def figure_png(fig: Any) -> bytes:
    """The figure as PNG at ``DPI``, so a display coordinate of its transforms is a pixel."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def draw_run_figure(data: PlotData) -> Any:
    """The matplotlib Figure of the run's PNG; its first axes is the main panel (a test maps
    data to pixels through ``fig.axes[0].transData``)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, thread-safe
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    has_gap = data.gap_probability is not None
    grid = fig.add_gridspec(
        3 if has_gap else 2,
        2,
        width_ratios=(3.2, 1),
        height_ratios=(2, 1, 0.8) if has_gap else (2, 1),
        left=0.06,
        right=0.98,
        top=0.92,
        bottom=0.07,
        wspace=0.18,
        hspace=0.35,
    )
    ax = fig.add_subplot(grid[:2, 0])
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    if data.grid_ts.size:
        # NaN breaks the line: nothing is drawn where nothing was observed.
        ax.plot(_dt(data.grid_ts), data.truth, color=TRUTH_COLOR, lw=0.9, label=f"{data.target}")
        ax.set_xlim(_dt(data.grid_ts[:1])[0], _dt(data.grid_ts[-1:])[0])
    for i, (ts, values) in enumerate(data.baseline_paths):
        label = f"best baseline ({data.baseline_label})" if i == 0 else None
        ax.plot(_dt(ts), values, color=BASELINE_COLOR, lw=1.2, ls="--", label=label)
    for i, (ts, low, high) in enumerate(data.bands):
        label = f"forecast range {data.band_label}" if i == 0 else None
        ax.fill_between(_dt(ts), low, high, color=MODEL_COLOR, alpha=0.18, lw=0, label=label)
    for i, (ts, values) in enumerate(data.paths):
        label = f"forecast ({data.model_label})" if i == 0 else None
        ax.plot(_dt(ts), values, color=MODEL_COLOR, lw=1.6, label=label)
        ax.axvline(_dt(ts[:1])[0], color=MODEL_COLOR, lw=0.6, alpha=0.4)
    for i, (start, end) in enumerate(data.large_gaps):
        ax.axvspan(
            _dt([start])[0],
            _dt([end])[0],
            color=LARGE_GAP_COLOR,
            alpha=0.18,
            lw=0,
            label="outage (large gap)" if i == 0 else None,
        )
    for i, (start, end) in enumerate(data.small_gaps):
        ax.axvspan(
            _dt([start])[0],
            _dt([end])[0],
            color=SMALL_GAP_COLOR,
            alpha=0.12,
            lw=0,
            label="small gap" if i == 0 else None,
        )
    title = "\n".join(textwrap.wrap(data.title, TITLE_CHARS)) or data.title
    ax.set_title(title, fontsize=10, color="black" if data.better else "tab:red")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    if has_gap and data.gap_probability is not None:
        axg = fig.add_subplot(grid[2, 0], sharex=ax)
        ts, p = data.gap_probability
        # The actual gaps behind the predicted probability: what it should have foreseen.
        for i, (start, end) in enumerate([*data.large_gaps, *data.small_gaps]):
            axg.axvspan(
                _dt([start])[0],
                _dt([end])[0],
                color="0.6",
                alpha=0.35,
                lw=0,
                label="actual gap" if i == 0 else None,
            )
        axg.plot(
            _dt(ts),
            np.asarray(p, float),
            color="tab:red",
            lw=0.9,
            drawstyle="steps-mid",
            label="P(no data), one step ahead",
        )
        if data.gap_threshold is not None:
            axg.axhline(data.gap_threshold, color="tab:red", lw=0.7, ls=":", label="threshold")
        axg.set_ylim(0, 1)
        axg.set_ylabel("P(no data)")
        axg.legend(loc="upper left", fontsize=7, ncol=3)
        axg.grid(alpha=0.3)
    axl = fig.add_subplot(grid[0, 1])
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(data.history)]
    for key, color in (("loss", "tab:blue"), ("val_loss", "tab:orange")):
        curve = [h.get(key, np.nan) for h in data.history]
        if any(np.isfinite(curve)):
            axl.plot(epochs, curve, marker="o", ms=3, color=color, label=key)
    axl.set_title("loss (window-relative units)", fontsize=9)
    axl.set_xlabel("epoch")
    axl.xaxis.set_major_locator(MaxNLocator(integer=True))
    axl.grid(alpha=0.3)
    if data.history:
        axl.legend(fontsize=8)
    axm = fig.add_subplot(grid[1:, 1])
    if len(data.mae_by_lead):
        lead = np.arange(1, len(data.mae_by_lead) + 1)
        axm.plot(lead, _floats(data.mae_by_lead), color=MODEL_COLOR, label="model")
        if len(data.baseline_mae_by_lead):
            axm.plot(
                lead,
                _floats(data.baseline_mae_by_lead),
                color=BASELINE_COLOR,
                ls="--",
                label="best baseline",
            )
        axm.legend(fontsize=8)
    axm.set_title("MAE per lead time (backtest)", fontsize=9)
    axm.set_xlabel("steps ahead")
    axm.xaxis.set_major_locator(MaxNLocator(integer=True))
    axm.grid(alpha=0.3)
    return fig
