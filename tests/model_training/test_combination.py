"""The finalists' average as a candidate of model "auto": what it forecasts, when it is kept, and
what a kept average stores."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gapcast.events import CandidateEvent, ProgressEvent
from gapcast.model_training import backtest, ml_runner
from gapcast.model_training import refit as refit_module
from gapcast.model_training.candidates import (
    COMBINATION,
    Candidate,
    TrainedCandidate,
    choose,
    combine,
    validation_origins,
)
from gapcast.model_training.ml_runner import MLRunner
from gapcast.model_training.training_data import prepare
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig

from .conftest import predicted_test_mae, trained_candidate


def test_the_average_forecasts_the_mean_of_its_members_in_real_units(
    series: pd.DataFrame, tiny_config: Any
) -> None:
    """A corrected and a plain member: the average adds half the reference to their mean output,
    which is the mean of their real forecasts; it is scored like them."""
    config = TrainingConfig.model_validate(tiny_config("mlp"))
    data = prepare(SeriesFrame.from_pandas(series), config)
    corrected = trained_candidate(Candidate("linear", True), data, config, seed=1)
    plain = trained_candidate(Candidate("mlp", False, {"units": 8}), data, config, seed=2)
    pruned = trained_candidate(
        Candidate("mlp", True, {"units": 8}), data, config, seed=3, pruned=True
    )
    at = validation_origins(data).index
    members = [c.forecaster.forecast_at(data.frame, at) for c in (corrected, plain)]
    average = combine([corrected, plain, pruned], data)  # a pruned candidate is not a finalist
    assert average is not None
    assert average.candidate.key == "average" and average.forecaster.correction == 0.5
    assert average.candidate.label == "average of linear + seasonal correction and mlp"
    assert [m.candidate for m in average.members] == [corrected.candidate, plain.candidate]
    forecast = average.forecaster.forecast_at(data.frame, at)
    np.testing.assert_allclose(forecast, np.mean(members, axis=0), rtol=1e-5, atol=1e-4)
    truth = backtest.truth_at(data.real, at, data.horizon)
    ok = np.isfinite(truth)
    assert average.val_mae == pytest.approx(float(np.abs(forecast - truth)[ok].mean()), rel=1e-6)
    assert combine([corrected, pruned], data) is None  # one finalist: nothing to average


def test_an_average_of_several_corrected_members_names_each_member_once() -> None:
    members = (
        Candidate("linear", True, reference="naive"),
        Candidate("linear", False),
        Candidate("mlp", True, reference="naive"),
        Candidate("mlp", False),
    )
    average = Candidate(COMBINATION, True, reference="naive", members=members)
    assert average.label == (
        "average of linear + naive correction, linear, mlp + naive correction and mlp"
    )
    assert Candidate(COMBINATION, False, members=members[1:2]).label == "average of linear"


def test_choose_keeps_the_average_only_when_it_scores_lower() -> None:
    def scored(candidate: Candidate, val_mae: float, *members: TrainedCandidate) -> Any:
        forecaster: Any = None  # choose never looks at it
        return TrainedCandidate(candidate, forecaster, [], 2, val_mae, 0.1, members=members)

    a, b = scored(Candidate("linear", True), 2.0), scored(Candidate("mlp", False), 1.0)
    both = (a.candidate, b.candidate)
    better = scored(Candidate("average", True, members=both), 0.9, a, b)
    worse = scored(Candidate("average", True, members=both), 1.1, a, b)
    assert choose([a, b, better]) is better
    assert choose([a, b, worse]) is b


def test_a_kept_average_refits_every_member_and_predict_gives_what_was_scored(
    series: pd.DataFrame, tiny_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept (forced here: which one wins on this series is not the point), the average of the
    two candidates that survive the rung refits ``ensemble`` copies of each for its own epochs
    (with the seeds of a refit of that one alone), stores one model averaging all the copies, and
    ``predict`` gives the forecasts the backtest scored."""
    from gapcast.model_training.general_model import load_model_bytes

    def keep_the_average(trained: list[TrainedCandidate]) -> TrainedCandidate:
        return next(c for c in trained if c.members)

    monkeypatch.setattr(ml_runner, "choose", keep_the_average)
    refits: list[tuple[str, int]] = []
    real_train = refit_module.train_candidate

    def spy(candidate: Candidate, *args: Any, **kwargs: Any) -> Any:
        refits.append((candidate.key, kwargs["seed"]))
        return real_train(candidate, *args, **kwargs)

    monkeypatch.setattr(refit_module, "train_candidate", spy)
    cfg = tiny_config("linear", gap_classifier="never", epochs=4, patience=0, ensemble=2)
    cfg = {**cfg, "model": "auto", "hyperparameters": {}, "training": {**cfg["training"]}}
    cfg["training"]["correction"] = "auto"
    events: list[Any] = []
    runner = MLRunner(TrainingConfig.model_validate(cfg), on_event=events.append)
    result = runner.run(SeriesFrame.from_pandas(series))

    cands = {c.key: c for c in result.metrics.candidates}
    average = cands["average"]
    assert average.selected and average.label == result.metrics.model_label
    # The average halfway to the reference (test_halfway.py) is offered after it.
    assert cands["average+halfway"].label == f"{average.label}, halfway to seasonal naive"
    finalists = [c for c in cands.values() if not c.pruned and c.key.startswith(("linear", "mlp"))]
    assert len(finalists) == 2 and average.label.startswith("average of ")
    streamed = [e.key for e in events if isinstance(e, CandidateEvent)]
    assert streamed[-2:] == ["average", "average+halfway"] and len(streamed) == len(cands)

    doc = json.loads(result.artifact("pipeline").data)  # type: ignore[union-attr]
    assert doc["model"] == "average" and len(doc["members"]) == 2
    assert set(doc["members"]) == {c.label for c in finalists}
    shares = [1.0 if "correction" in c.key else 0.0 for c in finalists]
    assert doc["correction"] == pytest.approx(np.mean(shares))
    stored = load_model_bytes(result.artifact("model").data)  # type: ignore[union-attr]
    copies = [layer for layer in stored.layers if hasattr(layer, "layers")]
    assert len(copies) == 4  # two copies of each finalist
    # Each with the seeds a refit of that finalist alone would use.
    assert sorted(refits) == sorted((c.key, seed) for c in finalists for seed in (42, 43))

    refit = [e for e in events if isinstance(e, ProgressEvent) and e.phase == "refit"]
    ends = [e for e in refit if e.batch is None]
    assert len(ends) == 2 * sum(c.epochs for c in finalists)
    assert {e.epochs for e in ends} == {len(ends)}  # one progress bar over every copy

    assert result.metrics.mae == pytest.approx(predicted_test_mae(result, series), rel=1e-5)


