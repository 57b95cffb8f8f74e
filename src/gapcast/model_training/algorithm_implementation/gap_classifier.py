"""gap_classifier: the probability that no data is observed at one (origin, lead) step.

Inputs (:mod:`gapcast.model_training.gap_features`): a float vector per step (calendar sin/cos,
lead, the recent context), the logit of the calendar baseline's gap rate at the step, and the
step's position in each natural cycle of the frequency, which an ``Embedding`` learns: a sharp
three-hour weekly outage is one position of 168, where sin/cos of the hour would have to draw it.
The model's own logit is *added* to the baseline's, its last layer starting at zero, so before
training it is the baseline and training can only move it where the data says so. Built-in layers
only: the ``.keras`` file loads with ``safe_mode=True``. It is not a forecaster: it is not in the
model registry; the runner trains it beside the forecaster when gaps are large.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import Field

from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.keras_env import import_keras


class GapClassifierHyperparameters(BaseHyperparameters):
    units: int = Field(default=32, ge=1, le=1024)
    layers: int = Field(default=2, ge=1, le=6)
    embedding: int = Field(default=8, ge=1, le=64)


class GapClassifier(ModelStrategy[GapClassifierHyperparameters]):
    name: ClassVar[str] = "gap_classifier"
    Hyperparameters = GapClassifierHyperparameters
    loss: ClassVar[str] = "binary_crossentropy"
    metrics: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        hyperparameters: GapClassifierHyperparameters | Mapping[str, Any] | None = None,
        *,
        cycle_sizes: Sequence[int] = (),
    ) -> None:
        super().__init__(hyperparameters)
        self.cycle_sizes = tuple(int(s) for s in cycle_sizes)  # positions of each cycle

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int = 1) -> Any:
        """``input_shape``: (features per step, number of cycles)."""
        keras = import_keras()
        layers = keras.layers
        features = keras.Input(shape=(input_shape[0],), name="features")
        prior = keras.Input(shape=(1,), name="prior_logit")
        cycles = [
            keras.Input(shape=(1,), dtype="int32", name=f"cycle_{i}")
            for i in range(len(self.cycle_sizes))
        ]
        parts = [features]
        for size, position in zip(self.cycle_sizes, cycles, strict=True):
            embedded = layers.Embedding(
                size,
                min(self.hp.embedding, size),
                embeddings_regularizer=keras.regularizers.L2(1e-2),
            )(position)
            parts.append(layers.Flatten()(embedded))
        h = layers.Concatenate()(parts) if len(parts) > 1 else features
        for _ in range(self.hp.layers):
            h = layers.Dense(self.hp.units, activation="relu")(h)
        own = layers.Dense(1, kernel_initializer="zeros", name="logit")(h)
        # How far to trust the baseline, learned from 1: a rate that is noise (random outages
        # that happened to hit some hours of the training weeks) is worth less than its face.
        trust = layers.Dense(1, use_bias=False, kernel_initializer="ones", name="prior_trust")
        p = layers.Activation("sigmoid")(layers.Add()([own, trust(prior)]))
        out = layers.Flatten(name="p_gap")(p)
        return keras.Model([features, prior, *cycles], out, name="gap_classifier")
