"""TrainingConfig: defaults, validation against the model registry, request overrides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from gapcast.errors import InvalidInput
from gapcast.training_config import TrainingConfig


def test_defaults_validate_and_leave_the_window_to_the_data() -> None:
    cfg = TrainingConfig()
    assert cfg.model == "auto" and cfg.hyperparameters == {}
    assert cfg.window() == (None, None)  # resolved from the frequency when a run starts
    assert [s.step for s in cfg.preprocessing] == [
        "resample",
        "detect_gaps",
        "split",
        "mask_outliers",
        "calendar",
        "window",
    ]
    assert cfg.training.quantiles == [0.1, 0.5, 0.9] and cfg.training.refit
    assert cfg.training.ensemble == 5


def test_a_named_model_fills_its_hyperparameters_and_auto_takes_none() -> None:
    assert TrainingConfig(model="lstm").hyperparameters["units"] == 32
    with pytest.raises(InvalidInput, match="model 'auto' chooses") as err:
        TrainingConfig(model="auto", hyperparameters={"units": 4})
    assert err.value.field == "hyperparameters"


@pytest.mark.parametrize("bad", [[0.0], [1.0], [0.5, 1.2], [-0.1]])
def test_quantiles_lie_strictly_between_0_and_1(bad: list[float]) -> None:
    with pytest.raises(ValidationError, match="strictly between 0 and 1"):
        TrainingConfig.model_validate({"training": {"quantiles": bad}})


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises((InvalidInput, ValidationError), match=r"lstm") as err:
        TrainingConfig(model="prophet")
    assert "prophet" in str(err.value)


def test_overriding_the_model_starts_from_its_own_hyperparameters() -> None:
    cfg = TrainingConfig(model="lstm")
    switched = cfg.with_overrides({"model": "linear", "epochs": 3, "lookback": 16})
    assert switched.model == "linear"
    assert switched.hyperparameters == TrainingConfig(model="linear").hyperparameters
    assert switched.training.epochs == 3 and switched.window() == (16, None)


def test_hyperparameter_overrides_merge_for_the_same_model() -> None:
    cfg = TrainingConfig(model="mlp", hyperparameters={"layers": 3})
    merged = cfg.with_overrides({"hyperparameters": {"units": 16}})
    assert merged.hyperparameters["units"] == 16
    assert merged.hyperparameters["layers"] == 3  # kept, not reset to the default 2


def test_invalid_hyperparameter_override_is_refused() -> None:
    with pytest.raises((InvalidInput, ValidationError), match="units"):
        TrainingConfig(model="mlp").with_overrides({"hyperparameters": {"units": -1}})


def test_unknown_override_names_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"unknown override 'epoch'; expected one of") as err:
        TrainingConfig().with_overrides({"epoch": 3})
    assert err.value.field == "overrides.epoch"


def test_a_preparation_step_s_field_is_overridden_by_its_dotted_name() -> None:
    held = TrainingConfig().with_overrides(
        {"resample.agg": "hold", "resample.max_hold": "6h", "split.test": 0.2}
    )
    resample = next(s for s in held.preprocessing if s.step == "resample")
    split = next(s for s in held.preprocessing if s.step == "split")
    assert (resample.agg, resample.max_hold, split.test) == ("hold", "6h", 0.2)
    assert [s.step for s in held.preprocessing] == [s.step for s in TrainingConfig().preprocessing]
    with pytest.raises(InvalidInput, match=r"no 'scale' step; its steps are resample, ") as err:
        TrainingConfig().with_overrides({"scale.method": "minmax"})
    assert err.value.field == "overrides.scale.method"
    with pytest.raises(InvalidInput, match=r"'resample' step has no field 'how'; its fields are"):
        TrainingConfig().with_overrides({"resample.how": "hold"})
    with pytest.raises((InvalidInput, ValidationError), match="agg"):
        TrainingConfig().with_overrides({"resample.agg": "median-ish"})


def test_an_override_is_also_named_by_its_path_in_the_stored_config() -> None:
    """``gapcast configs show`` prints {"training": {"epochs": 20}, ...}: --set training.epochs=5
    is what a user copies from it (it was read as a preparation step named 'training')."""
    cfg = TrainingConfig().with_overrides({"training.epochs": 5, "training.patience": 0})
    assert (cfg.training.epochs, cfg.training.patience) == (5, 0)
    mlp = TrainingConfig().with_overrides({"hyperparameters.units": 16, "model": "mlp"})
    assert mlp.model == "mlp" and mlp.hyperparameters["units"] == 16
    assert mlp.hyperparameters["layers"] == TrainingConfig(model="mlp").hyperparameters["layers"]
    with pytest.raises(InvalidInput, match=r"training section has no field 'epoch'; its") as err:
        TrainingConfig().with_overrides({"training.epoch": 5})
    assert err.value.field == "overrides.training.epoch"
    assert "epochs" in err.value.message
    with pytest.raises(InvalidInput, match=r"expected hyperparameters.FIELD"):
        TrainingConfig(model="mlp").with_overrides({"hyperparameters.": 5})
    with pytest.raises((InvalidInput, ValidationError), match="unit"):
        TrainingConfig(model="mlp").with_overrides({"hyperparameters.unit": 16})


@pytest.mark.parametrize(
    ("step", "bad"),
    [
        ({"step": "resample", "agg": "hold", "max_hold": "soon"}, "max_hold"),
        ({"step": "resample", "freq": "MS"}, "freq"),
        ({"step": "detect_gaps", "max_fill": "-1h"}, "max_fill"),
    ],
)
def test_a_duration_a_step_cannot_read_is_refused_with_the_config(
    step: dict[str, str], bad: str
) -> None:
    """Refused when the config arrives, naming the field and the value, not by the run."""
    from gapcast.api.submit import validate_config

    body = {"preprocessing": [step, {"step": "window"}]}
    with pytest.raises(InvalidInput) as err:
        validate_config(body)
    assert err.value.field == f"config.preprocessing[0].{bad}"
    assert err.value.message == (
        f"config.preprocessing[0].{bad}: expected a fixed positive duration such as '15min', "
        f"'1h' or '7D', received {step[bad]!r}"
    )
    fine = {**step, bad: "2h"}
    assert validate_config({"preprocessing": [fine, {"step": "window"}]}).preprocessing[0]


def test_one_channel_may_be_named_without_a_list() -> None:
    config = TrainingConfig.model_validate({"target": "load", "covariates": "temp"})
    assert config.target == ["load"] and config.covariates == ["temp"]
    assert TrainingConfig().with_overrides({"target": "load"}).target == ["load"]


def test_a_channel_has_one_role() -> None:
    """A target is not also a covariate (its past is read already), and a covariate known in
    advance is neither; each refusal names the entry."""
    with pytest.raises(InvalidInput) as err:
        TrainingConfig.model_validate({"target": "load", "covariates": ["temp", "load"]})
    assert err.value.field == "covariates[1]"
    assert err.value.message == (
        "channel 'load' is in both target and covariates; a target's past is read already: "
        "leave it out of covariates"
    )
    with pytest.raises(InvalidInput) as err:
        TrainingConfig.model_validate({"covariates": ["temp"], "future_covariates": ["temp"]})
    assert err.value.field == "future_covariates[0]"
    assert "channel 'temp' is in both future_covariates and covariates" in err.value.message
    fine = TrainingConfig.model_validate(
        {"target": "load", "covariates": ["temp"], "future_covariates": ["holiday"]}
    )
    assert fine.covariates == ["temp"] and fine.future_covariates == ["holiday"]


def test_the_protocol_documents_the_defaults_a_run_gets() -> None:
    """docs/protocol.md says omitted fields get the defaults it shows: they are the real ones."""
    text = (Path(__file__).parents[1] / "docs" / "protocol.md").read_text()
    shown = re.search(r"A training config object.*?```json\n(.*?)```", text, re.S)
    assert shown is not None
    real = TrainingConfig().model_dump(
        mode="json", exclude={"preprocessing": {"__all__": {"fitted"}}}
    )
    assert json.loads(shown.group(1)) == real
