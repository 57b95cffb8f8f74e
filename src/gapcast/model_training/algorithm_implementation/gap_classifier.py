"""gap_classifier: for each future step of the horizon, the probability that no data is observed.

Inputs are per-step features (calendar sin/cos and the recent observed fraction), shaped
``(horizon, n_features)``; the same small Dense stack scores every step (Dense acts on the last
axis), so the model is independent of the step's index and cheap to train. It is not a forecaster:
it is not in the model registry, the runner trains it beside the forecaster when gaps are large.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.keras_env import import_keras


class GapClassifierHyperparameters(BaseHyperparameters):
    units: int = Field(default=32, ge=1, le=1024)
    layers: int = Field(default=2, ge=1, le=6)


class GapClassifier(ModelStrategy[GapClassifierHyperparameters]):
    name: ClassVar[str] = "gap_classifier"
    Hyperparameters = GapClassifierHyperparameters
    loss: ClassVar[str] = "binary_crossentropy"
    metrics: ClassVar[tuple[str, ...]] = ()

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int = 1) -> Any:
        keras = import_keras()
        x = keras.Input(shape=input_shape, name="step_features")
        h = x
        for _ in range(self.hp.layers):
            h = keras.layers.Dense(self.hp.units, activation="relu")(h)
        p = keras.layers.Dense(1, activation="sigmoid", name="p_gap")(h)
        out = keras.layers.Reshape((input_shape[0],), name="p_gap_steps")(p)
        return keras.Model(x, out, name="gap_classifier")
