"""Does the queue cost anything? Ten small runs submitted at once to a one-worker server, against
the same ten runs submitted one after another (each waited for before the next).

Starts a real server (``python -m gapcast.api``, its own process, ``workers_max=1``) on a SQLite
file. "Alone" is the sum of each run's wall time from submission to its ``done`` when it is the
only run; "queued" is the wall time from submitting all ten to the last ``done``. Prints both and
the ratio (target ≤ 1.2x).

    python bench/queue.py [--runs 10] [--epochs 2]    (bench/queue.py runs this module)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench_server import SAMPLE, bench_server
from gapcast.client import Client


async def wait_done(client: Client, run_id: str) -> float:
    async for _ in client.watch(run_id):
        pass
    return time.perf_counter()


async def alone(client: Client, runs: int, overrides: dict[str, Any]) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        run_id = await client.submit("co2", None, **overrides)
        times.append(await wait_done(client, run_id) - began)
    return times


async def queued(client: Client, runs: int, overrides: dict[str, Any]) -> float:
    began = time.perf_counter()
    ids = [await client.submit("co2", None, **overrides) for _ in range(runs)]
    ends = await asyncio.gather(*(wait_done(client, run_id) for run_id in ids))
    return max(ends) - began


async def run_bench(url: str, runs: int, overrides: dict[str, Any]) -> None:
    async with Client(url) as client:
        await client.upload_dataset(SAMPLE, name="co2", replace=True)
        await alone(client, 1, overrides)  # warm the OS file cache and the database
        singles = await alone(client, runs, overrides)
        together = await queued(client, runs, overrides)
        statuses = {r["status"] for r in await client.runs(limit=runs)}
    total_alone = sum(singles)
    each = f"{min(singles):.1f}-{max(singles):.1f} s"
    print(f"{runs} runs alone: {total_alone:.1f} s in all (each {each})")
    print(f"{runs} runs queued at once on 1 worker: {together:.1f} s; statuses {sorted(statuses)}")
    print(f"  queued / alone = {together / total_alone:.2f}x (target <= 1.2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    overrides = {
        "model": "linear",
        "epochs": args.epochs,
        "lookback": 16,
        "horizon": 4,
        "patience": 0,
        "gap_classifier": "never",
    }
    with bench_server(workers_max=1) as (url, _pid):
        asyncio.run(run_bench(url, args.runs, overrides))


if __name__ == "__main__":
    main()
