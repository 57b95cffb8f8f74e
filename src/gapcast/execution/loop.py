"""WakeableLoop: a daemon thread that calls one function now, whenever woken, and every ``poll_s``.

The scheduler and the sweep driver both work this way: blocking database calls kept off the event
loop, a wake-up for work this process knows of at once, and a poll for work that other processes
(the CLI, another replica) leave in the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


class WakeableLoop:
    def __init__(
        self,
        tick: Callable[[], None],
        *,
        name: str,
        poll_s: float,
        log: logging.Logger,
        failure: str,
        join_s: float | None = None,
    ) -> None:
        """``failure`` is the message logged when ``tick`` raises; ``join_s`` bounds how long
        ``stop`` waits for a tick in progress (None: as long as it takes)."""
        self._tick = tick
        self._name = name
        self._poll_s = poll_s
        self._log = log
        self._failure = failure
        self._join_s = join_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        """True once ``stop`` is called: a long tick checks it to end early."""
        return self._stop.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self._join_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # the database may be briefly unreachable; try again next tick
                self._log.exception(self._failure)
            self._wake.wait(self._poll_s)
            self._wake.clear()
