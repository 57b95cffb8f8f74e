"""Live events across server replicas: PostgreSQL ``LISTEN/NOTIFY``, with polling as the fallback.

Every replica stores the events of the runs it executes (``run_events``) and publishes them to its
own hub. A watcher connected to another replica needs them too: the writer sends a ``NOTIFY`` in the
transaction that stores them (delivered at commit, so the rows are visible when it arrives), and
each replica's :class:`EventBridge` reads the new rows of the runs *its* watchers follow and
publishes them to *its* hub. The notification carries only ``run_id`` and ``seq`` (NOTIFY payloads
are limited to 8000 bytes; a ``done`` message can be larger), and runs nobody watches here cost one
ignored notification.

Without PostgreSQL (SQLite), or while the listening connection is down, the bridge polls the watched
runs every ``poll_s`` instead. Duplicates are harmless: a watcher drops what it already sent by
``seq``, and one that sees a gap re-reads the stored log.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import runs as run_store
from gapcast.db.session import normalise_url
from gapcast.execution.hub import EventHub

log = logging.getLogger("gapcast.execution.notify")

CHANNEL = "gapcast_run_events"
# Even with LISTEN, re-read watched runs this often: a notification sent while our listening
# connection was being re-opened is lost, the rows are not.
SAFETY_POLL_S = 5.0


def notify_stored(session: Session, run_id: str, seq: int, *, origin: str) -> None:
    """Announce stored events to the other replicas (PostgreSQL only; sent at commit)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    payload = json.dumps({"run_id": run_id, "seq": seq, "origin": origin})
    session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload}
    )


class EventBridge:
    """A thread that republishes other replicas' events of the runs watched on this one."""

    def __init__(
        self,
        *,
        database_url: str,
        sessions: sessionmaker[Session],
        hub: EventHub,
        origin: str,
        local_runs: Callable[[], Iterable[str]],
        poll_s: float = 1.0,
    ) -> None:
        self._url = normalise_url(database_url)
        self._sessions = sessions
        self._hub = hub
        self._origin = origin
        self._local_runs = local_runs
        self._poll_s = poll_s
        self._forwarded: dict[str, int] = {}  # run_id → last seq this bridge published
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._postgres = make_url(self._url).get_backend_name() == "postgresql"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="gapcast-event-bridge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    # -- the loop ----------------------------------------------------------------------------

    def _main(self) -> None:
        while not self._stop.is_set():
            try:
                if self._postgres:
                    self._listen()
                else:
                    self._poll_forever()
            except Exception:  # the database went away: poll until it is back, then listen again
                log.exception("event bridge failed; polling for a while")
                self._stop.wait(self._poll_s)

    def _poll_forever(self) -> None:
        while not self._stop.is_set():
            self.forward(None)
            self._stop.wait(self._poll_s)

    def _listen(self) -> None:
        import psycopg

        # The SQLAlchemy URL keeps libpq options (a test's search_path) in its query string.
        conninfo = make_url(self._url).set(drivername="postgresql")
        with psycopg.connect(
            conninfo.render_as_string(hide_password=False), autocommit=True
        ) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            last_full = time.monotonic()
            while not self._stop.is_set():
                notified: set[str] = set()
                # Returns at the first notification or after poll_s; the next round takes the rest.
                for note in conn.notifies(timeout=self._poll_s, stop_after=1):
                    body = json.loads(note.payload)
                    if body.get("origin") != self._origin:
                        notified.add(str(body["run_id"]))
                if time.monotonic() - last_full >= SAFETY_POLL_S:
                    last_full = time.monotonic()
                    self.forward(None)
                elif notified:
                    self.forward(notified)

    # -- forwarding --------------------------------------------------------------------------

    def forward(self, runs: set[str] | None) -> int:
        """Publish the new stored events of the watched runs (of ``runs`` only, when given) that
        this replica does not execute itself; returns how many were published."""
        watched = set(self._hub.watched())
        for gone in set(self._forwarded) - watched:
            del self._forwarded[gone]
        targets = watched - set(self._local_runs())
        if runs is not None:
            targets &= runs
        if not targets:
            return 0
        published = 0
        with self._sessions() as session:
            for run_id in targets:
                if run_id not in self._forwarded:
                    # First sight: republish only the latest event. A watcher that already has it
                    # drops it; one that is behind sees the gap and reads the stored log.
                    self._forwarded[run_id] = max(0, run_store.last_seq(session, run_id) - 1)
                for message in run_store.events_after(session, run_id, self._forwarded[run_id]):
                    self._hub.publish(run_id, message)
                    self._forwarded[run_id] = int(message["seq"])
                    published += 1
        return published
