"""Covariates known in advance on a real series: bike sharing with its holiday calendar.

gapcast's default run (model ``auto``, no other choice) on the suite's daily bike sharing series,
twice per training seed: as is, and with the days' public-holiday flag (bench/covariates/) as a
covariate known in advance (``future_covariates``). Both are scored on the same origins of the
test part, every step (as ``forecast_quality.py``), so the ratio is the covariate's gain alone.
It prints the MAE over all scored points and over the points that fall on a holiday, the P10-P90
coverage, and each ratio to the run without the covariate.

Run: cd bench && ../.venv/bin/python future_covariates.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import gapcast
from gapcast.model_training import backtest as bt
from suite_data import load_suite, to_grid

HERE = Path(__file__).resolve().parent
SEED_STEP = 100  # as forecast_quality.py: a run's refit copies use seed, seed + 1, ...


def scored(result: Any, values: np.ndarray, grid_ts: np.ndarray) -> dict[str, Any]:
    doc = json.loads(result.artifact("backtest").data)
    freq = int(result.run_info.freq_ns)
    index = ((np.asarray(doc["origins"], dtype=np.int64) - grid_ts[0]) // freq).astype(np.int64)
    horizon = int(doc["horizon"])
    truth = bt.truth_at(values[None, :], index, horizon)[..., 0]
    forecast = np.asarray(doc["forecasts"]["model"]["values"], dtype=float)[..., 0]
    bands = np.asarray(doc["quantiles"]["values"], dtype=float)[..., 0]
    return {
        "origins": doc["origins"],
        "index": index,
        "truth": truth,
        "forecast": forecast,
        "low": bands[0],
        "high": bands[-1],
        "chosen": result.metrics.model_label,
    }


def figures(run: dict[str, Any], holiday_at: np.ndarray) -> dict[str, float]:
    truth, forecast = run["truth"], run["forecast"]
    known = np.isfinite(truth)
    err = np.abs(forecast - truth)
    on_holiday = known & holiday_at
    inside = (truth >= run["low"]) & (truth <= run["high"])
    return {
        "mae": float(err[known].mean()),
        "mae_holidays": float(err[on_holiday].mean()),
        "holiday_points": int(on_holiday.sum()),
        "coverage": float(inside[known].mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="training seeds, 100 apart from 42")
    args = parser.parse_args()
    series = next(s for s in load_suite() if s.name == "bike_sharing_daily")
    calendar = pd.read_csv(HERE / "covariates" / "bike_sharing_holidays.csv")
    calendar["timestamp"] = pd.to_datetime(calendar["timestamp"], utc=True)
    frame = calendar.merge(series.frame, on="timestamp", how="left")[
        ["timestamp", series.value_column, "holiday"]
    ]
    grid_ts, values = to_grid(series)
    holiday = calendar.set_index("timestamp")["holiday"].to_numpy(dtype=bool)
    print(f"bike_sharing_daily: {len(series.frame)} days observed, {int(holiday.sum())} holidays")
    print(f"{'seed':>4}  {'run':<22}{'MAE':>8}{'on holidays':>13}{'P10-P90':>9}  chosen")
    ratios: list[tuple[float, float]] = []
    for k in range(args.seeds):
        seed = 42 + k * SEED_STEP
        training = {"seed": seed, "origin_stride": 1}
        plain = gapcast.train(frame, {"training": training})
        known = gapcast.train(frame, {"training": training, "future_covariates": ["holiday"]})
        pair = (("as is", plain), ("holiday", known))
        runs = {name: scored(r, values, grid_ts) for name, r in pair}
        assert runs["as is"]["origins"] == runs["holiday"]["origins"], "scored on other origins"
        index = runs["as is"]["index"][:, None] + np.arange(runs["as is"]["truth"].shape[1])
        holiday_at = holiday[np.clip(index, 0, holiday.size - 1)] & (index < holiday.size)
        out = {name: figures(run, holiday_at) for name, run in runs.items()}
        for name, run in runs.items():
            f = out[name]
            label = "as is" if name == "as is" else "holiday known ahead"
            print(
                f"{seed:>4}  {label:<22}{f['mae']:>8.1f}{f['mae_holidays']:>13.1f}"
                f"{f['coverage']:>9.3f}  {run['chosen']}"
            )
        ratio = out["holiday"]["mae"] / out["as is"]["mae"]
        on_days = out["holiday"]["mae_holidays"] / out["as is"]["mae_holidays"]
        ratios.append((ratio, on_days))
        print(
            f"      ratio (holiday / as is): MAE {ratio:.3f}, on the "
            f"{out['as is']['holiday_points']} holiday points {on_days:.3f}"
        )
    mean = np.mean(ratios, axis=0)
    print(f"mean of {len(ratios)} seeds: MAE {mean[0]:.3f}, on holidays {mean[1]:.3f}")


if __name__ == "__main__":
    main()
