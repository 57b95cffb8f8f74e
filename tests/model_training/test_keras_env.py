"""A bare ``import keras`` in gapcast's venv runs on JAX, without KERAS_BACKEND being set: Keras's
own default, TensorFlow, is not installed, and a downloaded ``.keras`` should load in a plain
script (README, "Using a model elsewhere")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gapcast.model_training.keras_env import PTH_NAME, write_backend_default

REPO = Path(__file__).parents[2]


def run(code: str, *args: str, env: dict[str, str], flags: tuple[str, ...] = ()) -> str:
    done = subprocess.run(
        [sys.executable, *flags, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def env_without_backend(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}, **extra}


def test_the_pth_file_makes_jax_the_default_and_leaves_a_chosen_backend(tmp_path: Path) -> None:
    assert write_backend_default(tmp_path) == tmp_path / PTH_NAME
    # -S: no site-packages of this venv (whose own .pth would set the variable already); the
    # written directory is then added as a site dir, the way Python reads site-packages.
    code = (
        "import site, sys, os; site.addsitedir(sys.argv[1]); print(os.environ.get('KERAS_BACKEND'))"
    )
    assert run(code, str(tmp_path), env=env_without_backend(), flags=("-S",)) == "jax"
    chosen = env_without_backend(KERAS_BACKEND="torch")
    assert run(code, str(tmp_path), env=chosen, flags=("-S",)) == "torch"
    assert (
        run(code, str(tmp_path / "elsewhere"), env=env_without_backend(), flags=("-S",)) == "None"
    )


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (REPO / ".venv").resolve(),
    reason="not the venv `make` sets up (.venv of this checkout)",
)
def test_a_bare_import_keras_in_the_venv_runs_on_jax(tmp_path: Path) -> None:
    # Keras's config file asking for TensorFlow, as on a machine that used Keras before.
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    env = env_without_backend(KERAS_HOME=str(tmp_path))
    found = run("import keras; print(keras.backend.backend())", env=env)
    assert found.splitlines()[-1] == "jax", (
        f"{found!r}: .venv lacks {PTH_NAME}; run `make install` (or make test / make demo)"
    )
