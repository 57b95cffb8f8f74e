"""Gap detection: every run of missing grid points, classed small (fillable) or large.

The report keeps its gaps as parallel numpy arrays, because a long minute series has tens of
thousands of one-point gaps; ``Gap`` objects are built only when someone iterates them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.processing._time import parse_duration
from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame

GapKind = Literal["small", "large"]


def find_runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start indices and lengths of the runs of True in a 1-D mask."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return starts.astype(np.int64), (ends - starts).astype(np.int64)


def runs_mask(n: int, starts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.bool_]:
    """The mask that is True exactly on the given runs (inverse of ``find_runs``)."""
    delta = np.zeros(n + 1, dtype=np.int8)
    # Runs never touch (find_runs merges neighbours), so no start shares an index with an end.
    delta[starts] = 1
    delta[starts + lengths] -= 1
    return np.cumsum(delta[:n], dtype=np.int8) > 0


def small_gap_runs(
    missing: NDArray[np.bool_], max_fill: int | None
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start and length of the runs of missing points that are at most ``max_fill`` long
    (None: every run)."""
    starts, lengths = find_runs(missing)
    if max_fill is None:
        return starts, lengths
    keep = lengths <= max_fill
    return starts[keep], lengths[keep]


def resolve_max_fill(
    max_fill: int | str, freq_ns: int | None, *, where: str, field: str | None
) -> int:
    """``max_fill`` in grid steps: an int already is; a duration is divided by the frequency."""
    if isinstance(max_fill, int):
        if max_fill < 0:
            raise InvalidInput(f"{where}: max_fill must be >= 0, received {max_fill}", field=field)
        return max_fill
    ns = parse_duration(max_fill, field=field, where=where)
    if freq_ns is None:
        raise InvalidInput(
            f"{where}: max_fill={max_fill!r} needs a regular grid; resample first", field=field
        )
    return ns // freq_ns


@dataclass(frozen=True)
class Gap:
    channel: str
    start: int  # timestamp (ns) of the first missing grid point
    end: int  # timestamp (ns) of the last missing grid point (inclusive)
    length: int  # points
    kind: GapKind


