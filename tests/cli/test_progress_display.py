"""The live run display off a terminal (a pipe, a CI log): what follows it starts a new line."""

from __future__ import annotations

import io

from rich.console import Console

from gapcast.cli.progress import RunDisplay, candidate_epochs, summary_table


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


def test_a_candidate_of_several_targets_is_read_as_their_mean_mase() -> None:
    out = io.StringIO()
    display = RunDisplay(Console(file=out, width=120), "cc5d68b2-5142-4a4a-b3a0-df8a96911bc9")
    base = {"type": "candidate", "label": "mlp", "val_mae": 0.5, "seconds": 0.4, "epochs": 1}
    display.update({**base, "score": "mean_mase"})
    display.update(base)  # events stored before the field existed are MAE
    several, one = [line for line in out.getvalue().splitlines() if "candidate" in line]
    assert "validation MASE (mean) 0.5" in several and "MAE" not in several.replace("MASE", "")
    assert "validation MAE 0.5" in one


def test_several_targets_show_each_ones_mae_and_their_mean_mase() -> None:
    """Watts beside degrees: the table gives each target's MAE in its own units and ranks by the
    mean MASE, with no pooled MAE, RMSE or bias (they would be the watts' alone)."""
    import numpy as np

    from gapcast.model_training import backtest as bt

    t = np.arange(24 * 20)
    real = np.stack([1e6 + 1e5 * np.sin(2 * np.pi * t / 24), 20 + 5 * np.cos(2 * np.pi * t / 24)])
    origins = bt.choose_origins(
        np.ones(t.size, bool), begin=24 * 15, end=t.size, horizon=24, stride=24, max_fill=2
    )
    truth = bt.truth_at(real, origins.index, 24)
    metrics = bt.leaderboard(
        real=real,
        origins=origins,
        horizon=24,
        forecasts={
            "model": ("mlp", "model", truth + np.array([100.0, 0.0]), None),
            "naive": ("naive", "baseline", truth + np.array([0.0, 2.0]), None),
        },
        scale=bt.mase_scale(real[:, :240], 1),
        stride=24,
        scales=bt.target_scales(real[:, :240], 1),
        targets=["power [W]", "temp"],
    )
    metrics["candidates"] = [
        {"key": k, "label": k, "val_mae": v, "epochs": 3, "selected": k == "mlp", "seconds": 1.0}
        for k, v in (("mlp", 0.02), ("linear", 0.03))
    ]
    console = Console(record=True, width=160)
    console.print(summary_table({"metrics": metrics}))
    text = console.export_text()
    header = next(line for line in text.splitlines() if "method" in line)
    assert "MAE power [W]" in header and "MAE temp" in header and "MASE (mean)" in header
    assert "RMSE" not in header and "bias" not in header
    lines = [line for line in text.splitlines() if "mlp" in line or "naive" in line]
    assert "▶ mlp" in lines[0] and "100" in lines[0]  # ranked first, its watts error shown
    assert "val MASE (mean)" in text and "val MAE" not in text


def test_the_run_summary_reads_in_an_80_column_log() -> None:
    """The run's details (window, runtime, forecast range) sit in their own two columns, not
    under "MAE", where an 80-column terminal or CI log wrapped them a word a line; a pruned
    candidate's epochs stay one short cell, explained once under the table."""
    row = {"kind": "baseline", "mae": 1.643, "rmse": 2.0, "mase": 1.3, "smape": 0.45, "bias": 0.1}
    metrics = {
        "origins": 26,
        "origin_stride": 13,
        "points": 338,
        "lookback": 104,
        "horizon": 13,
        "reference_season": 52,
        "leaderboard": [
            {**row, "kind": "model", "label": "average of linear and mlp", "mae": 0.3766},
            {**row, "label": "naive"},
        ],
        "candidates": [
            {
                "label": "linear + seasonal correction",
                "val_mae": 0.57,
                "pruned": True,
                "epochs": 3,
                "epochs_run": 3,
                "seconds": 0.6,
            },
            {
                "label": "average of linear and mlp",
                "val_mae": 0.39,
                "epochs": 15,
                "selected": True,
                "seconds": 0.1,
            },
        ],
    }
    console = Console(record=True, width=80)
    console.print(summary_table({"metrics": metrics, "epochs": 15, "runtime_s": 27.0}))
    lines = console.export_text().splitlines()
    assert any(
        line.startswith("window")
        and "lookback 104, horizon 13, seasonal reference 52 steps" in line
        for line in lines
    ), lines
    assert any(line.startswith("runtime") and "27 s" in line for line in lines), lines
    pruned = next(line for line in lines if "linear + seasonal correction" in line)
    assert "3, pruned" in pruned and "0.57" in pruned, lines
    caption = "pruned: stopped after that many epochs by successive halving"
    assert caption in [line.strip() for line in lines]


def test_a_lag_candidate_left_out_as_within_noise_says_so_beside_its_lower_score() -> None:
    """A candidate with the week's lag can score lower on validation and still not be chosen
    (its gain was within the noise): the table says why, or the choice reads as a bug."""
    row = {"epochs": 9, "seconds": 1.0}
    metrics = {
        "mae": 1.0,
        "candidates": [
            {**row, "label": "mlp", "val_mae": 0.52, "selected": True},
            {**row, "label": "mlp + 1 week lag", "val_mae": 0.50, "within_noise": True},
        ],
    }
    console = Console(record=True, width=200)
    console.print(summary_table({"metrics": metrics, "epochs": 9, "runtime_s": 3.0}))
    lines = console.export_text().splitlines()
    lagged = next(line for line in lines if "1 week lag" in line)
    assert "(lag within noise)" in lagged and "0.5" in lagged, lines
    chosen = next(line for line in lines if "▶" in line)
    assert "within noise" not in chosen
    assert any(line.strip().startswith("lag within noise: ahead of") for line in lines), lines
