"""A dataset's series for charts: on its regular grid (missing points null), with its gaps.

The web page draws this; a long series is reduced to at most ``max_points`` by bucket means, so a
browser never receives millions of points, while gaps are reported at full resolution.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gapcast.api.deps import RuntimeDep
from gapcast.api.schemas import ERROR_RESPONSES
from gapcast.db import repository

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=ERROR_RESPONSES)


class GapSpan(BaseModel):
    channel: str
    start: float = Field(description="unix seconds of the first missing grid point")
    end: float = Field(description="unix seconds of the last missing grid point")
    length: int = Field(description="missing grid points")
    kind: str = Field(description="'small' (filled before training) or 'large'")


class SeriesOut(BaseModel):
    name: str
    channels: list[str]
    frequency_s: float | None
    max_fill: int
    time: list[float] = Field(description="unix seconds, one per (possibly bucketed) point")
    values: dict[str, list[float | None]] = Field(description="per channel; null where missing")
    gaps: list[GapSpan]
    bucket: int = Field(description="grid points averaged into each returned point")


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
    from gapcast.errors import InvalidInput
    from gapcast.processing.gaps import detect_gaps
    from gapcast.processing.resample import Resample

    with runtime.sessions() as session:
        dataset = repository.get_dataset(session, ref)
        name = dataset.name
        frame = repository.load_dataset_frame(session, dataset.id)
    try:
        grid = Resample().fit_transform(frame) if frame.n_points >= 2 else frame
    except InvalidInput:
        grid = frame  # irregular samples: plot them as they are, without gaps
    report = detect_gaps(grid, max_fill=max_fill) if grid is not frame else None
    bucket = max(1, -(-grid.n_points // max_points))
    times, values = _bucketed(grid.timestamps, grid.values, bucket)
    gaps = [
        GapSpan(
            channel=g.channel,
            start=g.start / 1e9,
            end=g.end / 1e9,
            length=g.length,
            kind=g.kind,
        )
        for g in (report or [])
    ]
    return SeriesOut(
        name=name,
        channels=list(grid.channels),
        frequency_s=grid.freq_ns / 1e9 if grid.freq_ns else None,
        max_fill=max_fill,
        time=times,
        values={c: values[i] for i, c in enumerate(grid.channels)},
        gaps=gaps,
        bucket=bucket,
    )


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
