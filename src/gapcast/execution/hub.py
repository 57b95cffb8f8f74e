"""In-process pub/sub: stored run events fan out to every WebSocket watching that run.

Events are published from worker-supervising threads after they are committed to ``run_events``,
so a watcher that registers first and then reads the stored log misses nothing. Each message is
serialised once, not once per watcher.

One fan-out task per watched run writes each event to every *live* watcher's socket in turn. The
first design woke one task per watcher per event instead, and each wake-up resumed a handler
through the whole ASGI middleware stack: about 100 µs per watcher per event, 20 ms of event loop
per event at 200 watchers. A send that needs no wait (the socket's buffer has room) is a fraction
of that.

A watcher is live only while it is up to date. Until then — replaying the stored log, or after
the fan-out found a gap in the sequence or a socket that stopped taking data — its own follower
(``api/ws.py``) serves it from the database and the events for it are buffered here, so one slow
client never holds up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("gapcast.execution.hub")

TERMINAL_TYPES = frozenset({"done", "error"})
# A live send waits only when the client stopped reading and its socket buffer is full.
SEND_STALL_S = 0.5
PENDING_MAX = 1000
CLOSE_BATCH = 16

Send = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Published:
    seq: int
    text: str
    terminal: bool


class Watcher:
    """One socket following one run; ``last`` is the sequence number it has been sent."""

    def __init__(self, run_id: str, send: Send, after: int, *, pending_max: int) -> None:
        self.run_id = run_id
        self.send = send
        self.last = after
        self.live = False
        self.closed = False
        self.terminal: Published | None = None
        self._pending: deque[Published] = deque()
        self._pending_max = pending_max
        self._overflowed = False
        self._woken = asyncio.Event()

    def take_pending(self) -> list[Published] | None:
        """What arrived while not live, in order; None when some was dropped (read the log)."""
        if self._overflowed:
            self._overflowed = False
            self._pending.clear()
            return None
        taken = list(self._pending)
        self._pending.clear()
        return taken

    def caught_up(self) -> bool:
        return not self._overflowed and not self._pending

    async def wait(self) -> None:
        """Until the fan-out hands the watcher back: terminal sent, closed, or fallen behind."""
        await self._woken.wait()
        self._woken.clear()

    def close(self) -> None:
        """Stop serving this watcher (its client went away)."""
        self.closed = True
        self.live = False
        self._woken.set()

    def buffer(self, published: Published) -> None:
        """Keep an event for the follower (the hub calls this while the watcher is not live)."""
        if len(self._pending) >= self._pending_max:
            self._overflowed = True
        else:
            self._pending.append(published)

    def hand_back(self) -> None:
        """The fan-out stops serving this watcher and wakes its follower."""
        self.live = False
        self._woken.set()

    def wake(self) -> None:
        self._woken.set()


@dataclass(eq=False)
class _Feed:
    watchers: set[Watcher] = field(default_factory=set)
    queue: deque[Published] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class EventHub:
    """Lives on the server's event loop; ``publish`` may be called from any thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        pending_max: int = PENDING_MAX,
        send_stall_s: float = SEND_STALL_S,
    ) -> None:
        self._loop = loop
        self._pending_max = pending_max
        self._send_stall_s = send_stall_s
        self._feeds: dict[str, _Feed] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- on the event loop -------------------------------------------------------------------

    def watch(self, run_id: str, send: Send, *, after: int = 0) -> Watcher:
        """Register a watcher; it is not live until :meth:`go_live` says so."""
        watcher = Watcher(run_id, send, after, pending_max=self._pending_max)
        feed = self._feeds.get(run_id)
        if feed is None:
            feed = self._feeds[run_id] = _Feed()
            task = self._loop.create_task(self._pump(run_id, feed), name=f"fan-out-{run_id[:8]}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        feed.watchers.add(watcher)
        return watcher

    def go_live(self, watcher: Watcher) -> bool:
        """Let the fan-out serve ``watcher`` from now on — only when nothing is buffered for it.

        No await between the check and the switch, so no event can fall between the two.
        """
        if watcher.closed or not watcher.caught_up():
            return False
        watcher.live = True
        return True

    def unwatch(self, watcher: Watcher) -> None:
        watcher.close()
        feed = self._feeds.get(watcher.run_id)
        if feed is not None:
            feed.watchers.discard(watcher)
            if not feed.watchers:
                feed.ready.set()  # the pump sees nobody is left and ends

    # -- from any thread ---------------------------------------------------------------------

    def watched(self) -> tuple[str, ...]:
        """The runs with at least one watcher; safe from any thread (one C-level copy)."""
        return tuple(self._feeds)

    def watchers(self, run_id: str) -> int:
        feed = self._feeds.get(run_id)
        return len(feed.watchers) if feed is not None else 0

    def publish(self, run_id: str, message: dict[str, Any]) -> None:
        published = Published(
            seq=int(message["seq"]),
            text=json.dumps(message, separators=(",", ":")),
            terminal=message.get("type") in TERMINAL_TYPES,
        )
        if self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between: nobody listens
            self._loop.call_soon_threadsafe(self._deliver, run_id, published)

    # -- the fan-out -------------------------------------------------------------------------

    def _deliver(self, run_id: str, published: Published) -> None:
        feed = self._feeds.get(run_id)
        if feed is not None:  # no watcher: the stored log has it for whoever comes later
            feed.queue.append(published)
            feed.ready.set()

    async def _pump(self, run_id: str, feed: _Feed) -> None:
        try:
            while True:
                await feed.ready.wait()
                feed.ready.clear()
                while feed.queue and feed.watchers:
                    await self._fan_out(run_id, feed, feed.queue.popleft())
                if not feed.watchers:
                    return
        finally:
            if self._feeds.get(run_id) is feed:
                del self._feeds[run_id]

    async def _fan_out(self, run_id: str, feed: _Feed, published: Published) -> None:
        targets = list(feed.watchers)
        finished: list[Watcher] = []
        done = 0
        while done < len(targets):
            current = targets[done]
            try:
                # One timer per event, not per send: it can only fire while a send waits.
                async with asyncio.timeout(self._send_stall_s):
                    while done < len(targets):
                        current = targets[done]
                        done += 1
                        if await self._offer(current, published):
                            finished.append(current)
            except TimeoutError:
                # That socket stopped taking data; the event was not written. Its follower
                # sends it (and what comes after) from the log, waiting on that socket alone.
                log.info("watcher stalled; serving it from the log", extra={"run_id": run_id})
                current.hand_back()
        # Each follower then closes its socket, ~0.3 ms of loop time apiece: woken in small
        # batches, with the loop polling sockets in between, they do not stall it all at once.
        for count, watcher in enumerate(finished, start=1):
            watcher.wake()
            if count % CLOSE_BATCH == 0:
                await asyncio.sleep(0)

    async def _offer(self, watcher: Watcher, published: Published) -> bool:
        """Send ``published`` to a live watcher; True when it was the run's terminal event."""
        if not watcher.live:
            if not watcher.closed:
                watcher.buffer(published)
            return False
        if published.seq <= watcher.last:
            return False
        if published.seq > watcher.last + 1:
            # Joined between two events, or events published out of order by two threads:
            # the log has them all.
            watcher.buffer(published)
            watcher.hand_back()
            return False
        try:
            await watcher.send(published.text)
        except Exception:  # the client went away; its follower cleans up
            watcher.close()
            return False
        watcher.last = published.seq
        if published.terminal:
            watcher.terminal = published
            watcher.live = False
            return True
        return False
