"""Model auto's candidates with the long season's lag: offered when a week holds more than its
days, halved apart from the rest, and stored with the pipeline that reads it."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gapcast.model_training import ml_runner
from gapcast.model_training.candidates import TrainedCandidate, candidates_for
from gapcast.model_training.ml_runner import MLRunner
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.seasons import Season
from gapcast.training_config import TrainingConfig

from .conftest import predicted_test_mae

WEEK = Season("1 week", 168)


def quiet_weekends(weeks: int = 5) -> pd.DataFrame:
    t = np.arange(weeks * 168)
    weekend = (t // 24) % 7 >= 5
    noise = np.random.default_rng(7).normal(0, 0.3, t.size)
    values = 10 + 3 * np.sin(2 * np.pi * t / 24) - 4 * weekend + noise
    ts = pd.date_range("2024-01-01", periods=t.size, freq="h")  # a Monday
    return pd.DataFrame({"timestamp": ts, "load": values})


def config(**training: Any) -> TrainingConfig:
    base = {
        "gap_classifier": "never",
        "ensemble": 1,
        "origin_stride": 12,
        "long_season_lag": True,
        **training,
    }
    return TrainingConfig.model_validate({"training": base})


def test_auto_offers_every_candidate_again_with_the_lag_and_a_named_model_does_not() -> None:
    auto = candidates_for(config(), season=24, long_season=WEEK)
    plain, lagged = auto[:4], auto[4:]
    assert [c.key for c in lagged] == [f"{c.key}+lag168" for c in plain]
    assert [c.label for c in lagged] == [f"{c.label} + 1 week lag" for c in plain]
    assert all(c.long_season is None for c in plain)
    assert len(candidates_for(config(), season=24, long_season=None)) == 4
    named = TrainingConfig.model_validate({"model": "mlp"})
    assert [c.key for c in candidates_for(named, season=24, long_season=WEEK)] == ["mlp+correction"]


def test_the_lag_candidates_are_offered_only_when_asked() -> None:
    frame = SeriesFrame.from_pandas(quiet_weekends())
    result = MLRunner(config(epochs=1, long_season_lag=False)).run(frame)
    keys = [c.key for c in result.metrics.candidates]
    assert len(keys) == 6 and not any("lag" in k for k in keys)  # four, average, halfway
    assert "long_season" not in result.pipeline_config[-1]["fitted"]


def test_each_group_is_halved_alone_and_averaged_alone() -> None:
    frame = SeriesFrame.from_pandas(quiet_weekends())
    result = MLRunner(config(epochs=4, patience=0)).run(frame)
    trained = [c for c in result.metrics.candidates if not c.key.startswith("average")]
    trained = [c for c in trained if not c.key.endswith("+halfway")]
    assert len(trained) == 8
    plain = [c for c in trained if "+lag168" not in c.key]
    lagged = [c for c in trained if c.key.endswith("+lag168")]
    # The rung keeps the better half of each group: neither can crowd out the other.
    assert sum(c.pruned for c in plain) == 2 and sum(c.pruned for c in lagged) == 2
    # One average per group: a model averages models that read the same inputs.
    average = [c for c in result.metrics.candidates if c.key.startswith("average")]
    assert sorted(c.key for c in average if not c.key.endswith("+halfway")) == [
        "average",
        "average+lag168",
    ]
    for c in average:
        assert c.label.count("1 week lag") in (0, 2)


def test_a_kept_lag_candidate_stores_its_pipeline_and_predict_gives_what_was_scored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gapcast.model_training.general_model import load_model_bytes

    real_choose = ml_runner.choose

    def keep_lagged(trained: list[TrainedCandidate]) -> TrainedCandidate:
        lagged = [c for c in trained if c.candidate.long_season is not None and not c.pruned]
        return real_choose(lagged) if lagged else real_choose(trained)

    monkeypatch.setattr(ml_runner, "choose", keep_lagged)
    monkeypatch.setattr(ml_runner, "eligible", lambda trained, data: (list(trained), None))
    series = quiet_weekends()
    result = MLRunner(config(epochs=4, ensemble=2)).run(SeriesFrame.from_pandas(series))
    assert "1 week lag" in result.metrics.model_label
    window = result.pipeline_config[-1]
    assert window["fitted"]["long_season"] == 168
    assert result.run_info.pipeline_config == result.pipeline_config
    doc = json.loads(result.artifact("pipeline").data)  # type: ignore[union-attr]
    assert doc["steps"][-1]["fitted"]["long_season"] == 168
    stored = load_model_bytes(result.artifact("model").data)  # type: ignore[union-attr]
    assert stored.input_shape[-1] == 1 * 2 + 1 + 2 * 2 + 1 + 1  # + the lag column
    mae = predicted_test_mae(result, series, horizon=24)
    assert result.metrics.mae == pytest.approx(mae, rel=1e-5)


class _Fixed:
    """A forecaster that returns the truth plus a fixed error per origin (the test controls how
    far each candidate is from the truth, origin by origin)."""

    def __init__(self, data: Any, errors: dict[int, float]) -> None:
        self.data, self.errors = data, errors

    def forecast_at(self, frame: Any, origins: np.ndarray) -> np.ndarray:
        from gapcast.model_training import backtest

        truth = backtest.truth_at(self.data.real, origins, self.data.horizon)
        off = np.array([self.errors[int(o)] for o in origins])[:, None, None]
        return np.nan_to_num(truth) + off


def _trained(candidate: Any, data: Any, errors: dict[int, float]) -> TrainedCandidate:
    mae = float(np.mean(np.abs(list(errors.values()))))
    return TrainedCandidate(candidate, _Fixed(data, errors), [], 1, mae, 0.0)  # type: ignore[arg-type]


def test_the_lag_is_kept_only_when_its_validation_gain_is_beyond_the_noise() -> None:
    from gapcast.model_training.candidates import eligible, validation_origins
    from gapcast.model_training.training_data import prepare

    cfg = config()
    data = prepare(SeriesFrame.from_pandas(quiet_weekends(8)), cfg)
    assert data.long_season_data is not None
    plain_c, *_, lag_c = candidates_for(cfg, season=24, long_season=WEEK)
    assert lag_c.long_season == WEEK and plain_c.long_season is None
    origins = [int(o) for o in validation_origins(data).index]
    assert len(origins) >= 6
    plain = _trained(plain_c, data, dict.fromkeys(origins, 1.0))

    # Ahead at every origin by about the same amount: beyond the noise, the lag is kept.
    steady = _trained(lag_c, data, {o: 0.5 + 0.01 * (i % 2) for i, o in enumerate(origins)})
    pool, evidence = eligible([plain, steady], data)
    assert evidence is not None and evidence.beyond_noise and evidence.origins == len(origins)
    assert evidence.gain == pytest.approx(0.495, abs=0.001)
    assert steady in pool and "beyond the noise" in evidence.message
    assert "1 week lag" in evidence.message

    # Lower on the mean, from one origin only (far behind at the rest): within the noise, the
    # choice is made without the lag.
    lucky = _trained(lag_c, data, {o: (0.0 if o == origins[0] else 1.05) for o in origins})
    pool, evidence = eligible([plain, lucky], data)
    assert lucky.val_mae is not None and lucky.val_mae < 1.0  # validation alone would keep it
    assert evidence is not None and not evidence.beyond_noise
    assert pool == [plain] and "within the noise" in evidence.message
    assert lucky.within_noise and not plain.within_noise  # shown beside its lower val MAE

    # A plain candidate ahead: no test, nothing left out.
    behind = _trained(lag_c, data, dict.fromkeys(origins, 2.0))
    assert eligible([plain, behind], data) == ([plain, behind], None)
