"""transformer: a small encoder (self-attention + feed-forward blocks) over the window.

Attention is order-blind; the causal convolution that projects the inputs to ``d_model`` gives each
step its local order, and the flattened (not pooled) encoder output keeps absolute position, so no
custom positional-embedding layer is needed and the saved file loads in plain Keras.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gapcast.model_training.algorithm_implementation._head import forecast_head, inputs
from gapcast.model_training.base_model import BaseHyperparameters, ModelStrategy
from gapcast.model_training.keras_env import import_keras
from gapcast.model_training.ml_strategy import register


class TransformerHyperparameters(BaseHyperparameters):
    d_model: int = Field(default=32, ge=4, le=1024)
    num_heads: int = Field(default=2, ge=1, le=16)
    layers: int = Field(default=1, ge=1, le=8)
    ff_dim: int = Field(default=64, ge=4, le=4096)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)


@register("transformer")
class Transformer(ModelStrategy[TransformerHyperparameters]):
    Hyperparameters = TransformerHyperparameters

    def build(self, input_shape: tuple[int, int], horizon: int, n_targets: int) -> Any:
        keras = import_keras()
        hp = self.hp
        x = inputs(input_shape)
        h = keras.layers.Conv1D(hp.d_model, 3, padding="causal")(x)
        for _ in range(hp.layers):
            att = keras.layers.MultiHeadAttention(
                num_heads=hp.num_heads,
                key_dim=max(1, hp.d_model // hp.num_heads),
                dropout=hp.dropout,
            )(h, h)
            h = keras.layers.LayerNormalization(epsilon=1e-6)(keras.layers.Add()([h, att]))
            ff = keras.layers.Dense(hp.ff_dim, activation="relu")(h)
            ff = keras.layers.Dense(hp.d_model)(ff)
            h = keras.layers.LayerNormalization(epsilon=1e-6)(keras.layers.Add()([h, ff]))
        return keras.Model(x, forecast_head(h, horizon, n_targets), name="transformer")
