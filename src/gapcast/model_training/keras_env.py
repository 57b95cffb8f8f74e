"""The one place that chooses the Keras backend and imports Keras.

Keras reads ``KERAS_BACKEND`` once, at its first import, and otherwise falls back to
``~/.keras/keras.json`` (TensorFlow on most machines). Every gapcast module that needs Keras calls
:func:`import_keras` inside a function, so the API process can validate configurations without
loading Keras at all. JAX is the default because it measured fastest on CPU (see bench/backends.py);
a user who sets ``KERAS_BACKEND`` themselves keeps their choice.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path
from types import ModuleType

DEFAULT_BACKEND = "jax"
PTH_NAME = "gapcast-keras-backend.pth"
# A .pth line starting with "import" runs at every interpreter start of that environment: a bare
# ``import keras`` in gapcast's venv then gets JAX (the backend installed) instead of Keras's own
# default, TensorFlow, which is not installed. setdefault: a KERAS_BACKEND the user sets wins.
PTH_LINE = f'import os; os.environ.setdefault("KERAS_BACKEND", "{DEFAULT_BACKEND}")\n'


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


def write_backend_default(site_dir: Path | None = None) -> Path:
    """Make ``import keras`` in this environment use JAX without ``KERAS_BACKEND`` being set, by
    a .pth file in ``site_dir`` (default: this environment's site-packages). ``make demo`` and
    ``make test`` call this for .venv."""
    where = Path(site_dir or sysconfig.get_paths()["purelib"]) / PTH_NAME
    where.write_text(PTH_LINE)
    return where


if __name__ == "__main__":
    print(f"wrote {write_backend_default()}")
