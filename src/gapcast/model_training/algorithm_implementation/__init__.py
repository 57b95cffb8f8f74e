"""The built-in model strategies; importing this package registers them."""

from gapcast.model_training.algorithm_implementation import (
    cnn,
    gru,
    linear,
    lstm,
    mlp,
    transformer,
)

__all__ = ["cnn", "gru", "linear", "lstm", "mlp", "transformer"]
