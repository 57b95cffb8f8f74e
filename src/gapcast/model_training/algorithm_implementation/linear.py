"""linear: a direct multi-horizon linear map from the flattened window (cheap, strong baseline)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gapcast.model_training.algorithm_implementation._head import inputs
from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.ml_strategy import register


class LinearHyperparameters(BaseHyperparameters):
    l2: float = Field(default=0.0, ge=0.0, le=10.0, description="L2 weight penalty")


@register("linear")
class Linear(ModelStrategy[LinearHyperparameters]):
    Hyperparameters = LinearHyperparameters

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        keras = import_keras()
        x = inputs(input_shape)
        flat = keras.layers.Flatten()(x)
        reg = keras.regularizers.L2(self.hp.l2) if self.hp.l2 > 0 else None
        out = keras.layers.Dense(horizon * n_targets, kernel_regularizer=reg, name="forecast")(flat)
        y = keras.layers.Reshape((horizon, n_targets), name="forecast_steps")(out)
        return keras.Model(x, y, name="linear")
