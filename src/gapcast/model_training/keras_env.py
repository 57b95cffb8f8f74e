"""The one place that chooses the Keras backend and imports Keras.

Keras reads ``KERAS_BACKEND`` once, at its first import, and otherwise falls back to
``~/.keras/keras.json`` (TensorFlow on most machines). Every gapcast module that needs Keras calls
:func:`import_keras` inside a function, so the API process can validate configurations without
loading Keras at all. JAX is the default because it measured fastest on CPU (see bench/backends.py);
a user who sets ``KERAS_BACKEND`` themselves keeps their choice.
"""

from __future__ import annotations

import os
from types import ModuleType

DEFAULT_BACKEND = "jax"


def import_keras() -> ModuleType:
    """Keras, imported with gapcast's default backend unless one was chosen already."""
    os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)
    # Small models on a shared GPU must not grab all of its memory up front.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import keras

    module: ModuleType = keras
    return module


def backend_name() -> str:
    """The backend Keras runs on (imports Keras)."""
    return str(import_keras().backend.backend())
