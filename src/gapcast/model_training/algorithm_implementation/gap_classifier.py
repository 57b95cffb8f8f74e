"""gap_classifier: the probability that no data is observed at one (origin, lead) step.

Inputs (:mod:`gapcast.model_training.gap_features`): a float vector per step (lead, the recent
context at the origin) and the logit of the calendar baseline's gap rate at the step. The model's
own logit is *added* to the baseline's, scaled by a learned trust that starts at 1 and its own
last layer starting at zero, so before training it is the baseline and training moves it only
where the data says so. Built-in layers only: the ``.keras`` file loads with ``safe_mode=True``.
It is not a forecaster: it is not in the model registry; the runner trains it beside the
forecaster when gaps are large.
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
        """``input_shape[0]``: features per step; one probability per sample."""
        keras = import_keras()
        layers = keras.layers
        features = keras.Input(shape=(input_shape[0],), name="features")
        prior = keras.Input(shape=(1,), name="prior_logit")
        h = features
        for _ in range(self.hp.layers):
            h = layers.Dense(self.hp.units, activation="relu")(h)
        own = layers.Dense(1, kernel_initializer="zeros", name="logit")(h)
        # How far to trust the baseline, learned from 1: a rate that is noise (random outages
        # that happened to hit some hours of the training weeks) is worth less than its face.
        trust = layers.Dense(1, use_bias=False, kernel_initializer="ones", name="prior_trust")
        p = layers.Activation("sigmoid")(layers.Add()([own, trust(prior)]))
        out = layers.Flatten(name="p_gap")(p)
        return keras.Model([features, prior], out, name="gap_classifier")
