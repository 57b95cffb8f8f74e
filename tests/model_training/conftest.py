"""Small series for real (tiny) Keras training runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

HOUR = pd.Timedelta(hours=1)


def hourly(n: int = 480, gap: tuple[int, int] | None = None, seed: int = 0) -> pd.DataFrame:
    """A daily-seasonal hourly series with a mild trend; ``gap`` = (start, length) of NaNs."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 10 + np.sin(2 * np.pi * t / 24) + 0.01 * t + 0.05 * rng.normal(size=n)
    if gap is not None:
        values[gap[0] : gap[0] + gap[1]] = np.nan
    ts = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"timestamp": ts, "load": values})


def tiny_config(model: str = "linear", **training: Any) -> dict[str, Any]:
    hp = {"mlp": {"units": 8}, "lstm": {"units": 4}, "gru": {"units": 4}}.get(model, {})
    return {
        "model": model,
        "hyperparameters": hp,
        "preprocessing": [
            {"step": "resample"},
            {"step": "detect_gaps", "max_fill": 3},
            {"step": "fill_gaps"},
            {"step": "split", "val": 0.15, "test": 0.15},
            {"step": "remove_linear_trend"},
            {"step": "scale"},
            {"step": "window", "lookback": 24, "horizon": 4},
        ],
        "training": {"epochs": 2, "batch_size": 32, "gap_classifier_epochs": 1, **training},
    }


@pytest.fixture
def series() -> pd.DataFrame:
    return hourly()


@pytest.fixture
def gappy_series() -> pd.DataFrame:
    # One large gap in the training part and one in the test part.
    df = hourly(600)
    df.loc[150:179, "load"] = np.nan
    df.loc[540:559, "load"] = np.nan
    return df


@pytest.fixture(name="tiny_config")
def tiny_config_fixture() -> Any:
    return tiny_config


@pytest.fixture(name="hourly")
def hourly_fixture() -> Any:
    return hourly


def trained_candidate(
    candidate: Any, data: Any, config: Any, seed: int = 1, pruned: bool = False
) -> Any:
    """``candidate`` trained one epoch on ``data``'s training windows and scored on its
    validation origins, as model "auto" trains and scores one."""
    from gapcast.model_training.candidates import TrainedCandidate, train, validation_mae

    forecaster, seconds = train(
        candidate,
        data,
        config,
        origins=data.origins["train"],
        validation=None,
        epochs=1,
        callbacks=[],
        seed=seed,
    )
    val = validation_mae(forecaster, data)
    return TrainedCandidate(candidate, forecaster, [], 1, val, seconds, pruned)


def predicted_test_mae(result: Any, series: pd.DataFrame, horizon: int = 4) -> float:
    """The MAE of ``gapcast.load_model(result).predict`` from the backtest's origins of the
    test part (the last 15% of ``series``, a ``load`` column): what a stored model gives a user,
    to hold against the MAE the run scored."""
    import gapcast

    model = gapcast.load_model(result)
    test_start = len(series) - round(len(series) * 0.15)
    errors = []
    for origin in range(test_start, len(series) - horizon + 1, result.metrics.origin_stride):
        forecast = model.predict(series.iloc[:origin], start=series["timestamp"].iloc[origin])
        errors.append(forecast["load"].to_numpy() - series["load"].iloc[origin : origin + horizon])
    return float(np.mean(np.abs(errors)))
