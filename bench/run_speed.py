"""What makes a small run fast: JAX's compiled programs kept on disk, and windows built once.

Trains the demo's job (the bundled weekly CO2 series, the demo config: model ``auto``, its refit
copies and the gap classifier) in a fresh process, import to result, five ways:

- ``reference``: the compile cache off and every batch's windows built as it is asked for (as
  before ``GAPCAST_COMPILE_CACHE_DIR`` and the window store: every Keras model compiled its own
  steps, and every epoch of every model built its windows again);
- ``store``: the windows built once per run (model_training/window_store.py), cache off;
- ``store + empty cache``: a machine's first run (copies of one architecture already share
  their programs);
- ``store + warm cache``: every later run, gapcast's default;
- ``warm cache``: the cache without the store.

Each process prints the backtest MAE, which must be the same in all of them. Prints the times
and their ratios to the reference.

    python bench/run_speed.py [--config '{"model": "mlp"}'] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
import gapcast
from gapcast.cli.demo import DEMO_CONFIG, sample_path
from gapcast.model_training import window_store
if sys.argv[2] == "off":
    window_store.STORE_MAX_BYTES = 0
config = {**DEMO_CONFIG, **json.loads(sys.argv[1])}
result = gapcast.train(pd.read_csv(sample_path()), config)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "mae": result.metrics.mae}))
"""


def run_once(config: str, cache: str, store: bool) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env["GAPCAST_COMPILE_CACHE_DIR"] = cache
    done = subprocess.run(
        [sys.executable, "-c", CHILD, config, "on" if store else "off"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-4000:])
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="{}", help="fields over the demo config (JSON)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the five ways")
    args = parser.parse_args()
    modes = ["reference", "store", "store + empty cache", "store + warm cache", "warm cache"]
    rows: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="gapcast-jax-bench-") as scratch:
            cache = str(Path(scratch) / "jax")
            rows["reference"].append(run_once(args.config, "off", store=False))
            rows["store"].append(run_once(args.config, "off", store=True))
            rows["store + empty cache"].append(run_once(args.config, cache, store=True))
            rows["store + warm cache"].append(run_once(args.config, cache, store=True))
            rows["warm cache"].append(run_once(args.config, cache, store=False))
    best = {mode: min(r["seconds"] for r in runs) for mode, runs in rows.items()}
    maes = {r["mae"] for runs in rows.values() for r in runs}
    print(f"demo job {args.config}, best of {args.repeat}, import to result in a fresh process")
    print(f"{'':<22}{'run s':>8}{'/reference':>12}")
    for mode, seconds in best.items():
        print(f"{mode:<22}{seconds:>8.1f}{seconds / best['reference']:>12.2f}")
    shown = ", ".join(f"{m:.6g}" for m in sorted(maes))
    print(f"backtest MAE in every run: {shown} ({'the same' if len(maes) == 1 else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
