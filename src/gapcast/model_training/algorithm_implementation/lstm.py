"""lstm: stacked LSTM layers; the last state feeds a direct multi-horizon head."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gapcast.model_training.algorithm_implementation._head import forecast_head, inputs
from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.ml_strategy import register


class RecurrentHyperparameters(BaseHyperparameters):
    units: int = Field(default=32, ge=1, le=2048)
    layers: int = Field(default=1, ge=1, le=4)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)


def recurrent(kind: str, hp: RecurrentHyperparameters, input_shape: tuple[int, int]) -> Any:
    """Inputs and last hidden state of a stack of ``kind`` ("LSTM" or "GRU") layers."""
    keras = import_keras()
    layer = getattr(keras.layers, kind)
    x = inputs(input_shape)
    h = x
    for i in range(hp.layers):
        h = layer(hp.units, return_sequences=i < hp.layers - 1, dropout=hp.dropout)(h)
    return x, h


@register("lstm")
class LSTM(ModelStrategy[RecurrentHyperparameters]):
    Hyperparameters = RecurrentHyperparameters

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        keras = import_keras()
        x, h = recurrent("LSTM", self.hp, input_shape)
        return keras.Model(x, forecast_head(h, horizon, n_targets), name="lstm")
