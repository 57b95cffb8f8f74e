"""WindowSet: lazy views, gathers, batches, and the validity rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gapcast.processing import ProcessingBuilder, SeriesFrame, WindowArray

from .conftest import HOUR, gappy_frame


def prepare(frame: SeriesFrame, lookback: int = 12, horizon: int = 4, **window: Any):  # type: ignore[no-untyped-def]
    return (
        ProcessingBuilder()
        .resample()
        .detect_gaps(max_fill=3)
        .fill_gaps()
        .split(val=0.2, test=0.2)
        .scale()
        .window(lookback=lookback, horizon=horizon, **window)
        .targets("ch1")
        .covariates("ch0")
        .build()
        .fit_transform(frame)
    )


def test_shapes_targets_and_timestamps() -> None:
    data = prepare(gappy_frame(channels=3))
    assert data.inputs == ("ch1", "ch0") and data.targets == ("ch1",)
    ws = data.train
    assert isinstance(ws.X, WindowArray)
    assert ws.X.shape == (len(ws), 12, 2) and ws.y.shape == (len(ws), 4, 1)
    X, y = np.asarray(ws.X), np.asarray(ws.y)
    assert X.dtype == np.float32 and X.shape == ws.X.shape
    values = data.frame.values
    for i in (0, len(ws) // 2, len(ws) - 1):
        s = int(ws.starts[i])
        np.testing.assert_allclose(X[i], values[:, s : s + 12].T, rtol=1e-6)
        np.testing.assert_allclose(y[i, :, 0], values[0, s + 12 : s + 16], rtol=1e-6)
        np.testing.assert_array_equal(
            ws.target_timestamps[i], data.frame.timestamps[s + 12 : s + 16]
        )
    assert np.asarray(ws.target_timestamps).dtype == np.int64


def test_windows_are_views_of_one_shared_array() -> None:
    data = prepare(gappy_frame())
    ws = data.train
    assert ws.data is data.val.data is data.test.data
    assert ws.data.shape == (data.frame.n_points, 2)
    assert np.shares_memory(ws.data, data.frame.values)  # no copy of the series
    assert ws.X[[0, 1]].shape == (2, 12, 2)


def test_take_and_batches_gather_only_what_is_asked() -> None:
    ws = prepare(gappy_frame()).train
    X, y = ws.take([3, 1])
    np.testing.assert_array_equal(X, np.asarray(ws.X)[[3, 1]])
    np.testing.assert_array_equal(y, np.asarray(ws.y)[[3, 1]])
    batches = list(ws.batches(32))
    assert sum(len(b[0]) for b in batches) == len(ws)
    assert len(batches) == ws.n_batches(32)
    shuffled = list(ws.batches(32, shuffle=True, seed=7, drop_remainder=True))
    assert all(b[0].shape == (32, 12, 2) for b in shuffled)
    again = list(ws.batches(32, shuffle=True, seed=7, drop_remainder=True))
    np.testing.assert_array_equal(shuffled[0][0], again[0][0])
    assert len(shuffled) == len(ws) // 32


def test_stride_and_empty_parts() -> None:
    data = prepare(gappy_frame(), stride=5)
    assert np.all(np.diff(data.train.starts) % 5 == 0)
    tiny = prepare(gappy_frame(n=200, gaps=()), lookback=30, horizon=50)
    assert len(tiny.val) == 0  # 40 points of validation cannot hold a 50-step horizon
    assert tiny.val.X.shape == (0, 30, 2) and np.asarray(tiny.val.y).shape == (0, 50, 1)
    assert list(tiny.val.batches(8)) == []


def test_targets_stay_in_their_part_and_gappy_lookbacks_are_kept() -> None:
    """A window's targets never cross a part boundary (no test value trains a model); its lookback
    may reach back into the part before (history), and may hold a gap shorter than half of it."""
    data = prepare(gappy_frame(n=400, gaps=((100, 5), (230, 2))), min_observed=0.5)
    for part, (begin, end) in data.frame.part_bounds().items():
        for s in data.windows(part).starts:
            assert begin <= s + 12 and s + 16 <= end
    starts = set(data.train.starts.tolist())
    assert {95, 100} <= starts  # lookbacks [95, 107) and [100, 112) hold the 5-hour hole
    val_begin = data.frame.part_bounds()["val"][0]
    assert min(data.val.starts) == val_begin - 12  # a lookback in the training part
    ts = data.frame.timestamps
    assert int(ts[1] - ts[0]) == HOUR


def test_min_observed_drops_windows_with_too_few_observed_inputs() -> None:
    frame = gappy_frame(n=400, gaps=((100, 10),))
    loose = set(prepare(frame, min_observed=0.1).train.starts.tolist())
    strict = set(prepare(frame, min_observed=1.0).train.starts.tolist())
    # Lookbacks [s, s + 12) overlapping the 10-point hole [100, 110) whose targets
    # [s + 12, s + 16) lie after it: at most 11 of 12 inputs observed, at least 2.
    overlapping = set(range(98, 110))
    assert overlapping <= loose and not (overlapping & strict)


def test_window_array_rejects_nothing_numpy_accepts() -> None:
    ws = prepare(gappy_frame()).test
    assert len(ws.X) == len(ws) == ws.X.shape[0]
    assert ws.X.ndim == 3
    assert np.asarray(ws.X, dtype=np.float64).dtype == np.float64
    with pytest.raises(IndexError):
        ws.X[len(ws)]


def test_asarray_without_copy_is_refused_as_numpy_requires() -> None:
    ws = prepare(gappy_frame()).train
    with pytest.raises(ValueError, match="cannot be viewed without a copy"):
        np.asarray(ws.X, copy=False)
    assert np.array(ws.X, copy=True).shape == ws.X.shape
