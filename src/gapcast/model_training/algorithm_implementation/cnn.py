"""cnn: dilated causal convolutions (a small TCN); the last time step feeds the head."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gapcast.model_training.algorithm_implementation._head import forecast_head, inputs
from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.ml_strategy import register


class CNNHyperparameters(BaseHyperparameters):
    filters: int = Field(default=32, ge=1, le=1024)
    kernel_size: int = Field(default=3, ge=2, le=16)
    layers: int = Field(default=4, ge=1, le=12, description="dilation doubles with each layer")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)


@register("cnn")
class CNN(ModelStrategy[CNNHyperparameters]):
    Hyperparameters = CNNHyperparameters

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        keras = import_keras()
        x = inputs(input_shape)
        h = x
        for i in range(self.hp.layers):
            h = keras.layers.Conv1D(
                self.hp.filters,
                self.hp.kernel_size,
                padding="causal",
                dilation_rate=2**i,
                activation="relu",
            )(h)
            if self.hp.dropout > 0:
                h = keras.layers.Dropout(self.hp.dropout)(h)
        # Causal padding: the last step has seen the whole receptive field, earlier ones less.
        last = keras.layers.Cropping1D((input_shape[0] - 1, 0))(h)
        return keras.Model(x, forecast_head(last, horizon, n_targets), name="cnn")
