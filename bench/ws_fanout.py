"""One training run watched by many WebSocket clients: how fast do events reach them, and does the
server's event loop stay responsive while it fans them out?

Starts a real server (``python -m gapcast.api``, its own process, one worker) on a SQLite file,
queues one run, attaches ``--watchers`` clients to ``/ws/runs/{id}`` and, on one more connection,
sends a WebSocket ping every 20 ms for the whole run. Prints:

* latency from an event's creation (in the worker process) to its receipt by each watcher,
  p50/p99 over all (event, watcher) pairs created after every watcher attached (target p99 ≤ 50 ms);
* the longest ping round trip, an upper bound of the event loop's stall (target ≤ 100 ms).

    python bench/ws_fanout.py [--watchers 200] [--epochs 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from gapcast.api.testing import ServerProcess
from gapcast.config import Settings

SAMPLE = Path(__file__).parents[1] / "src" / "gapcast" / "data" / "mauna_loa_co2_weekly.csv"


async def watch(url: str, attached: asyncio.Event, ready: list[int]) -> list[tuple[int, float]]:
    """(seq, latency in s) of the live events one watcher receives."""
    latencies: list[tuple[int, float]] = []
    async with connect(url, max_size=None, ping_interval=None) as ws:
        ready.append(1)
        await attached.wait()
        start = time.time()
        async for raw in ws:
            now = time.time()
            message = json.loads(raw)
            if message["time"] >= start:
                latencies.append((message["seq"], now - message["time"]))
            if message["type"] in ("done", "error"):
                break
    return latencies


async def pinger(ws: ClientConnection, stop: asyncio.Event) -> list[float]:
    rtts: list[float] = []
    while not stop.is_set():
        began = time.perf_counter()
        waiter = await ws.ping()
        await waiter
        rtts.append(time.perf_counter() - began)
        await asyncio.sleep(0.02)
    return rtts


async def run_bench(base: str, watchers: int, overrides: dict[str, object]) -> None:
    ws_base = "ws" + base.removeprefix("http")
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        files = {"file": ("co2.csv", SAMPLE.read_bytes())}
        await http.post("/datasets", files=files, data={"name": "co2", "replace": "true"})
        created = await http.post("/runs", json={"dataset": "co2", "overrides": overrides})
        run_id = created.json()["run_id"]

    attached = asyncio.Event()
    ready: list[int] = []
    url = f"{ws_base}/ws/runs/{run_id}"
    tasks = [asyncio.create_task(watch(url, attached, ready)) for _ in range(watchers)]
    while len(ready) < watchers:
        await asyncio.sleep(0.01)
    attached.set()
    stop = asyncio.Event()
    async with connect(f"{url}?after=1000000", ping_interval=None) as ping_ws:
        ping_task = asyncio.create_task(pinger(ping_ws, stop))
        results = await asyncio.gather(*tasks)
        stop.set()
        rtts = await ping_task

    latencies = np.array([x for per in results for _, x in per]) * 1000
    events = len(results[0])
    by_seq: dict[int, list[float]] = {}
    for per in results:
        for seq, x in per:
            by_seq.setdefault(seq, []).append(x * 1000)
    first = np.array([min(v) for v in by_seq.values()])
    spread = np.array([max(v) - min(v) for v in by_seq.values()])
    p50, p99 = np.percentile(latencies, [50, 99])
    stall = max(rtts) * 1000
    print(f"watchers {watchers}, live events per watcher {events}, deliveries {latencies.size}")
    print(f"event latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies.max():.1f} ms")
    print(f"  p99 / target 50 ms = {p99 / 50:.2f}x")
    print(
        f"first watcher's latency p50 {np.median(first):.1f} ms (creation to the first socket); "
        f"spread to the last watcher p50 {np.median(spread):.1f} ms (the fan-out)"
    )
    print(f"ping round trip (event-loop stall bound) max {stall:.1f} ms over {len(rtts)} pings")
    print(f"  max / target 100 ms = {stall / 100:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    overrides = {
        "model": "linear",
        "epochs": args.epochs,
        "batch_size": 8,
        "lookback": 16,
        "horizon": 4,
        "patience": 0,
        "gap_classifier": "never",
    }
    with tempfile.TemporaryDirectory(prefix="gapcast-bench-") as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=f"sqlite:///{tmp}/bench.db",
            data_dir=Path(tmp) / "data",
            workers_max=1,
        )
        server = ServerProcess(settings, Path(tmp) / "server.log")
        live = server.start()
        try:
            asyncio.run(run_bench(live.url, args.watchers, overrides))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
