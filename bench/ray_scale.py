"""8 small runs through the local executor, then through the Ray executor, on this one machine.

Both servers run in this process on their own SQLite file with the same number of slots; the Ray
one starts its own Ray instance first (``--ray-address local``, not timed). The clock starts when
the runs are queued (``POST /runs``, all at once) and stops when the last one is done, so each total
includes what a user waits for: worker start, data loading, training, evaluation, storing. Prints
both totals, the ratio (target ≤ 1.3x) and Ray's overhead per run.

    python bench/ray_scale.py [--runs 8] [--slots 2] [--epochs 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_server import SAMPLE
from gapcast.api.testing import LiveServer, running_server, temporary_database
from gapcast.config import Settings


def run_batch(live: LiveServer, runs: int, overrides: dict[str, Any]) -> float:
    """Seconds from queuing ``runs`` runs to the last one's end (all must succeed)."""
    with live.http() as http:
        began = time.perf_counter()
        ids = [
            http.post("/runs", json={"dataset": "co2", "overrides": overrides}).json()["run_id"]
            for _ in range(runs)
        ]
        pending = set(ids)
        while pending:
            time.sleep(0.05)
            for run_id in list(pending):
                status = http.get(f"/runs/{run_id}").json()["status"]
                if status in ("queued", "running"):
                    continue
                if status != "succeeded":
                    raise RuntimeError(f"run {run_id} ended {status}")
                pending.discard(run_id)
        return time.perf_counter() - began


def measure(executor: str, tmp: Path, args: argparse.Namespace) -> float:
    overrides = {
        "model": "linear",
        "epochs": args.epochs,
        "lookback": 16,
        "horizon": 4,
        "patience": 0,
        "gap_classifier": "never",
    }
    with temporary_database("sqlite", tmp_dir=tmp) as url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url,
            data_dir=tmp / executor,
            workers_max=args.slots,
            executor=executor,
            ray_address="local",
        )
        with running_server(settings, startup_timeout_s=180) as live:
            with live.http() as http:
                response = http.post(
                    "/datasets",
                    files={"file": ("co2.csv", SAMPLE.read_bytes())},
                    data={"name": "co2"},
                )
                response.raise_for_status()
            return run_batch(live, args.runs, overrides)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--slots", type=int, default=2, help="runs at once (workers_max)")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    # Ray's node binds 127.0.0.1 only (its switch for "no cluster beyond this machine").
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    with tempfile.TemporaryDirectory() as tmp:
        local = measure("local", Path(tmp), args)
        ray = measure("ray", Path(tmp), args)
    print(f"{args.runs} runs, {args.slots} at once, linear model, {args.epochs} epochs, CO2 weekly")
    print(f"local executor: {local:7.2f} s  ({local / args.runs:.2f} s per run)")
    print(f"ray executor:   {ray:7.2f} s  ({ray / args.runs:.2f} s per run)")
    print(
        f"ratio ray/local: {ray / local:.2f}x (target <= 1.3x); "
        f"Ray's overhead per run: {(ray - local) / args.runs * args.slots:+.2f} s of slot time"
    )


if __name__ == "__main__":
    main()
