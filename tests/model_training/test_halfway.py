"""A forecast taken halfway to its reference as a candidate of model "auto": what it
forecasts, what it is called, when it is offered, and what a kept one stores."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gapcast.events import CandidateEvent
from gapcast.model_training import backtest, ml_runner
from gapcast.model_training.candidates import (
    COMBINATION,
    Candidate,
    TrainedCandidate,
    halfway,
    validation_origins,
)
from gapcast.model_training.ml_runner import MLRunner
from gapcast.model_training.training_data import prepare
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig

from .conftest import predicted_test_mae, trained_candidate


@pytest.mark.parametrize("correction", [True, False])
def test_halfway_forecasts_the_mean_of_the_kept_forecast_and_the_reference(
    series: pd.DataFrame, tiny_config: Any, correction: bool
) -> None:
    """The reference is the value one season (a day here) earlier: halfway is the mean of the
    kept forecast and that value, in real units, whether the kept model corrects the reference
    or forecasts the level; it is scored like any candidate. (Without the linear detrend: the
    reference is read in prepared units, and a detrended one is a season's trend away from the
    raw value.)"""
    cfg = tiny_config("linear")
    cfg["preprocessing"] = [s for s in cfg["preprocessing"] if s["step"] != "remove_linear_trend"]
    config = TrainingConfig.model_validate(cfg)
    data = prepare(SeriesFrame.from_pandas(series), config)
    season = data.pipeline.window.season_steps
    assert season == 24
    kept = trained_candidate(Candidate("linear", correction), data, config)
    half = halfway(kept, data)
    assert half is not None and half.base is kept
    assert half.forecaster.correction == (1.0 if correction else 0.5)
    at = validation_origins(data).index
    leads = np.arange(data.horizon)
    reference = data.real[:, at[:, None] - season + leads].transpose(1, 2, 0)
    expected = (kept.forecaster.forecast_at(data.frame, at) + reference) / 2
    forecast = half.forecaster.forecast_at(data.frame, at)
    np.testing.assert_allclose(forecast, expected, rtol=1e-5, atol=1e-4)
    truth = backtest.truth_at(data.real, at, data.horizon)
    ok = np.isfinite(truth)
    assert half.val_mae == pytest.approx(float(np.abs(forecast - truth)[ok].mean()), rel=1e-5)


def test_halfway_labels_name_the_reference() -> None:
    members = (Candidate("linear", True, reference="naive"), Candidate("mlp", False))
    assert Candidate("mlp", True, reference="naive", halfway=True).label == (
        "mlp + naive correction, halfway to naive"
    )
    assert Candidate("mlp", False, halfway=True).label == "mlp, halfway to seasonal naive"
    average = Candidate(COMBINATION, True, reference="naive", members=members, halfway=True)
    assert average.label == "average of linear + naive correction and mlp, halfway to naive"
    assert average.key == "average+halfway"
    assert Candidate("mlp", True, halfway=True).key == "mlp+correction+halfway"


def test_no_halfway_without_a_reference_or_a_validation_score(
    series: pd.DataFrame, tiny_config: Any
) -> None:
    config = TrainingConfig.model_validate(tiny_config("linear"))
    data = prepare(SeriesFrame.from_pandas(series), config)
    kept = trained_candidate(Candidate("linear", True), data, config)
    unscored = TrainedCandidate(kept.candidate, kept.forecaster, [], 1, None, 0.0)
    assert halfway(unscored, data) is None
    steps = [
        {**s, "season": "none"} if s["step"] == "window" else s
        for s in tiny_config()["preprocessing"]
    ]
    none = TrainingConfig.model_validate({**tiny_config("linear"), "preprocessing": steps})
    data = prepare(SeriesFrame.from_pandas(series), none)
    assert data.pipeline.window.season_steps is None
    assert halfway(trained_candidate(Candidate("linear", False), data, none), data) is None


def test_a_named_model_gets_no_halfway_candidate(series: pd.DataFrame, tiny_config: Any) -> None:
    cfg = tiny_config("linear", gap_classifier="never", epochs=2)
    result = MLRunner(TrainingConfig.model_validate(cfg)).run(SeriesFrame.from_pandas(series))
    assert [c.key for c in result.metrics.candidates] == ["linear+correction"]


@pytest.mark.parametrize(("correction", "offered"), [("off", False), ("on", True)])
def test_correction_off_offers_no_halfway_candidate(
    series: pd.DataFrame, tiny_config: Any, correction: str, offered: bool
) -> None:
    """Told to forecast the value itself, model auto does not move it towards the reference."""
    cfg = tiny_config("linear", gap_classifier="never", epochs=2, correction=correction)
    cfg = {**cfg, "model": "auto", "hyperparameters": {}}
    result = MLRunner(TrainingConfig.model_validate(cfg)).run(SeriesFrame.from_pandas(series))
    keys = [c.key for c in result.metrics.candidates]
    assert any(k.endswith("+halfway") for k in keys) is offered, keys


def test_a_kept_halfway_refits_what_it_halves_and_predict_gives_what_was_scored(
    series: pd.DataFrame, tiny_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept (forced here: which one wins on this series is not the point), the halfway
    candidate is offered last, refits the candidate it halves (its copies), stores one model
    that loads with safe_mode, and ``predict`` gives the forecasts the backtest scored."""
    from gapcast.model_training.general_model import load_model_bytes

    real_choose = ml_runner.choose

    def keep_halfway(trained: list[TrainedCandidate]) -> TrainedCandidate:
        half = [c for c in trained if c.base is not None]
        return half[0] if half else real_choose(trained)

    monkeypatch.setattr(ml_runner, "choose", keep_halfway)
    cfg = tiny_config("linear", gap_classifier="never", epochs=3, patience=0, ensemble=2)
    cfg = {**cfg, "model": "auto", "hyperparameters": {}, "training": {**cfg["training"]}}
    events: list[Any] = []
    runner = MLRunner(TrainingConfig.model_validate(cfg), on_event=events.append)
    result = runner.run(SeriesFrame.from_pandas(series))

    cands = {c.key: c for c in result.metrics.candidates}
    half = next(c for c in cands.values() if c.key.endswith("+halfway"))
    base = cands[half.key.removesuffix("+halfway")]
    assert half.selected and not base.selected
    assert half.label == f"{base.label}, halfway to seasonal naive" == result.metrics.model_label
    streamed = [e.key for e in events if isinstance(e, CandidateEvent)]
    assert streamed[-1] == half.key and len(streamed) == len(cands)

    doc = json.loads(result.artifact("pipeline").data)  # type: ignore[union-attr]
    # The reference's share: the mean of the halved model's own shares and 1 (the reference).
    halved = (
        [c for c in cands.values() if not c.pruned and c.key not in (COMBINATION, half.key)]
        if base.key == COMBINATION
        else [base]
    )
    own = float(np.mean([1.0 if c.correction else 0.0 for c in halved]))
    assert doc["correction"] == pytest.approx((own + 1.0) / 2.0)
    stored = load_model_bytes(result.artifact("model").data)  # type: ignore[union-attr]
    assert [layer.name for layer in stored.layers][-1] == "half"

    assert result.metrics.mae == pytest.approx(predicted_test_mae(result, series), rel=1e-5)
