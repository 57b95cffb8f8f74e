"""gru: stacked GRU layers (fewer parameters than an LSTM, often as accurate)."""

from __future__ import annotations

from typing import Any

from gapcast.model_training.algorithm_implementation._head import forecast_head
from gapcast.model_training.algorithm_implementation.lstm import (
    RecurrentHyperparameters,
    recurrent,
)
from gapcast.model_training.base_model import ModelStrategy
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.ml_strategy import register


@register("gru")
class GRU(ModelStrategy[RecurrentHyperparameters]):
    Hyperparameters = RecurrentHyperparameters

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        keras = import_keras()
        x, h = recurrent("GRU", self.hp, input_shape)
        return keras.Model(x, forecast_head(h, horizon, n_targets), name="gru")
