"""Covariates known in advance: read at the forecast steps in training, the backtest and predict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gapcast
from gapcast.errors import InvalidInput
from gapcast.processing.window_inputs import Layout, build_batch
from gapcast.training_config import TrainingConfig

HOUR_NS = 3_600 * 10**9


def config(role: str) -> dict[str, Any]:
    return {
        "model": "linear",
        role: ["shutdown"],
        "training": {"epochs": 20, "ensemble": 1, "gap_classifier": "never", "seed": 0},
    }


def test_the_forecast_steps_hold_a_future_covariate_and_nothing_of_the_others() -> None:
    """In the forecast steps a covariate known in advance gets its values and its observed mask,
    scaled by its training part's mean and spread (lookback and forecast steps alike); the target
    and a past-only covariate stay 0 there, so the model never sees what it forecasts."""
    t = 12
    values = np.stack([np.arange(t, dtype=float), 10.0 + np.arange(t), (np.arange(t) % 2) * 1.0])
    values[2, 9] = np.nan  # one future value missing
    observed = np.isfinite(values)
    # The flag's training mean is 0.25 and its spread 0.5 (the floor is a tenth of it).
    floor = (0.1, 0.1, 0.05)
    layout = Layout(
        lookback=4,
        horizon=3,
        n_targets=1,
        n_inputs=3,
        spread_floor=floor,
        future_inputs=(2,),
        train_mean=(5.0, 15.0, 0.25),
    )
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([8]), layout)
    x = batch.x[0]
    # Lookback 0, 1, 0, 1 -> -0.5, 1.5, -0.5, 1.5, whatever the lookback's own mean and spread.
    np.testing.assert_allclose(x[:4, 2], [-0.5, 1.5, -0.5, 1.5])
    # Steps 8, 9, 10: 0 (-0.5), missing (carried forward, mask 0), 0 (-0.5).
    np.testing.assert_allclose(x[4:, 2], [-0.5, -0.5, -0.5])
    np.testing.assert_array_equal(x[4:, 3 + 2], [1.0, 0.0, 1.0])
    assert not x[4:, :2].any() and not x[4:, 3:5].any()  # target and past covariate: nothing
    # The target keeps its window-relative scaling (its lookback's mean, 5.5).
    assert batch.level[0, 0] == pytest.approx(5.5)

    past_only = Layout(lookback=4, horizon=3, n_targets=1, n_inputs=3, spread_floor=floor)
    assert (
        not build_batch(values, observed, 0, HOUR_NS, np.array([8]), past_only).x[0, 4:, :6].any()
    )


def test_a_covariate_known_in_advance_is_what_forecasts_planned_shutdowns(
    shutdown_load: Callable[..., pd.DataFrame],
) -> None:
    """The same model and data: read for the lookback only, the shutdown flag cannot foretell a
    shutdown; known in advance it can, and the backtest shows it (through predict's own path)."""
    df = shutdown_load(24 * 120)
    past = gapcast.train(df, config("covariates"))
    ahead = gapcast.train(df, config("future_covariates"))
    assert ahead.run_info.future_covariates == ["shutdown"]
    assert ahead.run_info.covariates == []
    assert ahead.metrics.mae < 0.6 * past.metrics.mae, (ahead.metrics.mae, past.metrics.mae)


def test_predict_reads_the_future_rows_of_a_covariate_known_in_advance(
    shutdown_load: Callable[..., pd.DataFrame],
) -> None:
    """Rows after the history that hold only the known-in-advance values are the forecast's,
    not its history: the forecast starts after the last load reading, follows the announced
    shutdown, and is refused, naming the covariate, when those rows are missing."""
    df = shutdown_load(24 * 120)
    model = gapcast.load_model(gapcast.train(df, config("future_covariates")))
    horizon = model.pipeline.horizon
    history = df.iloc[: -2 * horizon]
    ahead = df.iloc[-2 * horizon : -horizon].assign(load=np.nan)
    ahead = ahead.assign(shutdown=0.0)
    calm = model.predict(pd.concat([history, ahead]))
    assert calm["timestamp"].iloc[0] == ahead["timestamp"].iloc[0]
    planned = ahead.assign(shutdown=np.where(np.arange(horizon) < 6, 1.0, 0.0))
    cut = model.predict(pd.concat([history, planned]))
    # The announced hours forecast far less load (the truth: a tenth, 90 less); the hours after
    # them barely move.
    drop = (calm["load"] - cut["load"]).to_numpy()
    assert drop[:6].min() > 25, drop
    assert np.abs(drop[8:]).max() < 0.3 * drop[:6].min(), drop

    with pytest.raises(InvalidInput, match=r"covariate 'shutdown' \(known in advance\)") as info:
        model.predict(history)
    assert "pass rows for those steps" in str(info.value)


def test_a_channel_has_one_role() -> None:
    with pytest.raises(InvalidInput, match="both future_covariates and covariates") as info:
        TrainingConfig.model_validate({"covariates": ["temp"], "future_covariates": ["temp"]})
    assert info.value.field == "future_covariates[0]"
    with pytest.raises(InvalidInput, match="both future_covariates and target"):
        TrainingConfig.model_validate({"target": "load", "future_covariates": "load"})
    assert TrainingConfig.model_validate({"future_covariates": "temp"}).future_covariates == [
        "temp"
    ]


def test_an_unknown_future_covariate_is_named(tiny_config: Any, hourly: Any) -> None:
    with pytest.raises(InvalidInput, match="unknown covariate channel 'holiday' in future_cov"):
        gapcast.train(hourly(200), {**tiny_config(epochs=1), "future_covariates": ["holiday"]})


def test_the_builder_declares_them_and_a_stored_pipeline_remembers_them(
    shutdown_load: Callable[..., pd.DataFrame],
) -> None:
    """``ProcessingBuilder().future_covariates(...)`` marks them in the fitted window's layout,
    and the pipeline rebuilt from its stored config (as ``load_model`` rebuilds it) still knows
    which inputs are known in advance."""
    from gapcast.processing import ProcessingBuilder, ProcessingPipeline
    from gapcast.processing.frame import SeriesFrame

    df = shutdown_load(24 * 20).assign(temp=lambda d: 20 + np.sin(np.arange(len(d)) / 24))
    frame = SeriesFrame(
        timestamps=df["timestamp"].astype("int64").to_numpy(),
        values=df[["load", "temp", "shutdown"]].to_numpy().T,
        channels=("load", "temp", "shutdown"),
    )
    pipeline = (
        ProcessingBuilder()
        .split(val=0.15, test=0.15)
        .window(lookback=24, horizon=6)
        .targets("load")
        .covariates("temp")
        .future_covariates("shutdown")
        .build()
    )
    prepared = pipeline.fit_transform(frame)
    assert pipeline.layout.future_inputs == (2,)
    assert prepared.frame.split is not None
    share = df["shutdown"].iloc[: prepared.frame.split[0]].mean()  # its training part's mean
    assert pipeline.layout.train_mean[2] == pytest.approx(share)

    stored = [step.model_dump(mode="json") for step in pipeline.to_config()]
    again = ProcessingPipeline.from_config(stored)
    assert again.window.future_ == ("shutdown",)
    assert again.layout == pipeline.layout
    assert again.covariates == ("temp",) and again.future_covariates == ("shutdown",)
