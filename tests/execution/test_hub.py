"""The in-process pub/sub: one fan-out per run, ordered delivery to every live watcher, buffering
for watchers that are catching up, and a stalled socket handed back instead of waited for."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from gapcast.execution.hub import EventHub, Watcher


class Socket:
    """Records what the hub sends; ``stall`` makes every send wait until released."""

    def __init__(self, *, stall: bool = False, fail: bool = False) -> None:
        self.texts: list[str] = []
        self.stall = stall
        self.fail = fail
        self.released = asyncio.Event()

    async def send(self, text: str) -> None:
        if self.fail:
            raise RuntimeError("the client went away")
        if self.stall:
            await self.released.wait()
        self.texts.append(text)

    @property
    def seqs(self) -> list[int]:
        return [json.loads(text)["seq"] for text in self.texts]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def event(seq: int, kind: str = "progress") -> dict[str, object]:
    return {"type": kind, "seq": seq}


def test_events_from_threads_reach_every_live_watcher_in_order() -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop())
        sockets = [Socket() for _ in range(3)]
        watchers = [hub.watch("r", s.send) for s in sockets]
        other = Socket()
        hub.go_live(hub.watch("other", other.send))
        assert all(hub.go_live(w) for w in watchers)

        def publisher() -> None:
            for seq in range(1, 51):
                hub.publish("r", event(seq))
            hub.publish("r", event(51, "done"))

        thread = threading.Thread(target=publisher)
        thread.start()
        for watcher in watchers:
            await asyncio.wait_for(watcher.wait(), 5)
            assert watcher.terminal is not None and watcher.terminal.seq == 51
            assert not watcher.live  # the follower closes the socket, not the fan-out
        thread.join()
        for sock in sockets:
            assert sock.seqs == list(range(1, 52))
        assert other.texts == []
        for watcher in watchers:
            hub.unwatch(watcher)
        await settle()
        assert hub.watchers("r") == 0 and hub.watched() == ("other",)

    asyncio.run(scenario())


def test_a_watcher_catching_up_gets_events_buffered_and_goes_live_only_when_drained() -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop())
        sock = Socket()
        watcher = hub.watch("r", sock.send, after=2)
        for seq in (3, 4):
            hub.publish("r", event(seq))
        await settle()
        assert sock.texts == []  # not live: the follower sends these itself
        assert not hub.go_live(watcher)
        pending = watcher.take_pending()
        assert pending is not None and [p.seq for p in pending] == [3, 4]
        watcher.last = 4
        assert hub.go_live(watcher)
        hub.publish("r", event(4))  # already sent by the follower: dropped by seq
        hub.publish("r", event(5))
        await settle()
        assert sock.seqs == [5] and watcher.last == 5

    asyncio.run(scenario())


def test_a_gap_in_the_sequence_hands_the_watcher_back_to_its_follower() -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop())
        sock = Socket()
        watcher = hub.watch("r", sock.send)
        assert hub.go_live(watcher)
        hub.publish("r", event(1))
        hub.publish("r", event(3))  # 2 was committed but published later by another thread
        await asyncio.wait_for(watcher.wait(), 5)
        assert sock.seqs == [1] and watcher.last == 1 and not watcher.live
        assert watcher.terminal is None and not watcher.closed

    asyncio.run(scenario())


def test_a_stalled_socket_is_handed_back_while_the_others_keep_receiving() -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop(), send_stall_s=0.1)
        stuck, fine = Socket(stall=True), Socket()
        stuck_watcher = hub.watch("r", stuck.send)
        fine_watcher = hub.watch("r", fine.send)
        assert hub.go_live(stuck_watcher) and hub.go_live(fine_watcher)
        for seq in range(1, 4):
            hub.publish("r", event(seq))
        await asyncio.wait_for(stuck_watcher.wait(), 5)
        assert not stuck_watcher.live and stuck_watcher.last == 0
        await asyncio.sleep(0.05)
        assert fine.seqs == [1, 2, 3]
        # The cancelled send wrote nothing: the follower resends seq 1 from the log.
        stuck.released.set()
        await settle()
        assert stuck.texts == []

    asyncio.run(scenario())


def test_a_send_that_fails_closes_only_that_watcher() -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop())
        gone, fine = Socket(fail=True), Socket()
        gone_watcher, fine_watcher = hub.watch("r", gone.send), hub.watch("r", fine.send)
        assert hub.go_live(gone_watcher) and hub.go_live(fine_watcher)
        hub.publish("r", event(1))
        await asyncio.wait_for(gone_watcher.wait(), 5)
        assert gone_watcher.closed and fine.seqs == [1]

    asyncio.run(scenario())


def test_a_full_buffer_tells_the_follower_to_read_the_log() -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop(), pending_max=3)
        watcher = hub.watch("r", Socket().send)
        for seq in range(1, 6):
            hub.publish("r", event(seq))
        await settle()
        assert not hub.go_live(watcher)
        assert watcher.take_pending() is None  # some were dropped
        assert watcher.take_pending() == [] and hub.go_live(watcher)

    asyncio.run(scenario())


@pytest.mark.parametrize("watchers", [1, 3])
def test_the_fan_out_ends_with_its_last_watcher_and_restarts_with_the_next(watchers: int) -> None:
    async def scenario() -> None:
        hub = EventHub(asyncio.get_running_loop())
        first: list[Watcher] = [hub.watch("r", Socket().send) for _ in range(watchers)]
        for watcher in first:
            hub.unwatch(watcher)
        await settle()
        assert hub.watched() == ()
        hub.publish("r", event(1))  # nobody watches: dropped, the log has it
        sock = Socket()
        watcher = hub.watch("r", sock.send, after=1)
        assert hub.go_live(watcher)
        hub.publish("r", event(2))
        await settle()
        assert sock.seqs == [2]

    asyncio.run(scenario())
