"""WakeableLoop: ticks at start, on wake and on each poll; a failing tick is logged, not fatal."""

from __future__ import annotations

import logging
import threading

import pytest

from gapcast.execution.loop import WakeableLoop

log = logging.getLogger("gapcast.tests.loop")


def test_ticks_at_start_and_when_woken_before_the_poll() -> None:
    ticked = threading.Semaphore(0)
    loop = WakeableLoop(ticked.release, name="t-loop", poll_s=60, log=log, failure="tick failed")
    loop.start()
    try:
        assert ticked.acquire(timeout=5)  # the first tick does not wait for a wake-up
        loop.wake()
        assert ticked.acquire(timeout=5)  # long before the 60 s poll
    finally:
        loop.stop()
    assert loop.stopping


def test_polls_without_wake_and_survives_a_failing_tick(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    third = threading.Event()

    def tick() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        if len(calls) >= 3:
            third.set()

    loop = WakeableLoop(tick, name="t-loop", poll_s=0.01, log=log, failure="tick failed")
    with caplog.at_level(logging.ERROR, logger=log.name):
        loop.start()
        try:
            assert third.wait(5)
        finally:
            loop.stop()
    assert [r.getMessage() for r in caplog.records] == ["tick failed"]


def test_stop_ends_the_thread_and_no_tick_follows() -> None:
    calls: list[int] = []
    loop = WakeableLoop(
        lambda: calls.append(1), name="t-loop", poll_s=0.01, log=log, failure="f", join_s=5
    )
    loop.start()
    loop.stop()
    after = len(calls)
    loop.wake()
    threading.Event().wait(0.05)
    assert len(calls) == after
    assert not any(t.name == "t-loop" for t in threading.enumerate())


def test_stop_before_start_is_harmless() -> None:
    WakeableLoop(lambda: None, name="t-loop", poll_s=1, log=log, failure="f").stop()
