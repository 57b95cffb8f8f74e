"""One training run watched by many WebSocket clients: how fast do events reach them, and does the
server's event loop stay responsive while it fans them out?

Starts a real server (``python -m gapcast.api``, its own process, one worker) on a SQLite file,
queues one run, attaches ``--watchers`` clients to ``/ws/runs/{id}`` and, from one more process,
sends a WebSocket ping every 20 ms for the whole run. The watchers are spread over
``--client-processes`` processes: 200 clients in one Python event loop would measure that loop's
own queue (each client's frame waits behind the others'), not the server. Prints:

* latency from an event's creation (in the worker process) to its receipt by each watcher,
  p50/p99 over all (event, watcher) pairs created after every watcher attached (target p99 ≤ 50 ms);
* the longest ping round trip while the run trains (from the moment every watcher is attached to
  the last one's close), an upper bound of the server event loop's stall (target ≤ 100 ms);
* the server's event-loop CPU time per delivered message (Linux), the cost that grows with the
  number of watchers.

The reference, measured in the same run with the same client processes: a bare ``websockets``
server that sends the same number of events at the same pace with the library's own
``broadcast()`` (one pre-framed write per socket, no ASGI, no database, no training beside it).
The ratios gapcast / reference say what gapcast's stack costs on top of the transport.

    python bench/ws_fanout.py [--watchers 200] [--epochs 40] [--client-processes 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from queue import Queue
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import connect

from bench_server import SAMPLE, bench_server

PING_EVERY_S = 0.02


def _watch_many(url: str, count: int, ready: Queue[int], go: Event, out: Queue[Any]) -> None:
    """A client process: ``count`` watchers; (seq, created, latency s) of each live event."""

    async def one(start: list[float]) -> list[tuple[int, float, float]]:
        latencies: list[tuple[int, float, float]] = []
        async with connect(url, max_size=None, ping_interval=None) as ws:
            ready.put(1)
            while not start:
                await asyncio.sleep(0.005)
            async for raw in ws:
                now = time.time()
                message = json.loads(raw)
                if message["time"] >= start[0]:
                    latencies.append((message["seq"], message["time"], now - message["time"]))
                if message["type"] in ("done", "error"):
                    break
        return latencies

    async def main() -> list[list[tuple[int, float, float]]]:
        start: list[float] = []
        tasks = [asyncio.create_task(one(start)) for _ in range(count)]
        await asyncio.to_thread(go.wait)
        start.append(time.time())
        return list(await asyncio.gather(*tasks))

    out.put(asyncio.run(main()))


def _ping(url: str, ready: Queue[int], go: Event, stop: Event, out: Queue[Any]) -> None:
    """Round trips of WebSocket pings; the server's loop answers them, so they time its stalls.
    Counted from ``go`` on: the watchers' connection burst before it is not the run's doing."""

    async def main() -> list[float]:
        rtts: list[float] = []
        async with connect(url, ping_interval=None) as ws:
            ready.put(1)
            while not stop.is_set():
                began = time.perf_counter()
                await (await ws.ping())
                if go.is_set():
                    rtts.append(time.perf_counter() - began)
                await asyncio.sleep(PING_EVERY_S)
        return rtts

    out.put(asyncio.run(main()))


def loop_cpu_s(pid: int) -> float | None:
    """CPU seconds of the server's main thread (its event loop); None off Linux."""
    stat = Path(f"/proc/{pid}/task/{pid}/stat")
    if not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / 100  # USER_HZ is 100 on every Linux


@dataclass
class Measured:
    latencies_ms: np.ndarray[Any, np.dtype[np.float64]]
    first_ms: np.ndarray[Any, np.dtype[np.float64]]
    spread_ms: np.ndarray[Any, np.dtype[np.float64]]
    events: int
    interval_s: float
    stall_ms: float
    pings: int
    cpu_per_delivery_us: float | None


