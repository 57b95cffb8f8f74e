"""The runs table as a work queue and event log, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.db.tables import Dataset, Run
from gapcast.errors import Conflict, NotFound, QueueFull
from gapcast.ingest import read_table
from gapcast.training_config import TrainingConfig

CONFIG = TrainingConfig(model="linear")


@pytest.fixture
def dataset(sessions: sessionmaker[Session], sample_csv: Path) -> Dataset:
    table = read_table(sample_csv.read_bytes(), filename=sample_csv.name)
    with transaction(sessions) as session:
        return repository.import_dataset(session, table=table, name="co2")


def queue(sessions: sessionmaker[Session], dataset: Dataset, n: int = 1) -> list[str]:
    with transaction(sessions) as session:
        ds = repository.get_dataset(session, dataset.id)
        return [
            run_store.create_run(session, dataset=ds, config=CONFIG, max_queued=100).id
            for _ in range(n)
        ]


def test_claim_takes_the_oldest_once(sessions: sessionmaker[Session], dataset: Dataset) -> None:
    first, second = queue(sessions, dataset, 2)
    with transaction(sessions) as session:
        claimed = run_store.claim_next(session, worker="w1")
        assert claimed is not None and claimed.id == first
        assert claimed.status == "running" and claimed.attempts == 1
        assert claimed.claimed_by == "w1" and claimed.started_at is not None
    with transaction(sessions) as session:
        again = run_store.claim_next(session, worker="w2")
        assert again is not None and again.id == second
        assert run_store.claim_next(session, worker="w2") is None


def test_concurrent_claimers_never_share_a_run(
    sessions: sessionmaker[Session], dataset: Dataset
) -> None:
    queued = set(queue(sessions, dataset, 12))
    claimed: list[str] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while True:
            with transaction(sessions) as session:
                run = run_store.claim_next(session, worker=name)
                if run is None:
                    return
                with lock:
                    claimed.append(run.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(queued)


def test_queue_limit(sessions: sessionmaker[Session], dataset: Dataset) -> None:
    queue(sessions, dataset, 2)
    with transaction(sessions) as session, pytest.raises(QueueFull, match="2 runs are already"):
        ds = repository.get_dataset(session, dataset.id)
        run_store.create_run(session, dataset=ds, config=CONFIG, max_queued=2)


def test_events_get_consecutive_seq(sessions: sessionmaker[Session], dataset: Dataset) -> None:
    (run_id,) = queue(sessions, dataset)
    with transaction(sessions) as session:
        stored = run_store.append_events(session, run_id, [{"type": "status", "stage": "queued"}])
    with transaction(sessions) as session:
        more = run_store.append_events(
            session, run_id, [{"type": "log", "message": "a"}, {"type": "log", "message": "b"}]
        )
    assert [m["seq"] for m in stored + more] == [1, 2, 3]
    assert all(m["run_id"] == run_id for m in stored + more)
    with sessions() as session:
        assert [m["seq"] for m in run_store.events_after(session, run_id, 1)] == [2, 3]
        assert run_store.last_seq(session, run_id) == 3


def test_cancel_delete_and_finish(sessions: sessionmaker[Session], dataset: Dataset) -> None:
    queued, running = queue(sessions, dataset, 2)
    with transaction(sessions) as session:
        assert run_store.claim_next(session, worker="w") is not None  # takes `queued` (oldest)
    with transaction(sessions) as session:
        assert run_store.request_cancel(session, running) == "cancelled"  # was still queued
        assert run_store.request_cancel(session, queued) == "requested"  # is running
        with pytest.raises(Conflict, match="is running; cancel it first"):
            run_store.delete_run(session, queued)
    with transaction(sessions) as session:
        with pytest.raises(Conflict, match="already finished"):
            run_store.request_cancel(session, running)
        run = run_store.finish_run(session, queued, status="failed", error="boom")
        assert run.finished_at is not None and run.runtime_s is not None
    with transaction(sessions) as session:
        run_store.delete_run(session, queued)
        with pytest.raises(NotFound):
            run_store.get_run(session, queued)


def test_delete_takes_the_artifacts_and_events_and_nothing_else(
    sessions: sessionmaker[Session], dataset: Dataset
) -> None:
    from sqlalchemy import func, select

    from gapcast.db.tables import Artifact, RunEventRow

    doomed, kept = queue(sessions, dataset, 2)
    for run_id in (doomed, kept):
        with transaction(sessions) as session:
            run_store.append_events(session, run_id, [{"type": "status", "stage": "queued"}])
            assert run_store.claim_next(session, worker="w") is not None
            artifacts = [("model", "application/x-keras", b"PK..", "0" * 64)]
            run_store.store_result(session, run_id, figures={"epochs": 1}, artifacts=artifacts)
            run_store.mark_succeeded(session, run_id)

    with transaction(sessions) as session:
        run_store.delete_run(session, doomed)

    def count(table: type[Artifact] | type[RunEventRow], run_id: str) -> int:
        with sessions() as session:
            found = session.scalar(
                select(func.count()).select_from(table).where(table.run_id == run_id)
            )
            return int(found or 0)

    assert count(Artifact, doomed) == 0 and count(RunEventRow, doomed) == 0
    assert count(Artifact, kept) == 1 and count(RunEventRow, kept) == 1
    with sessions() as session:
        assert run_store.get_run(session, kept).status == "succeeded"
        with pytest.raises(NotFound, match="no run"):
            run_store.delete_run(session, doomed)


def test_delete_refuses_a_queued_run_and_says_how_to_stop_it(
    sessions: sessionmaker[Session], dataset: Dataset
) -> None:
    (run_id,) = queue(sessions, dataset)
    with (
        pytest.raises(Conflict, match="is queued; cancel it first") as refused,
        transaction(sessions) as session,
    ):
        run_store.delete_run(session, run_id)
    assert f"gapcast runs cancel {run_id[:8]}" in refused.value.message
    with sessions() as session:
        assert run_store.get_run(session, run_id).status == "queued"


def test_store_result_is_all_or_nothing(sessions: sessionmaker[Session], dataset: Dataset) -> None:
    (run_id,) = queue(sessions, dataset)
    artifacts = [("model", "application/x-keras", b"PK..", "0" * 64)]
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        run_store.store_result(session, run_id, figures={"epochs": 3}, artifacts=artifacts)
        raise RuntimeError("the process died before commit")
    with sessions() as session:
        assert run_store.get_run(session, run_id).status == "queued"
        assert run_store.artifact_refs(session, run_id) == []
    with transaction(sessions) as session:
        run_store.claim_next(session, worker="w")
        run_store.store_result(session, run_id, figures={"epochs": 3}, artifacts=artifacts)
    with sessions() as session:
        run = run_store.get_run(session, run_id)
        # Stored, not yet announced: the server marks it succeeded with its `done` event.
        assert run.status == "running" and run.claimed_by == "w" and run.epochs == 3
        assert run_store.result_stored(run)
        assert run_store.get_artifact(session, run_id, "model").data == b"PK.."
    with transaction(sessions) as session:
        # A Ray worker's last checkpoint save may land after its result.
        run_store.save_artifact(
            session, run_id, kind=run_store.CHECKPOINT, media_type="x", data=b"ckpt"
        )
        run = run_store.mark_succeeded(session, run_id)
        assert run.status == "succeeded" and run.claimed_by is None
        assert [a.kind for a in run_store.artifact_refs(session, run_id)] == ["model"]
        assert not run_store.result_stored(run)
        with pytest.raises(NotFound, match="no plot artifact"):
            run_store.get_artifact(session, run_id, "plot")
    with transaction(sessions) as session:
        # A new attempt never mistakes an earlier attempt's result for its own.
        session.execute(update(Run).where(Run.id == run_id).values(status="queued"))
        run = run_store.claim_next(session, worker="w")
        assert run is not None and not run_store.result_stored(run)


def test_list_runs_filters(sessions: sessionmaker[Session], dataset: Dataset) -> None:
    ids = queue(sessions, dataset, 3)
    with transaction(sessions) as session:
        run_store.finish_run(session, ids[0], status="failed", error="x")
    with sessions() as session:
        assert [r.id for r in run_store.list_runs(session, status="failed")] == [ids[0]]
        assert len(run_store.list_runs(session, dataset="co2")) == 3
        assert len(run_store.list_runs(session, dataset=str(dataset.id), limit=2)) == 2
        assert run_store.list_runs(session, dataset="other") == []
