"""What does gapcast add around Keras's own training loop?

For ``mlp`` and ``lstm`` on 100,000 hourly points (5 epochs), times the whole ``gapcast.train``
(preparation, training, evaluation, saving, plot) and, inside it, the training stage alone (from
the "training" status event to the "evaluating" one), against a bare ``keras`` ``model.fit`` of the
same model, with the same optimizer, loss, batch size and validation data, on the same windows
materialised as numpy arrays. gapcast runs the named model once — no refit, no seed ensemble, every
window each epoch — so both sides train one model on the same data. Prints both and the ratios
(targets: whole run ≤ 1.15x, training stage ≤ 1.05x of bare fit).

    python bench/train_overhead.py [--points 100000] [--epochs 5] [--models mlp lstm]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

import gapcast
from gapcast.events import StatusEvent
from gapcast.model_training.forecaster import training_target
from gapcast.model_training.general_model import GeneralModel
from gapcast.model_training.ml_strategy import get_strategy
from gapcast.model_training.training_data import prepare
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig


def make_series(n: int, large_gaps: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    values = 20 + 3 * np.sin(2 * np.pi * t / 24) + np.sin(2 * np.pi * t / 168) + 0.001 * t
    values += 0.3 * rng.normal(size=n)
    values[rng.choice(n, n // 200, replace=False)] = np.nan  # scattered one-point gaps
    if large_gaps:
        for start in rng.choice(n - 100, 5, replace=False):
            values[start : start + 48] = np.nan
    ts = pd.date_range("2010-01-01", periods=n, freq="h")
    return pd.DataFrame({"timestamp": ts, "value": values})


def bare_fit(cfg: TrainingConfig, frame: SeriesFrame) -> float:
    """Seconds of a plain ``model.fit`` on the windows gapcast trains on, as arrays (preparing
    them is not timed)."""
    data = prepare(frame, cfg)
    layout = data.pipeline.layout
    gm = GeneralModel(
        get_strategy(cfg.model)(cfg.hyperparameters),
        learning_rate=cfg.training.learning_rate,
        seed=cfg.training.seed,
        loss=cfg.training.loss,
        weight_decay=cfg.training.weight_decay or None,
    )
    model = gm.build((layout.steps, layout.n_features), layout.horizon, layout.n_targets)

    def arrays(part: str) -> tuple[Any, Any, Any]:
        batch = data.pipeline.model_batch(data.frame, data.origins[part], with_targets=True)
        return batch.x, training_target(batch, correction=True), batch.weight

    x, y, weight = arrays("train")
    start = time.perf_counter()
    model.fit(
        x,
        y,
        sample_weight=weight,
        validation_data=arrays("val"),
        epochs=cfg.training.epochs,
        batch_size=cfg.training.batch_size,
        shuffle=True,
        verbose=0,
    )
    return time.perf_counter() - start


def gapcast_train(cfg: TrainingConfig, df: pd.DataFrame) -> tuple[float, float, Any]:
    stamps: dict[str, float] = {}

    def on_event(event: Any) -> None:
        if isinstance(event, StatusEvent):
            stamps[event.stage] = time.perf_counter()

    start = time.perf_counter()
    result = gapcast.train(df, cfg, on_event=on_event)
    total = time.perf_counter() - start
    return total, stamps["evaluating"] - stamps["training"], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["mlp", "lstm"])
    parser.add_argument("--large-gaps", action="store_true", help="also train the gap classifier")
    args = parser.parse_args()
    df = make_series(args.points, args.large_gaps)
    frame = SeriesFrame.from_pandas(df)
    # Warm the process once (imports, first JAX compile of shared ops) so neither side pays it.
    warm = TrainingConfig.model_validate({"model": "linear", "training": {"epochs": 1}})
    gapcast.train(df.iloc[:2000], warm)
    print(f"{args.points} points, {args.epochs} epochs, gap classifier: {args.large_gaps}")
    print(
        f"{'model':<7}{'bare fit s':>11}{'gapcast s':>11}{'train stage s':>15}"
        f"{'whole/bare':>12}{'stage/bare':>12}"
    )
    for name in args.models:
        training = {
            "epochs": args.epochs,
            "patience": args.epochs,  # never stops early: both sides train every epoch
            "refit": False,
            "ensemble": 1,
            "max_windows": 10_000_000,  # the largest allowed: every window
            "gap_classifier": "auto" if args.large_gaps else "never",
        }
        cfg = TrainingConfig.model_validate({"model": name, "training": training})
        bare = bare_fit(cfg, frame)
        total, stage, result = gapcast_train(cfg, df)
        print(
            f"{name:<7}{bare:>11.2f}{total:>11.2f}{stage:>15.2f}"
            f"{total / bare:>12.3f}{stage / bare:>12.3f}  {result.metrics.points} test points"
        )


if __name__ == "__main__":
    main()
