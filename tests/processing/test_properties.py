"""Property-based checks on random gappy series (hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gapcast.errors import InvalidInput
from gapcast.processing import (
    PreparedData,
    ProcessingPipeline,
    RemoveLinearTrend,
    Scale,
    SeriesFrame,
    Split,
)

from .conftest import HOUR

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@st.composite
def gappy_series(draw: st.DrawFn) -> SeriesFrame:
    """1–2 channels, 80–300 hourly points, random gaps given as absent rows or per-channel NaN."""
    n = draw(st.integers(80, 300))
    n_channels = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    level = draw(st.floats(-1e3, 1e3))
    spread = draw(st.floats(1e-2, 1e3))
    t = np.arange(n)
    values = level + spread * (
        rng.standard_normal((n_channels, n)) + rng.uniform(-0.05, 0.05, (n_channels, 1)) * t
    )
    keep = np.ones(n, bool)
    for _ in range(draw(st.integers(0, 6))):
        start, length = draw(st.integers(1, n - 2)), draw(st.integers(1, 12))
        if draw(st.booleans()):
            keep[start : start + length] = False
        else:
            values[draw(st.integers(0, n_channels - 1)), start : start + length] = np.nan
    keep[[0, -1]] = True
    ts = 1_600_000_000 * 10**9 - (1_600_000_000 * 10**9) % (24 * HOUR) + t * HOUR
    return SeriesFrame.from_arrays(ts[keep], values[:, keep], [f"c{i}" for i in range(n_channels)])


def pipeline_config(max_fill: int, lookback: int, horizon: int, stride: int) -> list[Any]:
    return [
        {"step": "resample", "freq": "1h"},
        {"step": "detect_gaps", "max_fill": max_fill},
        {"step": "fill_gaps", "method": "linear"},
        {"step": "split", "val": 0.2, "test": 0.2},
        {"step": "remove_linear_trend"},
        {"step": "scale", "method": "standard"},
        {"step": "window", "lookback": lookback, "horizon": horizon, "stride": stride},
    ]


def fit(frame: SeriesFrame, config: list[Any]) -> tuple[ProcessingPipeline, PreparedData]:
    pipeline = ProcessingPipeline.from_config(config, covariates=frame.channels[1:])
    try:
        return pipeline, pipeline.fit_transform(frame)
    except InvalidInput as exc:
        assume("no training window" not in exc.message)
        assume("is not shorter than the training part" not in exc.message)
        raise


def brute_force_runs(mask: np.ndarray) -> tuple[list[int], list[int]]:
    """Runs of True by a plain loop: an independent check of the vectorised detector."""
    starts: list[int] = []
    lengths: list[int] = []
    for i, value in enumerate(mask.tolist()):
        if value and (i == 0 or not mask[i - 1]):
            starts.append(i)
            lengths.append(0)
        if value:
            lengths[-1] += 1
    return starts, lengths


params = st.tuples(st.integers(0, 5), st.integers(1, 10), st.integers(1, 5), st.integers(1, 3))


@PROPERTY_SETTINGS
@given(gappy_series(), params)
def test_gap_report_totals_add_up_and_only_small_gaps_are_filled(
    frame: SeriesFrame, p: tuple[int, int, int, int]
) -> None:
    _, data = fit(frame, pipeline_config(*p))
    report, raw = data.gap_report, data.raw_frame
    missing = np.isnan(raw.values)
    runs = [brute_force_runs(missing[c]) for c in range(raw.n_channels)]
    lengths = np.array([n for r in runs for n in r[1]], dtype=np.int64)
    starts = [s for r in runs for s in r[0]]
    assert report.start_index.tolist() == starts
    assert report.n_gaps == lengths.size == report.n_small + report.n_large
    assert report.n_large == int((lengths > p[0]).sum())
    assert report.missing_points == int(missing.sum())
    assert report.small_missing_points + report.large_missing_points == report.missing_points
    total = raw.n_points * raw.n_channels
    assert report.observed_fraction == 1 - report.missing_points / total
    # Exactly the large gaps are still missing after filling (and scaling).
    np.testing.assert_array_equal(np.isnan(data.frame.values), report.mask("large"))
    np.testing.assert_array_equal(np.isnan(data.frame.values) | ~missing, ~report.mask("small"))
    # Filled points are still known as not observed.
    np.testing.assert_array_equal(data.frame.mask, raw.mask)


@PROPERTY_SETTINGS
@given(gappy_series(), params)
def test_windows_are_exactly_the_observed_enough_windows_of_each_part(
    frame: SeriesFrame, p: tuple[int, int, int, int]
) -> None:
    """A window belongs to the part holding its targets; it is usable when half its lookback and
    one of its targets were observed (filled points do not count), by a plain loop."""
    _, data = fit(frame, pipeline_config(*p))
    _, lookback, horizon, stride = p
    seen = data.raw_frame.mask[0]  # the target is the first channel
    n = data.frame.n_points
    for part, (begin, end) in data.frame.part_bounds().items():
        expected = [
            o - lookback
            for o in range(lookback, n - horizon + 1)
            if (o - lookback) % stride == 0
            and begin <= o
            and o + horizon <= end
            and seen[o - lookback : o].sum() >= np.ceil(0.5 * lookback)
            and seen[o : o + horizon].any()
        ]
        assert data.windows(part).starts.tolist() == expected


@PROPERTY_SETTINGS
@given(gappy_series(), params)
def test_inverse_targets_give_back_the_observed_values(
    frame: SeriesFrame, p: tuple[int, int, int, int]
) -> None:
    pipeline, data = fit(frame, pipeline_config(*p))
    raw = data.raw_frame
    for ws in (data.train, data.test):
        real = pipeline.inverse_targets(np.asarray(ws.y), np.asarray(ws.target_timestamps))
        positions = ws.starts[:, None] + ws.lookback + np.arange(ws.horizon)
        expected = raw.values[0][positions]
        observed = raw.mask[0][positions]
        scale = max(1.0, float(np.nanmax(np.abs(raw.values))))
        # y is float32: compare at float32 precision of the scaled values.
        np.testing.assert_allclose(
            real[..., 0][observed], expected[observed], rtol=1e-5, atol=1e-5 * scale
        )


@PROPERTY_SETTINGS
@given(gappy_series())
def test_scale_and_trend_invert_exactly(frame: SeriesFrame) -> None:
    grid = Split(0.2, 0.2).fit_transform(
        ProcessingPipeline.from_config([{"step": "window", "lookback": 1, "horizon": 1}])
        .steps[0]
        .fit_transform(frame)  # type: ignore[attr-defined]
    )
    for step in (RemoveLinearTrend(), Scale("standard"), Scale("minmax"), Scale("robust")):
        out = step.fit_transform(grid)
        np.testing.assert_array_equal(np.isnan(out.values), np.isnan(grid.values))
        back = step.inverse_transform(out)
        scale = max(1.0, float(np.nanmax(np.abs(grid.values))))
        np.testing.assert_allclose(back.values, grid.values, rtol=1e-9, atol=1e-9 * scale)


@PROPERTY_SETTINGS
@given(gappy_series(), st.integers(0, 2**32 - 1))
def test_fitted_parameters_depend_only_on_the_training_part(frame: SeriesFrame, seed: int) -> None:
    config = pipeline_config(3, 4, 2, 1)
    pipeline, data = fit(frame, config)
    # Change every known value of the test part of the *grid* (missing points stay missing).
    raw = data.raw_frame
    test_start = data.frame.part_bounds()["test"][0]
    values = np.array(raw.values)
    tail = values[:, test_start:]
    noise = np.random.default_rng(seed).normal(0, 1e4, tail.shape)
    values[:, test_start:] = np.where(np.isnan(tail), np.nan, tail + noise)
    changed = SeriesFrame.from_arrays(raw.timestamps, values, raw.channels)
    other, _ = fit(changed, config)
    for name in ("remove_linear_trend", "scale", "window"):
        a = next(s for s in pipeline.steps if s.name == name).to_config()
        b = next(s for s in other.steps if s.name == name).to_config()
        assert a == b
