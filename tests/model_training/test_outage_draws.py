"""Outages drawn onto training windows (model_training/outage_draws.py, training.drawn_outages):
as long as the series' own, only on the training windows, on by default, and only where the
training part has a large outage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gapcast
from gapcast.errors import InvalidInput
from gapcast.model_training.forecaster import window_dataset
from gapcast.model_training.outage_draws import draw_outages
from gapcast.processing.config import default_steps
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.pipeline import ProcessingPipeline
from gapcast.training_config import TrainingConfig


def test_drawn_outages_are_as_long_as_the_series_own_and_end_anywhere() -> None:
    rng = np.random.default_rng(0)
    chosen, hide = draw_outages(rng, 10_000, 24, 0.25, np.array([5, 12, 40]))
    assert chosen.size == hide.shape[0] and hide.shape[1] == 24
    assert 0.23 < chosen.size / 10_000 < 0.27
    assert np.array_equal(chosen, np.unique(chosen))
    lengths = hide.sum(axis=1)
    assert set(lengths.tolist()) == {5, 12, 23}  # 40 capped at all of the lookback but a step
    # One stretch each: where it starts and stops, nowhere else.
    assert (np.abs(np.diff(hide.astype(np.int8), axis=1)).sum(axis=1) <= 2).all()
    ends = 24 - np.argmax(hide[:, ::-1], axis=1)
    assert (ends == 24).any() and (ends < 24).any()  # still going on, or over
    assert ends.min() >= 5


def test_nothing_is_drawn_without_an_outage_or_a_share() -> None:
    rng = np.random.default_rng(0)
    assert draw_outages(rng, 100, 24, 0.25, np.zeros(0, np.int64))[0].size == 0
    assert draw_outages(rng, 100, 24, 0.0, np.array([5]))[0].size == 0


def series(outage: bool = True, n: int = 24 * 30) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    t = np.arange(n)
    values = 10 + np.sin(2 * np.pi * t / 24) + 0.01 * t + 0.2 * rng.normal(size=n)
    if outage:
        values[200:212] = np.nan  # 12 hours: longer than max_fill, a large outage
    ts = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"timestamp": ts, "v": values})


def test_a_share_of_training_windows_reads_an_outage_with_its_targets_unchanged() -> None:
    steps = default_steps()
    steps[-1] = steps[-1].model_copy(update={"lookback": 48, "horizon": 12})
    pipeline = ProcessingPipeline.from_config(steps)
    data = pipeline.fit_transform(SeriesFrame.from_pandas(series()))
    origins = data.train.starts + 48
    kwargs = {"batch_size": 64, "correction": False, "shuffle": True, "seed": 5}
    plain = window_dataset(pipeline, data.frame, origins, **kwargs)  # type: ignore[arg-type]
    drawn = window_dataset(
        pipeline,
        data.frame,
        origins,
        outages=0.5,
        outage_lengths=np.array([10]),
        **kwargs,  # type: ignore[arg-type]
    )
    changed = 0
    for i in range(plain.num_batches):
        (xa, _, wa), (xb, _, wb) = plain[i], drawn[i]
        np.testing.assert_array_equal(wa, wb)  # the same windows, the same targets observed
        mask_a, mask_b = xa[:, :48, 1], xb[:, :48, 1]
        assert (mask_b <= mask_a).all()  # a drawn outage only hides readings
        hidden = (mask_a - mask_b).sum(axis=1)
        assert hidden.max() <= 10
        # The calendar and the forecast steps' flag: known whatever is missing.
        calendar = pipeline.layout.calendar_columns
        assert (xb[:, :, calendar] == xa[:, :, calendar]).all()
        assert (xb[:, :, -1] == xa[:, :, -1]).all()
        changed += int(np.count_nonzero(hidden))
    assert 0.4 < changed / origins.size < 0.6


def test_a_run_draws_outages_by_default_and_only_when_the_series_has_them() -> None:
    short = {"epochs": 2, "ensemble": 1, "refit": False}
    default = {"model": "mlp", "training": short}
    off = {"model": "mlp", "training": {**short, "drawn_outages": 0.0}}
    drawn = gapcast.train(series(), default)
    plain = gapcast.train(series(), off)
    assert drawn.config.training.drawn_outages == 0.25  # the default, stored with the run
    assert drawn.history != plain.history
    # No large outage in its training part: nothing to draw, the same run to the last digit.
    calm = series(False)
    assert gapcast.train(calm, default).history == gapcast.train(calm, off).history


def wandering_with_long_outages(seed: int = 2, days: int = 90) -> pd.DataFrame:
    """Hourly readings of a daily cycle on a level that wanders, with an outage of one to two
    days every few days: right after one, most of a two-day lookback is missing."""
    rng = np.random.default_rng(seed)
    n = 24 * days
    t = np.arange(n)
    level = np.cumsum(rng.normal(0, 0.3, n))
    values = 20 + level + 3 * np.sin(2 * np.pi * t / 24) + 0.3 * rng.normal(size=n)
    for start in rng.choice(np.arange(48, n - 96, 90), size=n // 150, replace=False):
        values[start : start + int(rng.integers(24, 40))] = np.nan
    stamps = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    return pd.DataFrame({"timestamp": stamps, "v": values})


def test_drawn_outages_make_the_forecasts_right_after_an_outage_better() -> None:
    """What they are for: a model that trained on lookbacks with an outage drawn onto them
    forecasts better from the sparse lookbacks right after a real one (the backtest's origins
    after an outage, scored the way ``predict`` forecasts "as of" a time) than one that trained
    on the series' own, mostly complete, windows."""
    df = wandering_with_long_outages()
    short = {"epochs": 10, "ensemble": 1, "refit": False, "gap_classifier": "never", "seed": 0}
    after = {}
    for share in (0.0, 0.25):
        run = gapcast.train(df, {"model": "mlp", "training": {**short, "drawn_outages": share}})
        assert run.metrics.origins_after_outage >= 20
        after[share] = run.metrics.mae_after_outage
    # 0.815 of it when written; on five other draws of the series and the training seed
    # 0.73-0.91.
    assert after[0.25] < 0.92 * after[0.0], after


def test_the_share_of_drawn_outages_is_checked() -> None:
    with pytest.raises((InvalidInput, ValueError), match="drawn_outages"):
        TrainingConfig().with_overrides({"drawn_outages": 1.5})
