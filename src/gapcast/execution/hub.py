"""In-process pub/sub: stored run events fan out to every WebSocket watching that run.

Events are published from worker-supervising threads after they are committed to ``run_events``,
so a watcher that subscribes first and then reads the stored log misses nothing (it drops what it
already sent by ``seq``). Each message is serialised once, not once per watcher. A watcher that
falls behind by more than its queue is marked ``lagged`` instead of slowing the others down; it
catches up from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

TERMINAL_TYPES = frozenset({"done", "error"})


@dataclass(frozen=True)
class Published:
    seq: int
    text: str
    terminal: bool


CLOSED = Published(seq=-1, text="", terminal=False)


@dataclass(eq=False)
class Subscription:
    run_id: str
    queue: asyncio.Queue[Published]
    lagged: bool = field(default=False)
    closed: bool = field(default=False)

    def close(self) -> None:
        """Wake the consumer and tell it to stop (its client went away)."""
        self.closed = True
        # When full, the consumer has messages to take and checks ``closed`` after each.
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(CLOSED)


class EventHub:
    """Lives on the server's event loop; ``publish`` may be called from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, queue_size: int = 1000) -> None:
        self._loop = loop
        self._queue_size = queue_size
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, run_id: str) -> Subscription:
        """Call on the event loop."""
        sub = Subscription(run_id, asyncio.Queue(self._queue_size))
        self._subscriptions[run_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subscriptions.get(sub.run_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscriptions[sub.run_id]

    def watched(self) -> tuple[str, ...]:
        """The runs with at least one watcher; safe from any thread (one C-level copy)."""
        return tuple(self._subscriptions)

    def watchers(self, run_id: str) -> int:
        return len(self._subscriptions.get(run_id, ()))

    def publish(self, run_id: str, message: dict[str, Any]) -> None:
        published = Published(
            seq=int(message["seq"]),
            text=json.dumps(message, separators=(",", ":")),
            terminal=message.get("type") in TERMINAL_TYPES,
        )
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._deliver, run_id, published)

    def _deliver(self, run_id: str, published: Published) -> None:
        for sub in self._subscriptions.get(run_id, ()):
            try:
                sub.queue.put_nowait(published)
            except asyncio.QueueFull:
                sub.lagged = True
