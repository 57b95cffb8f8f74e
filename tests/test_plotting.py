"""The run's PNG shows what it should, where it should: checked by pixel colour at coordinates
taken from the figure's own transforms (data -> display pixels), not hard-coded."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from PIL import Image

from gapcast.plotting import (
    HEIGHT_PX,
    LARGE_GAP_COLOR,
    MODEL_COLOR,
    WIDTH_PX,
    PlotData,
    draw_run_figure,
    figure_png,
)

N = 200
GAP = (110, 130)  # unobserved steps [110, 130): a large gap, right of the legend
PATH = (150, 174)  # one forecast path
LEVEL = 3.0  # the forecast's value, above the truth (a sine within +-1)


def _rgb(color: str, alpha: float = 1.0) -> np.ndarray[Any, Any]:
    """``color`` at ``alpha`` over the white axes, as 0-255 RGB."""
    return 255 * (alpha * np.array(to_rgb(color)) + (1 - alpha))


def test_the_forecast_line_and_the_gap_band_are_drawn_where_they_belong() -> None:
    ts = pd.date_range("2024-03-01", periods=N, freq="h").as_unit("ns").asi8
    step = int(ts[1] - ts[0])
    truth = np.sin(np.arange(N) / 6.0)
    truth[GAP[0] : GAP[1]] = np.nan
    gap = (int(ts[GAP[0]]) - step // 2, int(ts[GAP[1] - 1]) + step // 2)
    data = PlotData(
        title="t",
        grid_ts=ts,
        truth=truth,
        large_gaps=[gap],
        paths=[(ts[PATH[0] : PATH[1]], np.full(PATH[1] - PATH[0], LEVEL))],
    )
    fig = draw_run_figure(data)
    image = np.asarray(Image.open(io.BytesIO(figure_png(fig))).convert("RGB")).astype(float)
    assert image.shape == (HEIGHT_PX, WIDTH_PX, 3)
    ax = fig.axes[0]
    top, bottom = ax.get_ylim()[1], ax.get_ylim()[0]

    def pixel(index: int, value: float) -> tuple[int, int]:
        """(row, column) of the grid point ``index`` at ``value``: PNG rows count from the top."""
        x = np.datetime64(int(ts[index]), "ns")
        px, py = ax.transData.transform((ax.xaxis.convert_units(x), value))
        return HEIGHT_PX - 1 - round(py), round(px)

    def column(index: int) -> np.ndarray[Any, Any]:
        """The main panel's pixels, top to bottom, a few columns around grid point ``index`` (a
        vertical grid line, one pixel wide, may cross one of them)."""
        r_top, c = pixel(index, top)
        r_bottom, _ = pixel(index, bottom)
        return image[r_top + 3 : r_bottom - 2, c - 3 : c + 4].reshape(-1, 3)

    def near(row: int, col: int, color: np.ndarray[Any, Any], radius: int = 2) -> float:
        patch = image[row - radius : row + radius + 1, col - radius : col + radius + 1]
        return float(np.abs(patch - color).sum(axis=2).min())

    blue, band, white = _rgb(MODEL_COLOR), _rgb(LARGE_GAP_COLOR, 0.18), _rgb("white")
    # The forecast line, at its value, in the middle of its path; not at that height elsewhere.
    middle = (PATH[0] + PATH[1]) // 2
    assert near(*pixel(middle, LEVEL), blue) < 30
    assert near(*pixel(60, LEVEL), blue) > 150
    # The gap band fills the panel's height inside the gap, and nowhere outside it.
    inside = np.median(column((GAP[0] + GAP[1]) // 2), axis=0)
    assert np.abs(inside - band).sum() < 12, inside
    for outside in (GAP[0] - 8, GAP[1] + 8):
        assert np.abs(np.median(column(outside), axis=0) - white).sum() < 12
    # No truth line is drawn across the outage: no dark pixel in the gap's column.
    assert column((GAP[0] + GAP[1]) // 2).sum(axis=1).min() > 3 * 150


def test_a_long_title_wraps_inside_the_main_panel() -> None:
    """A chosen model's label and the verdict can run to 180 characters: the title wraps so that
    no line leaves the main panel's width (on one line it ran off the figure's left edge)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ts = pd.date_range("2024-03-01", periods=N, freq="h").as_unit("ns").asi8
    title = (
        "average of linear + naive correction and mlp + naive correction, halfway to naive: "
        "MAE 0.149, no better than the best baseline (naive): 2% lower MAE, within noise on "
        "1402 origins"
    )
    fig = draw_run_figure(PlotData(title=title, grid_ts=ts, truth=np.sin(np.arange(N) / 6.0)))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    shown, panel = ax.title.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert ax.title.get_text().replace("\n", " ") == title
    assert ax.title.get_text().count("\n") == 1
    assert panel.x0 <= shown.x0 and shown.x1 <= panel.x1, (shown, panel)
    assert shown.y1 <= fig.bbox.height
