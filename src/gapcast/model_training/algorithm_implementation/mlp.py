"""mlp: a feed-forward network on the flattened window."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gapcast.model_training.algorithm_implementation._head import forecast_head, inputs
from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.ml_strategy import register


class MLPHyperparameters(BaseHyperparameters):
    units: int = Field(default=64, ge=1, le=4096)
    layers: int = Field(default=2, ge=1, le=8)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    activation: Literal["relu", "gelu", "tanh"] = "relu"


@register("mlp")
class MLP(ModelStrategy[MLPHyperparameters]):
    Hyperparameters = MLPHyperparameters

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        keras = import_keras()
        x = inputs(input_shape)
        h = keras.layers.Flatten()(x)
        for _ in range(self.hp.layers):
            h = keras.layers.Dense(self.hp.units, activation=self.hp.activation)(h)
            if self.hp.dropout > 0:
                h = keras.layers.Dropout(self.hp.dropout)(h)
        return keras.Model(x, forecast_head(h, horizon, n_targets), name="mlp")
