"""A stored dataset's gaps as its series are read: each on the step it keeps.

A file of 1-minute temperatures with a battery voltage every 10 minutes has one row grid, the
minutes; on it the voltage would miss 9 readings in 10 and count tens of thousands of gaps it
does not have. A series read on a regular step of its own (:func:`~gapcast.processing.resample.
own_step`, the rule that also sets a run's grid for it) is measured on that step, so the page,
``gapcast datasets`` and a run's preparation count the same gaps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gapcast.processing.frame import SeriesFrame
from gapcast.processing.gaps import GapReport, detect_gaps
from gapcast.processing.resample import Resample, grid_source


def dataset_gaps(frame: SeriesFrame, max_fill: int) -> tuple[SeriesFrame, list[GapReport]]:
    """The rows' regular grid and the gap reports of its series: one for those read on that
    grid, one for each series read on a step of its own. Raises InvalidInput when the rows have
    no regular step (as ``Resample`` does)."""
    grid = Resample().fit_transform(frame)
    shared: list[str] = []
    reports: list[GapReport] = []
    for channel in frame.channels:
        whole = frame.select([channel])
        # Rows before its first reading (a series installed after the others) are no gap of it.
        one = whole.from_first_reading([channel])
        # A series read at every row keeps the rows' step: nothing to infer.
        source = one if one.mask[0].all() else grid_source(one, [channel])
        if source is one and one is whole:
            shared.append(channel)
            continue
        resample = Resample().fit(source)
        last_read = int(source.timestamps[-1])
        if int(one.timestamps[-1]) - last_read < resample.freq_ns_:
            # Rows of the faster series after its last reading, within one of its steps: its
            # next reading is not due yet, and is no gap.
            one = one.slice(0, int(np.searchsorted(one.timestamps, last_read, side="right")))
        reports.append(detect_gaps(resample.transform(one), max_fill))
    if shared:
        report = detect_gaps(
            grid if len(shared) == frame.n_channels else grid.select(shared), max_fill
        )
        reports.insert(0, report)
    return grid, reports


def combined_summary(grid: SeriesFrame, reports: list[GapReport]) -> dict[str, Any]:
    """The reports' totals as one ``GapReport.summary()``, on the rows' grid: counts and missing
    points add up (each in its series' own steps), the observed fraction is over every series'
    own points."""
    if len(reports) == 1:
        return reports[0].summary()
    total = sum(r.n_points * len(r.channels) for r in reports)
    missing = sum(r.missing_points for r in reports)
    return {
        "n_points": grid.n_points,
        "channels": list(grid.channels),
        "freq_ns": grid.freq_ns,
        "max_fill": reports[0].max_fill,
        "n_gaps": sum(r.n_gaps for r in reports),
        "n_small": sum(r.n_small for r in reports),
        "n_large": sum(r.n_large for r in reports),
        "missing_points": missing,
        "small_missing_points": sum(r.small_missing_points for r in reports),
        "large_missing_points": sum(r.large_missing_points for r in reports),
        "longest_gap": max(r.longest_gap for r in reports),
        "observed_fraction": 1.0 - missing / total if total else 1.0,
        "steps_ns": {c: r.freq_ns for r in reports for c in r.channels},
    }


def gap_summary(frame: SeriesFrame, max_fill: int = 3) -> dict[str, Any] | None:
    """A stored dataset's gap totals as its page shows them (:func:`combined_summary`), None for
    a single point or rows without a regular step to measure gaps against."""
    from gapcast.errors import InvalidInput

    if frame.n_points < 2:
        return None
    try:
        grid, reports = dataset_gaps(frame, max_fill=max_fill)
    except InvalidInput:
        return None
    return combined_summary(grid, reports)
