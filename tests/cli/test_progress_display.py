"""The live run display off a terminal (a pipe, a CI log): what follows it starts a new line."""

from __future__ import annotations

import io

from rich.console import Console

from gapcast.cli.progress import RunDisplay, candidate_epochs


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


def test_a_pruned_candidate_says_where_successive_halving_stopped_it() -> None:
    out = io.StringIO()
    display = RunDisplay(Console(file=out, width=120), "cc5d68b2-5142-4a4a-b3a0-df8a96911bc9")
    base = {"type": "candidate", "label": "mlp", "val_mae": 1.5, "seconds": 0.4, "epochs": 1}
    display.update({**base, "epochs_run": 2, "pruned": True})
    display.update({**base, "label": "linear", "epochs": 3, "epochs_run": 8, "pruned": False})
    pruned, finished = [line for line in out.getvalue().splitlines() if "candidate" in line]
    assert "(stopped after 2 epochs (pruned)," in pruned
    assert "(3 epochs," in finished and "pruned" not in finished
    row = {"epochs": 3, "epochs_run": 8}  # stored before the fields existed: no "pruned"
    assert candidate_epochs(row) == "3"
