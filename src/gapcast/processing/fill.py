"""FillGaps: fill the small gaps, leave the large ones missing.

Large gaps stay NaN on purpose: windows must not span them, and the gap model learns where they
are. ``observed`` is carried over unchanged, so filled points remain marked as not measured.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.gaps import find_runs, resolve_max_fill, small_gap_runs

FillMethod = Literal["linear", "ffill", "seasonal"]


class FillGaps(FrameStep):
    """Fill gaps of at most ``max_fill`` points by ``method``.

    ``max_fill`` is normally handed over by the pipeline from its detect_gaps step; ``None`` fills
    every gap. ``seasonal`` copies the value one ``season`` (grid steps) earlier — or later at the
    start of the series — and falls back to linear where neither is known.
    """

    name = "fill_gaps"

    def __init__(
        self,
        method: FillMethod = "linear",
        season: int | None = None,
        max_fill: int | str | None = None,
    ) -> None:
        self.method = method
        self.season = season
        self.max_fill = max_fill

    def get_params(self) -> dict[str, Any]:
        # max_fill belongs to detect_gaps in the stored config; the resolved limit is in `fitted`.
        return {"method": self.method, "season": self.season}

    def _get_fitted(self) -> dict[str, Any]:
        if not getattr(self, "fitted_", False):
            return {}
        return {"max_fill_points": self.max_fill_points_}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        value = fitted["max_fill_points"]
        self.max_fill_points_: int | None = None if value is None else int(value)
        self.fitted_ = True

    def fit(self, frame: SeriesFrame) -> FillGaps:
        if self.method == "seasonal" and self.season is None:
            raise InvalidInput(
                f"{self.where()}: method='seasonal' needs season (grid steps per season)",
                field=self.field("season"),
            )
        points = None
        if self.max_fill is not None:
            points = resolve_max_fill(
                self.max_fill, frame.freq_ns, where=self.where(), field=self.field()
            )
        self._set_fitted({"max_fill_points": points})
        return self

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._require_fitted()
        values = frame.values
        out: NDArray[np.float64] | None = None
        for c in range(frame.n_channels):
            missing = np.isnan(values[c])
            if not missing.any() or missing.all():
                continue
            starts, lengths = small_gap_runs(missing, self.max_fill_points_)
            if starts.size == 0:
                continue
            if out is None:
                out = np.array(values)  # copied only once some channel really needs a fill
            if self.method == "seasonal":
                assert self.season is not None
                _fill_seasonal(out[c], starts, lengths, self.season)
            else:
                _fill_runs(out[c], starts, lengths, linear=self.method == "linear")
        return frame if out is None else frame.replace(values=out)


def _run_positions(lengths: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For every point of the runs: which run it is in, and its 0-based offset inside it."""
    run_of = np.repeat(np.arange(lengths.size), lengths)
    offset = np.arange(run_of.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return run_of, offset


def _fill_runs(
    row: NDArray[np.float64],
    starts: NDArray[np.int64],
    lengths: NDArray[np.int64],
    *,
    linear: bool,
) -> None:
    """Fill maximal NaN runs from their two neighbours: a straight line, or the left value.

    Works on the gap points only (memory in proportion to what is filled, not to the series);
    a run at either end of the series takes the one neighbour it has.
    """
    run_of, offset = _run_positions(lengths)
    left, right = starts - 1, starts + lengths
    has_left, has_right = left >= 0, right < row.shape[0]
    left_value = np.where(has_left, row[np.where(has_left, left, 0)], np.nan)
    right_value = np.where(has_right, row[np.where(has_right, right, 0)], np.nan)
    left_value = np.where(has_left, left_value, right_value)
    right_value = np.where(has_right, right_value, left_value)
    positions = starts[run_of] + offset
    if linear:
        fraction = (offset + 1) / (lengths[run_of] + 1)
        step = (right_value - left_value)[run_of]
        row[positions] = left_value[run_of] + fraction * step
    else:
        row[positions] = left_value[run_of]


def _fill_seasonal(
    row: NDArray[np.float64], starts: NDArray[np.int64], lengths: NDArray[np.int64], season: int
) -> None:
    run_of, offset = _run_positions(lengths)
    todo = starts[run_of] + offset
    # Each pass copies from one season away; a gap longer than the season needs several passes.
    for direction in (-season, season):
        while todo.size:
            source = todo + direction
            ok = (source >= 0) & (source < row.shape[0])
            ok[ok] = ~np.isnan(row[source[ok]])
            if not ok.any():
                break
            row[todo[ok]] = row[source[ok]]
            todo = todo[~ok]
    if todo.size:
        # Left over: neither season neighbour known. Their runs are bounded by known points.
        rest = np.zeros(row.shape[0], dtype=np.bool_)
        rest[todo] = True
        _fill_runs(row, *find_runs(rest), linear=True)
