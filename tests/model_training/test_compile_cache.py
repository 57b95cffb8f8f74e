"""JAX's compiled programs are kept on disk between models and runs (``GAPCAST_COMPILE_CACHE_DIR``,
model_training/keras_env.py) without changing a single number. Each case runs in a fresh process:
JAX's configuration is per process and set once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Two identical small models trained in turn, as a run's refit copies are: the second must find
# the first's programs. Prints the cache directory in use, the weights' checksum and how many
# files the directory held after each model.
TRAIN = """
import json, sys
from pathlib import Path
import numpy as np
from gapcast.model_training.keras_env import import_keras, use_compile_cache
keras = import_keras()
where = use_compile_cache()
def count():
    return 0 if where is None else sum(1 for p in Path(where).rglob("*") if p.is_file())
rng = np.random.default_rng(0)
x = rng.normal(size=(256, 12)).astype("float32")
y = x[:, :3].sum(axis=1, keepdims=True).astype("float32")
sums, files = [], []
for _ in range(2):
    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adamw", loss="mae")
    model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    model.predict(x, verbose=0)
    sums.append(float(sum(float(np.abs(w).sum()) for w in model.get_weights())))
    files.append(count())
print(json.dumps({"dir": None if where is None else str(where), "sums": sums, "files": files}))
"""


def python(code: str, **env: str) -> str:
    """The last line ``code`` prints in a fresh process whose environment has none of gapcast's,
    JAX's or XDG's variables but ``env``."""
    clean = ("GAPCAST_", "JAX_", "XDG_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(clean)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def train(**env: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(python(TRAIN, **env))
    return found


def test_compiled_programs_are_reused_across_models_and_processes(tmp_path: Path) -> None:
    cache = tmp_path / "jax"
    first = train(GAPCAST_COMPILE_CACHE_DIR=str(cache))
    assert first["dir"] == str(cache)
    files = first["files"]
    assert isinstance(files, list)
    assert files[0] > 0, "the first model's programs were not written"
    assert files[1] == files[0], "the second, identical model compiled its programs again"
    again = train(GAPCAST_COMPILE_CACHE_DIR=str(cache))
    assert again["files"] == [files[0], files[0]], "a new process compiled them again"
    off = train(GAPCAST_COMPILE_CACHE_DIR="off")
    assert off["dir"] is None
    # Loaded programs compute what compiled ones do, to the last bit.
    assert first["sums"] == again["sums"] == off["sums"]


def test_a_directory_the_user_gave_jax_is_kept(tmp_path: Path) -> None:
    own = tmp_path / "theirs"
    found = train(JAX_COMPILATION_CACHE_DIR=str(own), GAPCAST_COMPILE_CACHE_DIR=str(tmp_path / "x"))
    assert found["dir"] == str(own)
    assert not (tmp_path / "x").exists()


def test_a_directory_that_cannot_be_made_turns_the_cache_off(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    found = train(GAPCAST_COMPILE_CACHE_DIR=str(blocker / "jax"))
    assert found["dir"] is None
    assert found["files"] == [0, 0]


def test_the_default_directory_follows_xdg_and_home(tmp_path: Path) -> None:
    code = "from gapcast.config import Settings; print(Settings().compile_cache_dir)"

    def found(**env: str) -> str:
        return python(code, **env)

    assert found(XDG_CACHE_HOME=str(tmp_path)) == str(tmp_path / "gapcast" / "jax")
    assert found(HOME=str(tmp_path / "home")) == str(
        tmp_path / "home" / ".cache" / "gapcast" / "jax"
    )
    assert found(GAPCAST_COMPILE_CACHE_DIR="off") == "None"
