"""The registry: built-ins present, bad plug-ins rejected at registration, clear errors."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from gapcast.errors import InvalidInput
from gapcast.model_training import ml_strategy
from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.ml_strategy import (
    PluginError,
    available,
    get_strategy,
    register,
    validate_hyperparameters,
)
from gapcast.training_config import TrainingConfig

BUILT_INS = {"linear", "mlp", "lstm", "gru", "cnn", "transformer"}


class _HP(BaseHyperparameters):
    units: int = 4


class _Good(ModelStrategy[_HP]):
    Hyperparameters = _HP

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        raise AssertionError("not built in these tests")


def test_built_ins_are_registered() -> None:
    assert set(available()) >= BUILT_INS
    assert available() == sorted(available())
    assert get_strategy("lstm").name == "lstm"


def test_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as err:
        get_strategy("prophet")
    assert err.value.field == "model"
    for name in BUILT_INS:
        assert name in err.value.message


def test_hyperparameters_are_validated_and_defaults_filled() -> None:
    assert validate_hyperparameters("mlp", {"units": 8}) == {
        "units": 8,
        "layers": 2,
        "dropout": 0.0,
        "activation": "relu",
    }
    with pytest.raises(InvalidInput) as err:
        validate_hyperparameters("mlp", {"units": 0})
    assert err.value.field == "hyperparameters.units"
    assert "units=0" in err.value.message
    with pytest.raises(InvalidInput) as err:
        validate_hyperparameters("lstm", {"unitz": 3})
    assert err.value.field == "hyperparameters.unitz"


def test_training_config_uses_the_registry() -> None:
    cfg = TrainingConfig(model="gru", hyperparameters={"units": 5})
    assert cfg.hyperparameters["units"] == 5 and cfg.hyperparameters["layers"] == 1
    with pytest.raises(InvalidInput, match="unknown model"):
        TrainingConfig(model="nope")


def test_register_and_unregister_a_plugin() -> None:
    try:
        register("tiny_plugin")(_Good)
        assert "tiny_plugin" in available()
        assert get_strategy("tiny_plugin") is _Good
        register("tiny_plugin")(_Good)  # the same class again is harmless
    finally:
        ml_strategy.unregister("tiny_plugin")
    assert "tiny_plugin" not in available()


@pytest.mark.parametrize("name", ["", "Bad Name", "1abc", None])
def test_register_rejects_bad_names(name: Any) -> None:
    with pytest.raises(PluginError, match="name"):
        register(name)(_Good)


def test_register_rejects_wrong_base_class() -> None:
    class NotAStrategy:
        Hyperparameters = _HP

    with pytest.raises(PluginError, match="subclass of gapcast ModelStrategy"):
        register("not_a_strategy")(NotAStrategy)  # type: ignore[type-var]


def test_register_rejects_missing_or_loose_schema() -> None:
    class NoSchema(ModelStrategy[Any]):
        def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
            return None

    with pytest.raises(PluginError, match="Hyperparameters schema"):
        register("no_schema")(NoSchema)

    class Loose(BaseModel):
        model_config = ConfigDict(extra="allow")

    class LooseSchema(NoSchema):
        Hyperparameters = Loose  # type: ignore[assignment]

    with pytest.raises(PluginError, match="extra='forbid'"):
        register("loose_schema")(LooseSchema)

    class Required(BaseHyperparameters):
        units: int

    class NoDefaults(NoSchema):
        Hyperparameters = Required

    with pytest.raises(PluginError, match="default"):
        register("no_defaults")(NoDefaults)


def test_register_rejects_abstract_and_duplicate() -> None:
    class Abstract(ModelStrategy[_HP]):
        Hyperparameters = _HP

    with pytest.raises(PluginError, match="does not implement build"):
        register("abstract_one")(Abstract)

    class Other(_Good):
        pass

    with pytest.raises(PluginError, match="already registered"):
        register("lstm")(Other)
    assert get_strategy("lstm") is not Other


def test_registry_and_config_do_not_import_keras() -> None:
    code = (
        "import sys\n"
        "from gapcast.training_config import TrainingConfig\n"
        "from gapcast.model_training.ml_strategy import available\n"
        "TrainingConfig(model='transformer'); available()\n"
        "assert 'keras' not in sys.modules, 'keras imported'\n"
        "assert 'jax' not in sys.modules, 'jax imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