@dataclass(frozen=True, eq=False)
class GapReport:
    """Gaps of a gridded frame, one row per gap in the parallel arrays (ordered by channel, time).

    ``start_index`` is the grid index of each gap's first point; ``start``/``end`` are timestamps.
    """

    channels: tuple[str, ...]
    n_points: int
    freq_ns: int | None
    max_fill: int
    channel_index: NDArray[np.int64]
    start_index: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    length: NDArray[np.int64]

    @property
    def is_large(self) -> NDArray[np.bool_]:
        return self.length > self.max_fill

    @property
    def n_gaps(self) -> int:
        return int(self.length.size)

    @property
    def n_large(self) -> int:
        return int(np.count_nonzero(self.is_large))

    @property
    def n_small(self) -> int:
        return self.n_gaps - self.n_large

    @property
    def missing_points(self) -> int:
        return int(self.length.sum())

    @property
    def small_missing_points(self) -> int:
        return int(self.length[~self.is_large].sum())

    @property
    def large_missing_points(self) -> int:
        return int(self.length[self.is_large].sum())

    @property
    def observed_fraction(self) -> float:
        total = self.n_points * len(self.channels)
        return 1.0 if total == 0 else 1.0 - self.missing_points / total

    @property
    def longest_gap(self) -> int:
        return int(self.length.max()) if self.length.size else 0

    @property
    def has_large_gaps(self) -> bool:
        return self.n_large > 0

    def __len__(self) -> int:
        return self.n_gaps

    def __iter__(self) -> Iterator[Gap]:
        large = self.is_large
        for i in range(self.n_gaps):
            yield Gap(
                channel=self.channels[int(self.channel_index[i])],
                start=int(self.start[i]),
                end=int(self.end[i]),
                length=int(self.length[i]),
                kind="large" if large[i] else "small",
            )

    @property
    def gaps(self) -> list[Gap]:
        return list(self)

    def large_gaps(self) -> list[Gap]:
        return [gap for gap in self if gap.kind == "large"]

    def mask(self, kind: GapKind | None = None) -> NDArray[np.bool_]:
        """(C, T) mask of the points inside gaps of ``kind`` (None: all gaps)."""
        out = np.zeros((len(self.channels), self.n_points), dtype=np.bool_)
        keep = np.ones(self.n_gaps, bool) if kind is None else self.is_large == (kind == "large")
        for c in range(len(self.channels)):
            rows = keep & (self.channel_index == c)
            out[c] = runs_mask(self.n_points, self.start_index[rows], self.length[rows])
        return out

    def summary(self) -> dict[str, Any]:
        """Totals as plain JSON values (what runs store and clients display)."""
        return {
            "n_points": self.n_points,
            "channels": list(self.channels),
            "freq_ns": self.freq_ns,
            "max_fill": self.max_fill,
            "n_gaps": self.n_gaps,
            "n_small": self.n_small,
            "n_large": self.n_large,
            "missing_points": self.missing_points,
            "small_missing_points": self.small_missing_points,
            "large_missing_points": self.large_missing_points,
            "longest_gap": self.longest_gap,
            "observed_fraction": self.observed_fraction,
        }

    def arrays(self) -> dict[str, NDArray[np.int64]]:
        """The per-gap arrays, for storage next to ``summary()``."""
        return {
            "channel_index": self.channel_index,
            "start_index": self.start_index,
            "start": self.start,
            "end": self.end,
            "length": self.length,
        }

    @classmethod
    def from_arrays(cls, summary: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> GapReport:
        return cls(
            channels=tuple(summary["channels"]),
            n_points=int(summary["n_points"]),
            freq_ns=summary["freq_ns"],
            max_fill=int(summary["max_fill"]),
            **{k: np.asarray(arrays[k], dtype=np.int64) for k in cls._ARRAY_FIELDS},
        )

    _ARRAY_FIELDS = ("channel_index", "start_index", "start", "end", "length")


def detect_gaps(frame: SeriesFrame, max_fill: int) -> GapReport:
    """Every run of NaN grid points of ``frame``; runs of <= ``max_fill`` points are small."""
    parts: list[tuple[NDArray[np.int64], ...]] = []
    for c in range(frame.n_channels):
        starts, lengths = find_runs(np.isnan(frame.values[c]))
        parts.append((np.full(starts.size, c, dtype=np.int64), starts, lengths))
    channel_index = np.concatenate([p[0] for p in parts])
    start_index = np.concatenate([p[1] for p in parts])
    length = np.concatenate([p[2] for p in parts])
    ts = frame.timestamps
    return GapReport(
        channels=frame.channels,
        n_points=frame.n_points,
        freq_ns=frame.freq_ns,
        max_fill=max_fill,
        channel_index=channel_index,
        start_index=start_index,
        start=ts[start_index].astype(np.int64),
        end=ts[start_index + length - 1].astype(np.int64),
        length=length,
    )


class DetectGaps(FrameStep):
    """Find the gaps; ``max_fill`` (grid steps, or a duration like '3h') is the small/large limit.

    The frame passes through unchanged; ``report_`` holds the gaps of the frame it was fitted on.
    """

    name = "detect_gaps"

    def __init__(self, max_fill: int | str = 3) -> None:
        self.max_fill = max_fill

    def get_params(self) -> dict[str, Any]:
        return {"max_fill": self.max_fill}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "max_fill_points_", None) is None:
            return {}
        return {"max_fill_points": self.max_fill_points_}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.max_fill_points_: int = int(fitted["max_fill_points"])

    def fit(self, frame: SeriesFrame) -> DetectGaps:
        where, field = self.where(), self.field("max_fill")
        self._set_fitted(
            {
                "max_fill_points": resolve_max_fill(
                    self.max_fill, frame.freq_ns, where=where, field=field
                )
            }
        )
        self.report_ = detect_gaps(frame, self.max_fill_points_)
        return self

    def report(self, frame: SeriesFrame) -> GapReport:
        self._require_fitted()
        return detect_gaps(frame, self.max_fill_points_)

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._require_fitted()
        return frame
