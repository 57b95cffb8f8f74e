"""What does keeping JAX's compiled programs on disk save a run?

Trains the demo's job (the bundled weekly CO2 series, the demo config: model ``auto``, its refit
copies and the gap classifier) in a fresh process three times: with the compile cache off (the
reference: every Keras model compiles its own steps, as before ``GAPCAST_COMPILE_CACHE_DIR``),
with an empty cache (the first run on a machine: copies of one architecture already share their
programs) and with the cache the first run left (every later run). Each process times
``gapcast.train`` from its first import to its result and prints the backtest MAE, which must be
the same in all three. Prints the times and their ratios to the reference.

    python bench/compile_cache.py [--config '{"model": "mlp"}'] [--repeat 1]
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
config = {**DEMO_CONFIG, **json.loads(sys.argv[1])}
result = gapcast.train(pd.read_csv(sample_path()), config)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "mae": result.metrics.mae}))
"""


def run_once(config: str, cache: str) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env["GAPCAST_COMPILE_CACHE_DIR"] = cache
    done = subprocess.run(
        [sys.executable, "-c", CHILD, config],
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
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three modes")
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"off": [], "empty": [], "warm": []}
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="gapcast-jax-bench-") as scratch:
            cache = str(Path(scratch) / "jax")
            rows["off"].append(run_once(args.config, "off"))
            rows["empty"].append(run_once(args.config, cache))
            rows["warm"].append(run_once(args.config, cache))
    best = {mode: min(r["seconds"] for r in runs) for mode, runs in rows.items()}
    maes = {r["mae"] for runs in rows.values() for r in runs}
    print(f"demo job {args.config}, best of {args.repeat}, import to result in a fresh process")
    print(f"{'compile cache':<15}{'run s':>8}{'/off':>8}")
    for mode, seconds in best.items():
        print(f"{mode:<15}{seconds:>8.1f}{seconds / best['off']:>8.2f}")
    shown = ", ".join(f"{m:.6g}" for m in sorted(maes))
    print(f"backtest MAE in every run: {shown} ({'the same' if len(maes) == 1 else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
