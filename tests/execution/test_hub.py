"""The in-process pub/sub: ordered delivery to every subscriber, lag instead of blocking."""

from __future__ import annotations

import asyncio
import json
import threading

from gapcast.execution.hub import EventHub


def test_publish_from_threads_reaches_every_subscriber_in_order() -> None:
    async def scenario() -> list[list[int]]:
        hub = EventHub(asyncio.get_running_loop())
        subs = [hub.subscribe("r") for _ in range(3)]
        other = hub.subscribe("other")

        def publisher() -> None:
            for seq in range(1, 51):
                hub.publish("r", {"type": "progress", "seq": seq})
            hub.publish("r", {"type": "done", "seq": 51})

        thread = threading.Thread(target=publisher)
        thread.start()
        received: list[list[int]] = []
        for sub in subs:
            seqs = []
            while True:
                item = await asyncio.wait_for(sub.queue.get(), 5)
                seqs.append(item.seq)
                assert json.loads(item.text)["seq"] == item.seq
                if item.terminal:
                    break
            received.append(seqs)
        thread.join()
        assert other.queue.empty()
        for sub in subs:
            hub.unsubscribe(sub)
        assert hub.watchers("r") == 0
        return received

    for seqs in asyncio.run(scenario()):
        assert seqs == list(range(1, 52))


def test_a_slow_subscriber_is_marked_lagged_not_waited_for() -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop(), queue_size=3)
        slow = hub.subscribe("r")
        for seq in range(1, 6):
            hub.publish("r", {"type": "log", "seq": seq})
        await asyncio.sleep(0.05)
        assert slow.lagged and slow.queue.qsize() == 3
        slow.close()
        assert slow.closed

    asyncio.run(scenario())
