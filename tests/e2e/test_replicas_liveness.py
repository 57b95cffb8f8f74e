"""When is a claimed run's server gone? The rules a starting server and the replicas' periodic check
apply, on real processes; and replicas migrating one database at the same moment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from gapcast.db.migrate import current, upgrade
from gapcast.db.tables import utcnow
from gapcast.execution.replicas import (
    STALE_S,
    Claim,
    machine_key,
    new_server_id,
    orphan_reason,
    process_alive,
)

POSTGRES_URL = os.environ.get("GAPCAST_TEST_POSTGRES_URL")


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_server_id_names_this_machine_and_process() -> None:
    machine, pid, suffix = new_server_id().split(":")
    assert machine == machine_key() and int(pid) == os.getpid() and len(suffix) == 6
    assert len(new_server_id()) <= 100  # fits runs.claimed_by


def test_process_alive() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(dead_pid())


def test_a_dead_process_on_this_machine_is_gone_at_once() -> None:
    now = utcnow()
    pid = dead_pid()
    claim = Claim("r", f"{machine_key()}:{pid}:abcdef", heartbeat_at=now)

    reason = orphan_reason(claim, machine=machine_key(), now=now)

    assert reason is not None and f"process {pid} on this machine) is gone" in reason


def test_a_live_server_with_a_fresh_heartbeat_keeps_its_runs() -> None:
    now = utcnow()
    here = Claim("r", new_server_id(), heartbeat_at=now - timedelta(seconds=5))
    elsewhere = Claim("r", "other-host.1:4242:abcdef", heartbeat_at=now)
    # Both databases hand back aware UTC datetimes (tables.UTCDateTime), SQLite included.
    for claim in (here, elsewhere):
        assert orphan_reason(claim, machine=machine_key(), now=now) is None


def test_a_silent_server_elsewhere_is_gone_after_the_stale_time() -> None:
    now = utcnow()
    stale = now - timedelta(seconds=STALE_S + 1)
    claim = Claim("r", "other-host.1:4242:abcdef", heartbeat_at=stale)

    reason = orphan_reason(claim, machine=machine_key(), now=now)

    assert reason is not None and "other-host.1:4242:abcdef" in reason and "61 s ago" in reason


@pytest.mark.parametrize("claimed_by", [None, "dead-server", "host:notapid:x"])
def test_a_claim_that_is_not_a_server_id_is_orphaned(claimed_by: str | None) -> None:
    claim = Claim("r", claimed_by, heartbeat_at=utcnow())
    assert orphan_reason(claim, machine=machine_key(), now=utcnow()) is not None


@pytest.mark.postgres
def test_replicas_migrating_together_do_not_collide(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip("GAPCAST_TEST_POSTGRES_URL is not set")
    from urllib.parse import quote

    from sqlalchemy import text

    from gapcast.db.session import make_engine

    schema = f"t_mig_{os.getpid()}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade(url)
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=migrate) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert current(url) is not None
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
