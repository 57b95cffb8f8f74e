"""The one place that chooses the Keras backend and imports Keras.

Keras reads ``KERAS_BACKEND`` once, at its first import, and otherwise falls back to
``~/.keras/keras.json`` (TensorFlow on most machines). Every gapcast module that needs Keras calls
:func:`import_keras` inside a function, so the API process can validate configurations without
loading Keras at all. JAX is the default because it measured fastest on CPU (see bench/backends.py);
a user who sets ``KERAS_BACKEND`` themselves keeps their choice.
"""

from __future__ import annotations

import functools
import os
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

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

    if keras.backend.backend() == "jax":
        use_compile_cache()
    module: ModuleType = keras
    return module


@functools.cache
def use_compile_cache() -> Path | None:
    """Keep JAX's compiled programs on disk (``GAPCAST_COMPILE_CACHE_DIR``) and return where, or
    None when off (or the directory cannot be made).

    Each Keras model jits its own train and predict steps, so a run compiled the same programs
    again for every candidate, every refit copy and every worker process: about 40% of the demo
    run (bench/run_speed.py). JAX's persistent cache keys a program by its computation, the
    JAX version and the device, so copies of one architecture and later runs load it instead;
    the executable loaded is the one a compile would build, so the numbers are the same. Every
    program is kept (gapcast's compile in well under JAX's default 1 s threshold); a size limit
    turns on JAX's file locks, which several workers writing one directory need. A directory the
    user gave JAX themselves (``JAX_COMPILATION_CACHE_DIR``) is left as it is.
    """
    import jax

    from gapcast.config import get_settings

    config: Any = jax.config  # JAX's options are set by name and are untyped
    if config.jax_compilation_cache_dir is not None:
        return Path(config.jax_compilation_cache_dir)
    settings = get_settings()
    directory = settings.compile_cache_dir
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: compiling every time is slower, not wrong
    config.update("jax_compilation_cache_dir", str(directory))
    config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    config.update("jax_compilation_cache_max_size", settings.compile_cache_max_bytes)
    return directory


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