def test_weight_decay_chooses_adamw_and_zero_plain_adam(
    series: pd.DataFrame, tiny_config: Any
) -> None:
    """The forecasters train with AdamW at ``training.weight_decay`` (0.004 by default); 0 is
    plain Adam, which decays nothing."""
    from gapcast.model_training.candidates import build

    default = TrainingConfig.model_validate(tiny_config("linear"))
    assert default.training.weight_decay == 0.004
    data = prepare(SeriesFrame.from_pandas(series), default)
    at = data.origins["train"]
    model, _, _ = build(
        Candidate("linear", False), data, default, origins=at, validation=None, seed=1
    )
    assert type(model.optimizer).__name__ == "AdamW"
    assert model.optimizer.weight_decay == pytest.approx(0.004)
    off = TrainingConfig.model_validate(tiny_config("linear", weight_decay=0))
    model, _, _ = build(Candidate("linear", False), data, off, origins=at, validation=None, seed=1)
    assert type(model.optimizer).__name__ == "Adam"
    with pytest.raises(ValueError, match="weight_decay"):
        TrainingConfig.model_validate(tiny_config("linear", weight_decay=-0.1))


def test_the_choice_between_candidates_does_not_depend_on_a_targets_units(
    series: pd.DataFrame, tiny_config: Any
) -> None:
    """Two targets: the validation figure candidates are chosen by is their mean MASE, so
    reading one target in milli-units instead of units (x1000) leaves it where it was, where a
    pooled MAE would grow about 500-fold and follow that target alone."""
    two = series.assign(spare=series["load"] * 0.5 + 3.0)
    figures = []
    for factor in (1.0, 1000.0):
        df = two.assign(spare=two["spare"] * factor)
        config = TrainingConfig.model_validate(
            {**tiny_config("linear"), "target": ["load", "spare"]}
        )
        data = prepare(SeriesFrame.from_pandas(df), config)
        figures.append(trained_candidate(Candidate("linear", False), data, config, seed=1).val_mae)
    assert figures[0] is not None and figures[1] is not None
    assert figures[1] == pytest.approx(figures[0], rel=1e-3)


@pytest.mark.parametrize(
    ("targets", "score"), [(["load"], "mae"), (["load", "spare"], "mean_mase")]
)
def test_a_candidate_event_names_the_score_it_carries(
    series: pd.DataFrame, tiny_config: Any, targets: list[str], score: str
) -> None:
    """The live line reads "validation MAE" for one target and "validation MASE (mean)" for
    several, as the stored candidates table does: the event says which it carries."""
    cfg = {**tiny_config("linear", gap_classifier="never", epochs=2), "target": targets}
    events: list[Any] = []
    runner = MLRunner(TrainingConfig.model_validate(cfg), on_event=events.append)
    runner.run(SeriesFrame.from_pandas(series.assign(spare=series["load"] * 0.5 + 3.0)))
    streamed = [e for e in events if isinstance(e, CandidateEvent)]
    assert streamed and {e.score for e in streamed} == {score}
