"""What does the gap classifier cost beside the forecaster it comes with?

For 1-minute series of several lengths with a weekly three-hour outage, random outages of one to
twelve hours and scattered one-point gaps, runs ``gapcast.train`` once per length and times, from
the run's own status events, the preparation, the gap-classifier stage (its training, threshold,
window calibration and test scores) and the forecaster's training stage. Prints both and their
ratio (target: the gap stage ≤ 0.5x the forecaster's training at every length). The forecaster
trains for one epoch and refits a single copy by default (a default run averages
``training.ensemble`` copies), the cheapest it ever is, so the ratio is the least flattering.

    python bench/gap_overhead.py [--points 200000 2000000] [--epochs 1] [--model mlp] [--ensemble 1]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

import gapcast
from gapcast.events import StatusEvent
from gapcast.training_config import TrainingConfig


def make_series(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2020-01-06", periods=n, freq="min")  # a Monday
    t = np.arange(n)
    values = 20 + 3 * np.sin(2 * np.pi * t / 1440) + 0.0001 * t + 0.3 * rng.normal(size=n)
    sunday_night = (ts.day_of_week.to_numpy() == 6) & (ts.hour.to_numpy() < 3)
    values[sunday_night] = np.nan
    for start in rng.choice(n - 720, max(1, n // 40_000), replace=False):
        values[start : start + rng.integers(60, 720)] = np.nan
    values[rng.choice(n, n // 500, replace=False)] = np.nan
    return pd.DataFrame({"timestamp": ts, "value": values})


def timed_run(cfg: TrainingConfig, df: pd.DataFrame) -> tuple[dict[str, float], Any]:
    stamps: dict[str, float] = {}

    def on_event(event: Any) -> None:
        if isinstance(event, StatusEvent):
            stamps.setdefault(event.stage, time.perf_counter())

    start = time.perf_counter()
    result = gapcast.train(df, cfg, on_event=on_event)
    stamps["end"] = time.perf_counter()
    return {
        "total": stamps["end"] - start,
        "prepare": stamps["gap_classifier"] - stamps["preparing"],
        "gap": stamps["training"] - stamps["gap_classifier"],
        "train": stamps["evaluating"] - stamps["training"],
    }, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[200_000, 2_000_000])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--ensemble", type=int, default=1, help="refit copies (training.ensemble)")
    args = parser.parse_args()
    # Warm the process once (imports, first JAX compiles) so the first length does not pay it.
    warm = TrainingConfig.model_validate(
        {"model": "linear", "training": {"epochs": 1, "gap_classifier": "always"}}
    )
    gapcast.train(make_series(20_000), warm)
    print(
        f"1-minute series, model {args.model}, {args.epochs} forecaster epoch(s), "
        f"{args.ensemble} refit cop{'y' if args.ensemble == 1 else 'ies'}"
    )
    print(
        f"{'points':>10}{'prepare s':>11}{'gap stage s':>13}{'forecaster s':>14}"
        f"{'gap/forecaster':>16}{'whole run s':>13}  gap classifier AP vs baseline"
    )
    for n in args.points:
        training = {"epochs": args.epochs, "gap_classifier": "always", "ensemble": args.ensemble}
        cfg = TrainingConfig.model_validate({"model": args.model, "training": training})
        t, result = timed_run(cfg, make_series(n))
        gm = result.gap_metrics
        scores = (
            f"{gm.average_precision:.3f} vs {gm.baseline.get('average_precision') or 0:.3f}"
            if gm is not None and gm.average_precision is not None
            else "n/a"
        )
        print(
            f"{n:>10,}{t['prepare']:>11.2f}{t['gap']:>13.2f}{t['train']:>14.2f}"
            f"{t['gap'] / t['train']:>16.3f}{t['total']:>13.2f}  {scores}"
        )


if __name__ == "__main__":
    main()
