"""Pieces shared by the built-in architectures (built-in Keras layers only)."""

from __future__ import annotations

from typing import Any

from gapcast.model_training.keras_env import import_keras


def inputs(input_shape: tuple[int, int]) -> Any:
    keras = import_keras()
    return keras.Input(shape=input_shape, name="window")


def forecast_head(features: Any, horizon: int, n_targets: int) -> Any:
    """Direct multi-horizon output: one Dense unit per (step, target), reshaped to (horizon, n)."""
    keras = import_keras()
    flat = keras.layers.Flatten()(features) if len(features.shape) > 2 else features
    out = keras.layers.Dense(horizon * n_targets, name="forecast")(flat)
    return keras.layers.Reshape((horizon, n_targets), name="forecast_steps")(out)
