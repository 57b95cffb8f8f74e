"""A dataset's series for charts: on its regular grid (missing points null), with its gaps.

The web page draws this; a long series is reduced to at most ``max_points`` by bucket means, so a
browser never receives millions of points. Gaps are bucketed like the values: the gaps of one
channel and kind that fall within a bucket of each other are sent as one span (with how many gaps
and missing points it holds), so a long series with many small outages sends at most about one
span per bucket instead of every gap (38,750 on a 2M-point dataset: 3.4 MB for a 4,000-point chart).
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from numpy.typing import NDArray
from pydantic import BaseModel, Field

from gapcast.api.deps import RuntimeDep
from gapcast.api.schemas import ERROR_RESPONSES
from gapcast.db import repository

if TYPE_CHECKING:
    from gapcast.processing.frame import SeriesFrame
    from gapcast.processing.gaps import GapReport

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=ERROR_RESPONSES)


class GapSpan(BaseModel):
    channel: str
    start: float = Field(description="unix seconds of the first missing grid point")
    end: float = Field(description="unix seconds of the last missing grid point")
    length: int = Field(description="missing grid points")
    kind: str = Field(description="'small' (filled before training) or 'large'")
    count: int = Field(default=1, description="gaps merged into this span (bucketed series)")


class SeriesOut(BaseModel):
    name: str
    channels: list[str]
    frequency_s: float | None
    max_fill: int
    time: list[float] = Field(description="unix seconds, one per (possibly bucketed) point")
    values: dict[str, list[float | None]] = Field(description="per channel; null where missing")
    gaps: list[GapSpan]
    bucket: int = Field(description="grid points averaged into each returned point")
    gap_counts: dict[str, int] = Field(
        default_factory=dict, description="gaps of each kind at full resolution, before merging"
    )
    own_steps_s: dict[str, float] = Field(
        default_factory=dict,
        description="channels read on a regular step of their own (seconds), coarser than the "
        "grid: their nulls between readings are not gaps (their gaps are counted on that step)",
    )


@router.get("/{ref}/series")
def dataset_series(
    ref: str,
    runtime: RuntimeDep,
    max_points: Annotated[int, Query(ge=10, le=200_000)] = 4000,
    # Bounded like every number the API takes: past 2**31 no gap is longer anyway, and numpy's
    # int64 arithmetic on a larger one would overflow.
    max_fill: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="longest gap counted small")
    ] = 3,
) -> SeriesOut:
    """The dataset on its own regular grid, for plotting."""
    with runtime.sessions() as session:
        dataset = repository.get_dataset(session, ref)
        name = dataset.name
        frame = repository.load_dataset_frame(session, dataset.id)
    return series_document(name, frame, max_points=max_points, max_fill=max_fill)


def series_document(
    name: str, frame: SeriesFrame, *, max_points: int, max_fill: int, merge: bool = True
) -> SeriesOut:
    """What the endpoint sends for ``frame`` (``merge=False``: every gap, as before bucketing;
    bench/series_payload.py compares the two)."""
    from gapcast.errors import InvalidInput
    from gapcast.processing.dataset_gaps import dataset_gaps

    grid: SeriesFrame = frame
    reports: list[GapReport] = []
    # Irregular samples (InvalidInput: no regular step) are plotted as they are, without gaps; a
    # series read on a step of its own has its gaps measured on that step.
    with contextlib.suppress(InvalidInput):
        if frame.n_points >= 2:
            grid, reports = dataset_gaps(frame, max_fill=max_fill)
    bucket = max(1, -(-grid.n_points // max_points))
    times, values = _bucketed(grid.timestamps, grid.values, bucket)
    counts = {"small": 0, "large": 0}
    gaps: list[GapSpan] = []
    reach = (grid.freq_ns or 0) * bucket  # gaps closer than one bucket share a pixel anyway
    for report in reports:
        counts["small"] += report.n_small
        counts["large"] += report.n_large
        gaps += merge_gaps(
            channels=list(report.channels),
            channel_index=report.channel_index,
            start=report.start,
            end=report.end,
            length=report.length,
            large=report.is_large,
            reach_ns=reach if bucket > 1 and merge else 0,
        )
    return SeriesOut(
        name=name,
        channels=list(grid.channels),
        frequency_s=grid.freq_ns / 1e9 if grid.freq_ns else None,
        max_fill=max_fill,
        time=times,
        values={c: values[i] for i, c in enumerate(grid.channels)},
        gaps=gaps,
        bucket=bucket,
        gap_counts=counts,
        own_steps_s={
            c: r.freq_ns / 1e9
            for r in reports
            if r.freq_ns and r.freq_ns != grid.freq_ns
            for c in r.channels
        },
    )


def merge_gaps(
    *,
    channels: list[str],
    channel_index: NDArray[np.integer[Any]],
    start: NDArray[np.int64],
    end: NDArray[np.int64],
    length: NDArray[np.integer[Any]],
    large: NDArray[np.bool_],
    reach_ns: float,
) -> list[GapSpan]:
    """One span (in unix seconds) for the gaps of a channel and kind that start within
    ``reach_ns`` of the previous one's end (0: every gap its own span), earliest first.

    Vectorised, and the spans are built without validation: on 38,750 gaps, validating one
    pydantic object per gap took longer than the whole response should.
    """
    spans: list[GapSpan] = []
    for c, channel in enumerate(channels):
        for kind, of_kind in (("small", ~large), ("large", large)):
            pick = (channel_index == c) & of_kind
            order = np.argsort(start[pick], kind="stable")
            s, e, n = start[pick][order], end[pick][order], length[pick][order]
            if s.size == 0:
                continue
            # Within one channel and kind gaps never overlap: sorted by start, ends rise too.
            new = np.ones(s.size, dtype=bool)
            new[1:] = (s[1:] - e[:-1]) > reach_ns
            first = np.flatnonzero(new)
            ends = np.maximum.reduceat(e, first)
            missing = np.add.reduceat(n, first)
            counts = np.diff(np.append(first, s.size))
            spans.extend(
                GapSpan.model_construct(
                    channel=channel,
                    start=t0 / 1e9,
                    end=t1 / 1e9,
                    length=k,
                    kind=kind,
                    count=m,
                )
                for t0, t1, k, m in zip(
                    s[first].tolist(), ends.tolist(), missing.tolist(), counts.tolist(), strict=True
                )
            )
    spans.sort(key=lambda g: g.start)
    return spans


def _bucketed(
    timestamps: Any, values: Any, bucket: int
) -> tuple[list[float], list[list[float | None]]]:
    """Bucket means (a bucket with no observation stays null, so large gaps stay visible)."""
    n = timestamps.shape[0] // bucket * bucket if bucket > 1 else timestamps.shape[0]
    ts = timestamps[:n].reshape(-1, bucket)[:, 0] if bucket > 1 else timestamps
    vals = values[:, :n]
    if bucket > 1:
        blocks = vals.reshape(vals.shape[0], -1, bucket)
        counts = np.sum(~np.isnan(blocks), axis=2)
        sums = np.nansum(blocks, axis=2)
        vals = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    out = [[None if math.isnan(v) else v for v in row] for row in vals.tolist()]
    return [t / 1e9 for t in ts.tolist()], out
