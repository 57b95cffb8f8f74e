"""Training on window datasets: zero-weight targets, stable batch shapes, and a level shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gapcast
from gapcast.model_training.forecaster import window_dataset
from gapcast.model_training.general_model import GeneralModel
from gapcast.model_training.ml_strategy import get_strategy
from gapcast.processing.config import default_steps
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.pipeline import ProcessingPipeline


def prepared(values: np.ndarray):  # type: ignore[no-untyped-def]
    ts = pd.date_range("2024-01-01", periods=values.size, freq="h")
    frame = SeriesFrame.from_pandas(pd.DataFrame({"timestamp": ts, "v": values}))
    steps = default_steps()
    steps[-1] = steps[-1].model_copy(update={"lookback": 24, "horizon": 6})
    pipeline = ProcessingPipeline.from_config(steps)
    return pipeline, pipeline.fit_transform(frame)


def test_a_target_never_observed_contributes_nothing_to_the_loss() -> None:
    t = np.arange(24 * 12)
    values = np.sin(2 * np.pi * t / 24) + 0.01 * t
    values[100] = np.nan  # one target step of the windows whose horizon covers it
    pipeline, data = prepared(values)
    origins = data.train.starts + 24
    hit = origins[(origins <= 100) & (origins + 6 > 100)]
    assert hit.size == 6
    ds = window_dataset(
        pipeline, data.frame, hit, batch_size=6, correction=True, shuffle=False, seed=0
    )
    x, y, w = ds[0]
    lead = 100 - hit  # where step 100 falls in each window's horizon
    assert (w[np.arange(6), lead] == 0).all() and w.sum() == 6 * 6 - 6
    gm = GeneralModel(get_strategy("linear")(), seed=0)
    model = gm.build(x.shape[1:], 6, 1)
    base = float(model.evaluate(x, y, sample_weight=w, verbose=0)[0])
    changed = y.copy()
    changed[np.arange(6), lead, 0] += 1e3  # whatever the unobserved step "is"
    assert float(model.evaluate(x, changed, sample_weight=w, verbose=0)[0]) == pytest.approx(
        base, rel=1e-6
    )
    observed = y.copy()
    observed[0, (lead[0] + 1) % 6, 0] += 1e3  # an observed step does count
    assert float(model.evaluate(x, observed, sample_weight=w, verbose=0)[0]) > base + 1


def test_every_batch_has_one_shape_and_padding_weighs_nothing() -> None:
    pipeline, data = prepared(np.sin(np.arange(24 * 12) / 3.0))
    origins = (data.train.starts + 24)[:70]
    ds = window_dataset(
        pipeline, data.frame, origins, batch_size=32, correction=False, shuffle=True, seed=1
    )
    assert ds.num_batches == 3
    shapes = {ds[i][0].shape for i in range(3)}
    assert shapes == {(32, 30, pipeline.layout.n_features)}
    _, _, w = ds[2]  # 70 = 2 * 32 + 6: 26 repeats of weight 0
    assert (w[6:] == 0).all() and (w[:6] > 0).all()


def test_batches_gathered_in_runs_are_the_batches_built_one_by_one() -> None:
    """The dataset gathers CHUNK_BATCHES batches per call; whatever the order Keras asks for
    them in, each is exactly the windows of its slice of the epoch's draw."""
    from gapcast.model_training.forecaster import CHUNK_BATCHES, training_target

    pipeline, data = prepared(np.sin(np.arange(24 * 40) / 3.0) + np.arange(24 * 40) / 50)
    origins = data.train.starts + 24
    ds = window_dataset(
        pipeline, data.frame, origins, batch_size=8, correction=True, shuffle=True, seed=3
    )
    assert ds.num_batches > CHUNK_BATCHES + 1  # more than one run of batches
    order = np.random.default_rng(0).permutation(ds.num_batches)
    for i in order:
        part = ds.epoch_origins[i * 8 : (i + 1) * 8]
        x, y, w = ds[int(i)]
        alone = pipeline.model_batch(data.frame, part, with_targets=True)
        n = part.size  # the last batch is topped up with weight-0 repeats
        np.testing.assert_array_equal(x[:n], alone.x)
        np.testing.assert_array_equal(y[:n], training_target(alone, True))
        np.testing.assert_array_equal(w[:n], alone.weight)
        assert x.shape[0] == 8 and (w[n:] == 0).all()


def test_a_series_shifted_by_1000_gets_forecasts_shifted_by_1000(hourly) -> None:  # type: ignore[no-untyped-def]
    df = hourly(24 * 20)
    config = {"model": "mlp", "training": {"epochs": 2, "gap_classifier": "never"}}
    a = gapcast.load_model(gapcast.train(df, config))
    shifted = df.assign(load=df["load"] + 1000)
    b = gapcast.load_model(gapcast.train(shifted, config))
    np.testing.assert_allclose(
        b.predict(shifted)["load"] - a.predict(df)["load"], 1000.0, atol=1e-3
    )


def test_training_steps_per_call_change_no_figure(hourly, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Keras trains STEPS_PER_EXECUTION batches per call of its fit loop: the same compiled step
    on the same batches, so one step per call gives every loss, metric and forecast again to the
    last digit (what the speed-up may not change), with an outage drawn and early stopping on."""
    import gapcast.model_training.general_model as general_model

    assert general_model.STEPS_PER_EXECUTION > 1
    df = hourly(24 * 20, gap=(200, 12))
    config = {"model": "mlp", "training": {"epochs": 3, "ensemble": 2, "gap_classifier": "never"}}
    grouped = gapcast.train(df, config)
    monkeypatch.setattr(general_model, "STEPS_PER_EXECUTION", 1)
    single = gapcast.train(df, config)
    assert grouped.history == single.history
    assert grouped.metrics.mae == single.metrics.mae
    model = gapcast.load_model(grouped)
    pd.testing.assert_frame_equal(model.predict(df), gapcast.load_model(single).predict(df))
