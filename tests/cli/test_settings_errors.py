"""A bad ``GAPCAST_*`` variable stops every entry point with one line that names it, exit code 2,
and no traceback — whether the CLI or ``python -m gapcast.api`` reads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GAPCAST = Path(sys.executable).with_name("gapcast")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("GAPCAST_WORKER_NICE", "abc", "valid integer"),
        ("GAPCAST_PORT", "99999", "less than or equal to 65535"),
        ("GAPCAST_RAY_ADDRESS", "ray://head:10001", "GCS address"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [[str(GAPCAST), "runs", "list"], [sys.executable, "-m", "gapcast.api"]],
    ids=["cli", "server"],
)
def test_a_bad_variable_is_named_without_a_traceback(
    tmp_path: Path, command: list[str], variable: str, value: str, says: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAPCAST_")}
    done = subprocess.run(
        command,
        env={**env, variable: value},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert f"{variable}: " in done.stderr and says in done.stderr
    assert "Traceback" not in done.stderr
    assert f"received {value!r}" in done.stderr
