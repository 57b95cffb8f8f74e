"""Several servers on one database: who is alive, heartbeats, and cancels that cross replicas.

Each server claims runs under its id, ``<machine>:<pid>:<random>`` (``runs.claimed_by``). A run is
*orphaned* — its server is gone and it must go back to the queue — when

- its claimer is on this machine (same host name and PID namespace) and that process is gone:
  known at once, which is what makes a restarted server resume its runs without waiting;
- or its heartbeat is older than ``stale_s``: every server refreshes ``heartbeat_at`` of all its
  running runs every ``heartbeat_s``, however silent their training is, so a stale heartbeat means
  the server (or its machine, or its network) is gone;
- or the claimer is not a server id at all (written by hand or by an older version).

A run whose worker stored its result is still ``running`` until its server records ``done``; if that
server is gone, recovery announces it instead of re-queuing it. A *finished* run without its
terminal event (its result stored by an older version whose server died before recording ``done``)
gets the event once its server is gone by the same rules — and, as those rows name no server,
once it has been finished for ``stale_s``: a live server records ``done`` within milliseconds.

A server starting up therefore never takes over the runs of a live replica (the bug of "recover
everything that is running"), and a replica that dies is recovered by the others within
``stale_s``. A cancel request recorded by one replica for a run another one executes is picked up
by the executing one within ``tick_s``, from ``runs.cancel_requested``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.db.tables import utcnow
from gapcast.execution.base import Executor

log = logging.getLogger("gapcast.execution.replicas")

HEARTBEAT_S = 10.0
STALE_S = 60.0  # six missed heartbeats
ORPHAN_CHECK_S = 15.0


def machine_key() -> str:
    """This machine as PIDs see it: the host name plus the PID namespace (two containers may share
    a host name, never a PID namespace), short enough for ``runs.claimed_by``."""
    try:
        namespace = Path("/proc/self/ns/pid").stat().st_ino
    except OSError:  # not Linux: the host name alone
        namespace = 0
    return f"{socket.gethostname()[:48]}.{namespace}"


def new_server_id() -> str:
    return f"{machine_key()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    try:  # a zombie (killed, not yet reaped by its parent) is gone for our purposes
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        return stat.rsplit(b")", 1)[-1].split()[0] != b"Z"
    except OSError:
        return True


@dataclass(frozen=True)
class Claim:
    run_id: str
    claimed_by: str | None
    heartbeat_at: datetime | None


def orphan_reason(
    claim: Claim, *, machine: str, now: datetime, stale_s: float = STALE_S
) -> str | None:
    """Why the run's server is gone, or None while it may be alive."""
    parts = (claim.claimed_by or "").split(":")
    if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
        return f"it was claimed by {claim.claimed_by!r}, which is not a gapcast server"
    where, pid = parts[0], int(parts[1])
    if where == machine and not process_alive(pid):
        return f"the server that ran it (process {pid} on this machine) is gone"
    beat = claim.heartbeat_at
    if beat is None or (now - beat).total_seconds() > stale_s:
        silent = "never" if beat is None else f"{(now - beat).total_seconds():.0f} s ago"
        return f"the server that ran it ({claim.claimed_by}) last reported {silent}"
    return None


def silent_runs(session: Session, *, server_id: str, stale_s: float = STALE_S) -> list[str]:
    """Finished runs without their terminal event whose server is gone: theirs to announce."""
    machine, now = machine_key(), utcnow()
    out: list[str] = []
    for row in run_store.unannounced_runs(session):
        if row.claimed_by == server_id:
            continue
        finished = row.finished_at
        if row.claimed_by is None:
            gone = finished is None or (now - finished).total_seconds() > stale_s
        else:
            claim = Claim(row.run_id, row.claimed_by, finished)
            gone = orphan_reason(claim, machine=machine, now=now, stale_s=stale_s) is not None
        if gone:
            out.append(row.run_id)
    return out


def orphaned_runs(
    session: Session, *, server_id: str, stale_s: float = STALE_S
) -> list[tuple[Claim, str]]:
    """Running runs of other servers that are gone, with the reason."""
    machine, now = machine_key(), utcnow()
    out: list[tuple[Claim, str]] = []
    for run in run_store.running_runs(session):
        if run.claimed_by == server_id:
            continue
        claim = Claim(run.id, run.claimed_by, run.heartbeat_at)
        reason = orphan_reason(claim, machine=machine, now=now, stale_s=stale_s)
        if reason is not None:
            out.append((claim, reason))
    return out


class ReplicaWatch:
    """A thread: forwards cancel requests to the executor, beats the heart of this server's runs,
    re-queues the runs of dead replicas (through ``requeue(run_id, claimed_by, reason)``) and
    announces their finished runs that lack a terminal event (through ``announce(run_id)``)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        executor: Executor,
        *,
        server_id: str,
        requeue: Callable[[str, str | None, str], None],
        announce: Callable[[str], None] | None = None,
        tick_s: float = 1.0,
        heartbeat_s: float = HEARTBEAT_S,
        orphan_check_s: float = ORPHAN_CHECK_S,
        stale_s: float = STALE_S,
    ) -> None:
        self._sessions = sessions
        self._executor = executor
        self._server_id = server_id
        self._requeue = requeue
        self._announce = announce
        self._tick_s = tick_s
        self._heartbeat_s = heartbeat_s
        self._orphan_check_s = orphan_check_s
        self._stale_s = stale_s
        self._cancelled: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="gapcast-replicas", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def recover_orphans(self, reason: str | None = None) -> list[str]:
        """Re-queue (or interrupt, or announce) the running runs of servers that are gone and
        announce their silent finished ones; returns the running ones' ids."""
        with self._sessions() as session:
            found = orphaned_runs(session, server_id=self._server_id, stale_s=self._stale_s)
            silent = (
                silent_runs(session, server_id=self._server_id, stale_s=self._stale_s)
                if self._announce is not None
                else []
            )
        for claim, why in found:
            self._requeue(claim.run_id, claim.claimed_by, reason or why)
        if self._announce is not None:
            for run_id in silent:
                self._announce(run_id)
        return [claim.run_id for claim, _ in found]

    def _loop(self) -> None:
        last_beat = last_check = time.monotonic()
        while not self._stop.wait(self._tick_s):
            now = time.monotonic()
            try:
                self.forward_cancels()
                if now - last_beat >= self._heartbeat_s:
                    last_beat = now
                    with transaction(self._sessions) as session:
                        run_store.touch_claimed(session, claimed_by=self._server_id)
                if now - last_check >= self._orphan_check_s:
                    last_check = now
                    self.recover_orphans()
            except Exception:  # the database may be briefly unreachable; next tick retries
                log.exception("replica upkeep failed")

    def forward_cancels(self) -> None:
        """Cancel the runs this server executes whose cancel was recorded anywhere."""
        running = set(self._executor.running())
        self._cancelled &= running
        with self._sessions() as session:
            flagged = [
                run.id
                for run in run_store.running_runs(session, claimed_by=self._server_id)
                if run.cancel_requested and run.id in running and run.id not in self._cancelled
            ]
        for run_id in flagged:
            self._cancelled.add(run_id)
            self._executor.cancel(run_id)
            log.info("cancel forwarded", extra={"run_id": run_id})
