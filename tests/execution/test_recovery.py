"""Start-up recovery: a run left ``running`` by a crash is re-queued (to resume) or, when that is
impossible, marked ``interrupted`` with the reason — with the event telling watchers so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from gapcast.config import Settings
from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.db.tables import Run
from gapcast.execution.runtime import MAX_ATTEMPTS, Runtime
from gapcast.ingest import read_table
from gapcast.training_config import TrainingConfig


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path)  # type: ignore[call-arg]
    rt = Runtime(settings)  # no event loop: nothing is published, only stored
    yield rt
    rt.engine.dispose()


def crashed_run(runtime: Runtime, sample_csv: Path, name: str, attempts: int = 1) -> str:
    table = read_table(sample_csv.read_bytes(), filename=sample_csv.name)
    with transaction(runtime.sessions) as session:
        dataset = repository.import_dataset(session, table=table, name=name)
        run = run_store.create_run(
            session, dataset=dataset, config=TrainingConfig(model="linear"), max_queued=10
        )
        run_store.claim_next(session, worker="dead-server")
        session.execute(update(Run).where(Run.id == run.id).values(attempts=attempts))
        return run.id


def test_running_runs_are_requeued_or_interrupted(runtime: Runtime, sample_csv: Path) -> None:
    resumable = crashed_run(runtime, sample_csv, "a")
    (runtime.data_dir / "runs" / resumable).mkdir(parents=True)
    (runtime.data_dir / "runs" / resumable / "history.json").write_text("{}")
    worn_out = crashed_run(runtime, sample_csv, "b", attempts=MAX_ATTEMPTS)
    orphan = crashed_run(runtime, sample_csv, "c")
    with transaction(runtime.sessions) as session:
        session.execute(update(Run).where(Run.id == orphan).values(dataset_id=None))

    runtime.recover("the server restarted")

    with runtime.sessions() as session:
        assert run_store.get_run(session, resumable).status == "queued"
        (event,) = run_store.events_after(session, resumable)
        assert event["stage"] == "queued"
        assert "resume from its last finished epoch" in event["message"]

        for run_id, why in ((worn_out, "started 3 times"), (orphan, "dataset was deleted")):
            run = run_store.get_run(session, run_id)
            assert run.status == "interrupted" and why in (run.error or "")
            (event,) = run_store.events_after(session, run_id)
            assert event["type"] == "error" and event["code"] == "interrupted"
            assert event["status"] == "interrupted" and why in event["message"]
        assert run_store.running_runs(session) == []