def measure(url: str, pid: int, watchers: int, procs: int, go: Event | None = None) -> Measured:
    """Attach the watchers and the pinger to ``url``, start the clock, collect until the end."""
    ctx = mp.get_context("spawn")
    ready: Queue[int] = ctx.Queue()  # type: ignore[assignment]
    results: Queue[Any] = ctx.Queue()  # type: ignore[assignment]
    pings: Queue[Any] = ctx.Queue()  # type: ignore[assignment]
    go = go or ctx.Event()
    stop = ctx.Event()
    shares = [watchers // procs + (i < watchers % procs) for i in range(procs)]
    clients = [
        ctx.Process(target=_watch_many, args=(url, n, ready, go, results)) for n in shares if n
    ]
    pinger = ctx.Process(target=_ping, args=(f"{url}?after=1000000", ready, go, stop, pings))
    try:
        for process in [*clients, pinger]:
            process.start()
        for _ in range(watchers + 1):
            ready.get(timeout=120)
        cpu_before = loop_cpu_s(pid)
        go.set()
        per_watcher = [w for _ in clients for w in results.get(timeout=600)]
        cpu_after = loop_cpu_s(pid)
        stop.set()
        rtts: list[float] = pings.get(timeout=60)
    finally:
        stop.set()
        for process in [*clients, pinger]:
            process.join(30)
            if process.is_alive():
                process.kill()

    latencies = np.array([x for per in per_watcher for _, _, x in per]) * 1000
    by_seq: dict[int, list[float]] = {}
    created: dict[int, float] = {}
    for per in per_watcher:
        for seq, when, x in per:
            by_seq.setdefault(seq, []).append(x * 1000)
            created[seq] = when
    times = np.sort(np.array(list(created.values())))
    cpu = None
    if cpu_before is not None and cpu_after is not None and latencies.size:
        cpu = (cpu_after - cpu_before) / latencies.size * 1e6
    return Measured(
        latencies_ms=latencies,
        first_ms=np.array([min(v) for v in by_seq.values()]),
        spread_ms=np.array([max(v) - min(v) for v in by_seq.values()]),
        events=len(by_seq),
        interval_s=float(np.median(np.diff(times))) if times.size > 1 else 0.1,
        stall_ms=max(rtts) * 1000,
        pings=len(rtts),
        cpu_per_delivery_us=cpu,
    )


def _broadcaster(port_out: Queue[int], go: Event, events: int, interval_s: float) -> None:
    """The reference server: bare ``websockets``, ``broadcast()`` of ``events`` messages."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    async def main() -> None:
        clients: set[ServerConnection] = set()

        async def handler(ws: ServerConnection) -> None:
            # The pinger's connection asks for nothing (after=...), as it does of gapcast.
            if ws.request is None or "after=" not in ws.request.path:
                clients.add(ws)
            await ws.wait_closed()

        async with serve(handler, "127.0.0.1", 0, ping_interval=None, compression=None) as server:
            port_out.put(server.sockets[0].getsockname()[1])
            await asyncio.to_thread(go.wait)
            await asyncio.sleep(0.05)  # the clients start their clocks on the same signal
            for seq in range(1, events + 1):
                kind = "done" if seq == events else "progress"
                message = {"type": kind, "seq": seq, "time": time.time(), "loss": 0.5}
                broadcast(clients, json.dumps(message, separators=(",", ":")))
                await asyncio.sleep(interval_s)
            await asyncio.sleep(1.0)

    asyncio.run(main())


def reference(watchers: int, procs: int, events: int, interval_s: float) -> Measured:
    ctx = mp.get_context("spawn")
    port_out: Queue[int] = ctx.Queue()  # type: ignore[assignment]
    go = ctx.Event()
    server = ctx.Process(target=_broadcaster, args=(port_out, go, events, interval_s))
    server.start()
    try:
        port = port_out.get(timeout=60)
        assert server.pid is not None
        return measure(f"ws://127.0.0.1:{port}/", server.pid, watchers, procs, go)
    finally:
        server.join(30)
        if server.is_alive():
            server.kill()


HEADER = (
    f"{'server':<10} {'deliveries':>10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
    f"{'first ms':>8} {'spread ms':>9} {'stall ms':>8} {'CPU µs':>7}"
)


def report(name: str, m: Measured) -> None:
    """One row: latency percentiles, the first socket's latency and the spread to the last one
    (medians over events), the longest ping round trip, event-loop CPU per delivery."""
    p50, p99 = np.percentile(m.latencies_ms, [50, 99])
    cpu = f"{m.cpu_per_delivery_us:.0f}" if m.cpu_per_delivery_us is not None else "n/a"
    print(
        f"{name:<10} {m.latencies_ms.size:>10} {p50:>7.1f} {p99:>7.1f} "
        f"{m.latencies_ms.max():>7.1f} {np.median(m.first_ms):>8.1f} "
        f"{np.median(m.spread_ms):>9.1f} {m.stall_ms:>8.1f} {cpu:>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--worker-nice", type=int, default=None, help="default: the setting's")
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
    nice = {} if args.worker_nice is None else {"worker_nice": args.worker_nice}
    with bench_server(workers_max=1, **nice) as (base, pid):
        with httpx.Client(base_url=base, timeout=60) as http:
            files = {"file": ("co2.csv", SAMPLE.read_bytes())}
            http.post("/datasets", files=files, data={"name": "co2", "replace": "true"})
            created = http.post("/runs", json={"dataset": "co2", "overrides": overrides})
        url = "ws" + base.removeprefix("http") + f"/ws/runs/{created.json()['run_id']}"
        ours = measure(url, pid, args.watchers, args.client_processes)
    ref = reference(args.watchers, args.client_processes, ours.events, ours.interval_s)
    print(
        f"{args.watchers} watchers in {args.client_processes} client processes; one event every "
        f"{ours.interval_s * 1000:.0f} ms (the reference sends at the same pace)"
    )
    print(HEADER)
    report("gapcast", ours)
    report("reference", ref)
    p99 = float(np.percentile(ours.latencies_ms, 99))
    ref_p99 = float(np.percentile(ref.latencies_ms, 99))
    print(f"p99 latency {p99:.1f} ms: {p99 / 50:.2f}x the 50 ms target, {p99 / ref_p99:.2f}x ref")
    stall, ref_stall = ours.stall_ms, ref.stall_ms
    print(
        f"loop stall {stall:.1f} ms: {stall / 100:.2f}x the 100 ms target, "
        f"{stall / ref_stall:.2f}x ref"
    )
    if ours.cpu_per_delivery_us and ref.cpu_per_delivery_us:
        ratio = ours.cpu_per_delivery_us / ref.cpu_per_delivery_us
        print(f"event-loop CPU per delivery: {ratio:.2f}x the reference")


if __name__ == "__main__":
    main()
