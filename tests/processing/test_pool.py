"""ProcessingPool: cache hits, concurrent writers, worker processes, eviction."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gapcast.processing import (
    PreparedData,
    PrepareRequest,
    ProcessingPool,
    SeriesFrame,
    config_hash,
    content_hash,
)
from gapcast.processing.pool import _prepare_and_store

from .conftest import gappy_frame

STEPS: list[Any] = [
    {"step": "resample"},
    {"step": "detect_gaps", "max_fill": 3},
    {"step": "fill_gaps"},
    {"step": "split", "val": 0.15, "test": 0.15},
    {"step": "remove_linear_trend"},
    {"step": "scale"},
    {"step": "window", "lookback": 24, "horizon": 6},
]


def assert_same(a: PreparedData, b: PreparedData) -> None:
    np.testing.assert_array_equal(a.frame.values, b.frame.values)
    np.testing.assert_array_equal(a.raw_frame.values, b.raw_frame.values)
    np.testing.assert_array_equal(a.frame.mask, b.frame.mask)
    assert a.frame.split == b.frame.split
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(a.windows(part).starts, b.windows(part).starts)
    np.testing.assert_array_equal(np.asarray(a.test.X), np.asarray(b.test.X))
    assert a.gap_report.summary() == b.gap_report.summary()
    assert a.inputs == b.inputs and a.targets == b.targets


def test_second_prepare_is_a_cache_hit(tmp_path: Path, co2_frame: SeriesFrame) -> None:
    pool = ProcessingPool(tmp_path)
    first_pipeline, first = pool.prepare(co2_frame, STEPS)
    assert not first.cache_hit and (pool.hits, pool.misses) == (0, 1)
    entry = next(tmp_path.glob("*.npz"))
    written = entry.stat().st_mtime_ns
    pipeline, second = ProcessingPool(tmp_path).prepare(co2_frame, STEPS)
    assert second.cache_hit
    assert_same(first, second)
    assert pipeline.is_fitted and pipeline.to_config() == first_pipeline.to_config()
    ws = second.test
    np.testing.assert_allclose(
        pipeline.inverse_targets(ws.y[:3], ws.target_timestamps[:3]),
        first_pipeline.inverse_targets(ws.y[:3], ws.target_timestamps[:3]),
    )
    # The entry was only read (and touched for LRU), never rewritten.
    assert len(list(tmp_path.glob("*.npz"))) == 1
    assert entry.stat().st_mtime_ns >= written


def test_keys_follow_data_and_configuration(co2_frame: SeriesFrame) -> None:
    values = np.array(co2_frame.values)
    values[0, 5] += 0.1
    changed = SeriesFrame.from_arrays(co2_frame.timestamps, values, co2_frame.channels)
    assert content_hash(co2_frame) == content_hash(
        SeriesFrame.from_arrays(co2_frame.timestamps, co2_frame.values, co2_frame.channels)
    )
    assert content_hash(changed) != content_hash(co2_frame)
    fitted = [dict(step, fitted={"anything": 1}) for step in STEPS]
    assert config_hash(STEPS, None, ()) == config_hash(fitted, None, ())
    other = [*STEPS[:-1], {"step": "window", "lookback": 25, "horizon": 6}]
    assert config_hash(other, None, ()) != config_hash(STEPS, None, ())
    assert config_hash(STEPS, ["a"], ()) != config_hash(STEPS, None, ())


def test_concurrent_writers_of_one_key_leave_one_good_entry(tmp_path: Path) -> None:
    frame = gappy_frame(n=100_000, gaps=((500, 2), (5_000, 40)))
    request = PrepareRequest(frame, STEPS)
    key = ProcessingPool.cache_key(request)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        futures = [
            executor.submit(_prepare_and_store, request, str(tmp_path), 1 << 30, key)
            for _ in range(4)
        ]
        results = [f.result() for f in futures]
    assert [p.name for p in tmp_path.iterdir()] == [f"{key}.npz"]  # no temp files left
    pipeline, cached = ProcessingPool(tmp_path).prepare(frame, STEPS)
    assert pipeline.is_fitted
    assert cached.cache_hit
    assert_same(results[0][1], cached)


def test_prepare_many_uses_workers_and_the_cache(tmp_path: Path, co2_frame: SeriesFrame) -> None:
    frame = gappy_frame(n=2_000)
    requests = [
        PrepareRequest(co2_frame, STEPS),
        PrepareRequest(frame, STEPS, targets=["ch1"], covariates=["ch0"]),
        PrepareRequest(co2_frame, STEPS),
    ]
    with ProcessingPool(tmp_path, max_workers=2) as pool:
        results = pool.prepare_many(requests)
        assert [r[1].cache_hit for r in results] == [False, False, False]
        assert results[0][1] is results[2][1]  # identical requests are prepared once
        assert results[1][1].inputs == ("ch1", "ch0")
        assert len(list(tmp_path.glob("*.npz"))) == 2
        again = pool.prepare_many(requests[:2])
        assert [r[1].cache_hit for r in again] == [True, True]
    assert_same(results[1][1], again[1][1])


def test_cache_is_bounded_and_evicts_the_least_recently_used(
    tmp_path: Path, co2_frame: SeriesFrame
) -> None:
    frames = [gappy_frame(n=3_000, seed=i) for i in range(3)]
    probe = ProcessingPool(tmp_path / "probe")
    probe.prepare(frames[0], STEPS)
    size = probe.cache_bytes()
    pool = ProcessingPool(tmp_path / "cache", max_bytes=int(2.5 * size))
    pool.prepare(frames[0], STEPS)
    pool.prepare(frames[1], STEPS)
    first, second = sorted((tmp_path / "cache").glob("*.npz"), key=lambda p: p.stat().st_mtime)
    os.utime(first, (1_000, 1_000))
    os.utime(second, (2_000, 2_000))
    assert pool.prepare(frames[0], STEPS)[1].cache_hit  # frames[0] becomes the most recent
    pool.prepare(frames[2], STEPS)  # over budget: the least recently used entry goes
    assert pool.cache_bytes() <= 2.5 * size
    assert pool.prepare(frames[0], STEPS)[1].cache_hit
    assert not pool.prepare(frames[1], STEPS)[1].cache_hit


def test_a_corrupt_entry_is_recomputed(tmp_path: Path, co2_frame: SeriesFrame) -> None:
    pool = ProcessingPool(tmp_path)
    key = pool.cache_key(PrepareRequest(co2_frame, STEPS))
    (tmp_path / f"{key}.npz").write_bytes(b"not a zip file")
    _, data = pool.prepare(co2_frame, STEPS)
    assert not data.cache_hit
    assert pool.prepare(co2_frame, STEPS)[1].cache_hit


def test_without_a_cache_dir_nothing_is_stored(co2_frame: SeriesFrame) -> None:
    pool = ProcessingPool(None)
    assert not pool.prepare(co2_frame, STEPS)[1].cache_hit
    assert not pool.prepare(co2_frame, STEPS)[1].cache_hit
    assert pool.cache_bytes() == 0


@pytest.mark.parametrize("bad", [[{"step": "nope"}], []])
def test_bad_steps_fail_before_any_work(tmp_path: Path, co2_frame: SeriesFrame, bad: Any) -> None:
    from gapcast.errors import InvalidInput

    with pytest.raises(InvalidInput):
        ProcessingPool(tmp_path).prepare(co2_frame, bad)
    assert list(tmp_path.iterdir()) == []
