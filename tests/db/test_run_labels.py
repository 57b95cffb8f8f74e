"""A run's labels (migration 0003) and the epochs a stopped run keeps, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.ingest import read_file
from gapcast.training_config import TrainingConfig


def queued_run(sessions: sessionmaker[Session], sample_csv: Path) -> str:
    with transaction(sessions) as s:
        dataset = repository.import_dataset(s, table=read_file(sample_csv), name="co2")
        run = run_store.create_run(
            s, dataset=dataset, config=TrainingConfig(model="linear"), max_queued=10
        )
        return run.id


def test_labels_are_set_kept_and_cleared(sessions: sessionmaker[Session], sample_csv: Path) -> None:
    run_id = queued_run(sessions, sample_csv)
    with transaction(sessions) as s:
        run_store.label_run(s, run_id, name="weekly mlp", tags=["co2", "baseline"], note="first")
    with transaction(sessions) as s:
        run_store.label_run(s, run_id, note=None)  # only the note changes
    with sessions() as s:
        run = run_store.get_run(s, run_id)
        assert (run.name, run.tags, run.note) == ("weekly mlp", ["co2", "baseline"], None)


def test_a_cancelled_run_keeps_the_epochs_it_finished(
    sessions: sessionmaker[Session], sample_csv: Path
) -> None:
    run_id = queued_run(sessions, sample_csv)
    progress = {"type": "progress", "model": "forecaster", "epochs": 400}
    with transaction(sessions) as s:
        run_store.claim_next(s, worker="w")
        run_store.append_events(
            s,
            run_id,
            [
                {"type": "status", "stage": "training"},
                {**progress, "epoch": 7, "batch": None},
                {**progress, "epoch": 8, "batch": 3, "batches": 10},
                {"type": "progress", "model": "gap_classifier", "epoch": 2, "epochs": 5},
            ],
        )
        run_store.finish_run(s, run_id, status="cancelled", error="the run was cancelled")
    with sessions() as s:
        # Epoch 8 had started (a batch event), not finished; the gap classifier's don't count.
        assert run_store.get_run(s, run_id).epochs == 7


def test_migration_0003_goes_down_and_up_keeping_runs(
    db_url: str, sessions: sessionmaker[Session], sample_csv: Path
) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from gapcast.db.migrate import alembic_config, current, upgrade
    from gapcast.db.session import make_engine

    run_id = queued_run(sessions, sample_csv)
    with transaction(sessions) as s:
        run_store.label_run(s, run_id, name="kept?", tags=["a"])
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(db_url)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")
        assert current(db_url) == "0002"
        columns = {c["name"] for c in inspect(engine).get_columns("runs")}
        assert not columns & {"name", "tags", "note"} and "trial" in columns
        series = {c["name"] for c in inspect(engine).get_columns("series")}
        assert not series & {"counter_total", "counter_at"}  # 0004's, gone with it
        assert not series & {"counter_first", "counter_first_at"}  # 0005's too
        assert "timezone" not in {c["name"] for c in inspect(engine).get_columns("datasets")}
        assert "timezone" not in columns  # 0006's
        assert "no_readings" not in inspect(engine).get_table_names()  # 0007's
        upgrade(db_url, engine=engine)
        assert current(db_url) == "0007"
        assert "no_readings" in inspect(engine).get_table_names()
        series = {c["name"] for c in inspect(engine).get_columns("series")}
        assert {"counter_total", "counter_at", "counter_first", "counter_first_at"} <= series
        assert "timezone" in {c["name"] for c in inspect(engine).get_columns("datasets")}
        assert "timezone" in {c["name"] for c in inspect(engine).get_columns("runs")}
    finally:
        engine.dispose()
    with sessions() as s:
        # The run survived the round trip; its labels went with the columns.
        run = run_store.get_run(s, run_id)
        assert (run.name, run.tags, run.note) == (None, None, None)


def test_a_run_keeps_its_datasets_zone_after_the_dataset_goes(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    f = tmp_path / "berlin.csv"
    f.write_text("time,kw\n" + "".join(f"2024-01-15 {h:02d}:00,{h}\n" for h in range(6)))
    with transaction(sessions) as s:
        table = read_file(f, timezone="Europe/Berlin")
        dataset = repository.import_dataset(s, table=table, name="berlin")
        run_id = run_store.create_run(
            s, dataset=dataset, config=TrainingConfig(model="linear"), max_queued=10
        ).id
    with transaction(sessions) as s:
        run_store.finish_run(s, run_id, status="failed", error="stopped for the test")
        repository.delete_dataset(s, "berlin")
    with sessions() as s:
        run = run_store.get_run(s, run_id)
        assert (run.dataset_id, run.timezone) == (None, "Europe/Berlin")
