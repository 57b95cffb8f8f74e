"""The live run display off a terminal (a pipe, a CI log): what follows it starts a new line."""

from __future__ import annotations

import io

from rich.console import Console

from gapcast.cli.progress import RunDisplay


def test_the_last_status_line_ends_before_an_error_is_printed() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80)  # a StringIO is no terminal, as `gapcast train | tee`
    display = RunDisplay(console, "cc5d68b2-5142-4a4a-b3a0-df8a96911bc9")
    display.__enter__()
    display.update({"type": "status", "stage": "loading"})
    display.update({"type": "error", "status": "failed", "message": "no training window"})
    display.__exit__()
    console.print("run failed: no training window")
    lines = out.getvalue().splitlines()
    assert "run failed: no training window" in lines, lines
    assert any(line.startswith("run cc5d68b2") and "elapsed" in line for line in lines), lines
