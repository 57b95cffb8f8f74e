"""The windows of a small series are built once and read after (model_training/window_store.py):
what a batch reads from the store is what building it gives, to the bit, and a run trains the
same model with the store as without it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gapcast
from gapcast.model_training import window_store
from gapcast.model_training.forecaster import window_dataset
from gapcast.model_training.window_store import WindowStore
from gapcast.processing.config import default_steps
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.pipeline import ProcessingPipeline


def series(n: int = 24 * 30) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(n)
    values = 10 + np.sin(2 * np.pi * t / 24) + 0.01 * t + 0.2 * rng.normal(size=n)
    values[rng.choice(n, n // 20, replace=False)] = np.nan  # scattered missing readings
    values[300:309] = np.nan  # a hole in some windows' inputs and targets
    ts = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"timestamp": ts, "v": values})


def prepared():  # type: ignore[no-untyped-def]
    steps = default_steps()
    steps[-1] = steps[-1].model_copy(update={"lookback": 48, "horizon": 12})
    pipeline = ProcessingPipeline.from_config(steps)
    return pipeline, pipeline.fit_transform(SeriesFrame.from_pandas(series()))


@pytest.mark.parametrize(("correction", "outages"), [(False, 0.0), (True, 0.0), (True, 0.5)])
def test_batches_read_from_the_store_are_the_built_ones(correction: bool, outages: float) -> None:
    pipeline, data = prepared()
    origins = data.train.starts + 48
    store = WindowStore(pipeline, data.frame, origins[::-1])  # any order: kept sorted
    kwargs = {
        "batch_size": 16,
        "correction": correction,
        "shuffle": True,
        "seed": 5,
        # With outages drawn, the drawn windows are built in either case, the same way.
        "outages": outages,
        "outage_lengths": np.array([9, 20]),
    }
    built = window_dataset(pipeline, data.frame, origins, **kwargs)  # type: ignore[arg-type]
    read = window_dataset(pipeline, data.frame, origins, store=store, **kwargs)  # type: ignore[arg-type]
    assert built.num_batches == read.num_batches > 2
    for epoch in range(2):
        for i in range(read.num_batches):
            for a, b in zip(built[i], read[i], strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), (epoch, i)
        built.on_epoch_end()
        read.on_epoch_end()
    # The last batch's padding weighs nothing in either, and did not change the store.
    assert np.array_equal(
        store.weight, pipeline.model_batch(data.frame, store.origins, with_targets=True).weight
    )


def test_a_store_missing_some_windows_is_not_read() -> None:
    pipeline, data = prepared()
    origins = data.train.starts + 48
    store = WindowStore(pipeline, data.frame, origins[:10])
    assert store.holds(origins[:10]) and store.holds(origins[3:7])
    assert not store.holds(origins[:11]) and not store.holds(origins[-1:])
    ds = window_dataset(
        pipeline,
        data.frame,
        origins,
        batch_size=8,
        correction=False,
        shuffle=False,
        seed=0,
        store=store,
    )
    x, _, _ = ds[ds.num_batches - 1]  # windows the store does not hold, built instead
    expected = pipeline.model_batch(data.frame, origins[(ds.num_batches - 1) * 8 :])
    assert np.array_equal(x[: expected.x.shape[0]], expected.x)


def test_a_run_trains_the_same_model_with_the_store_as_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = {"model": "mlp", "training": {"epochs": 3, "ensemble": 2}}
    reads = []
    take = WindowStore.take

    def counted(self: WindowStore, origins: np.ndarray, correction: bool):  # type: ignore[no-untyped-def]
        reads.append(origins.size)
        return take(self, origins, correction)

    monkeypatch.setattr(WindowStore, "take", counted)
    with_store = gapcast.train(series(), config)
    assert reads, "the run built its batches instead of reading them from the store"
    del reads[:]
    monkeypatch.setattr(window_store, "STORE_MAX_BYTES", 0)
    without = gapcast.train(series(), config)
    assert with_store.metrics.mae is not None
    assert with_store.metrics.mae == without.metrics.mae
    assert with_store.history == without.history
    assert not reads
