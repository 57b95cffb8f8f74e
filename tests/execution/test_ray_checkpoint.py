"""The Ray worker's checkpoint in the database, without Ray: what is shipped after epoch N.

The Ray task stores its checkpoint directory when the end-of-epoch progress event reaches its
reporter (``RelayReporter`` calls ``DatabaseCheckpoint.maybe_save`` on it); here the same call is
made from the runner's event callback, so the test needs no cluster.
"""

from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.errors import Cancelled
from gapcast.events import ProgressEvent
from gapcast.execution.ray_worker import DatabaseCheckpoint
from gapcast.ingest import read_table
from gapcast.model_training.ml_runner import MLRunner
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig

# One training phase (no refit), under a fixed name: the candidate "linear".
CONFIG = TrainingConfig.model_validate(
    {
        "model": "linear",
        "training": {
            "epochs": 4,
            "patience": 0,
            "gap_classifier": "never",
            "refit": False,
            "correction": "off",
        },
    }
).with_overrides({"lookback": 16, "horizon": 4})
PHASE = "candidate-linear"


def _running_run(sessions: sessionmaker[Session], sample_csv: Path) -> tuple[str, SeriesFrame]:
    table = read_table(sample_csv.read_bytes(), filename=sample_csv.name)
    with transaction(sessions) as session:
        dataset = repository.import_dataset(session, table=table, name="co2")
        run_store.create_run(session, dataset=dataset, config=CONFIG, max_queued=10)
    with transaction(sessions) as session:
        run = run_store.claim_next(session, worker="test")
        assert run is not None and run.attempts == 1
        return run.id, repository.load_dataset_frame(session, "co2")


def _stored(sessions: sessionmaker[Session], run_id: str) -> tuple[int, int] | None:
    """(epoch of the stored Keras backup, epochs in the stored log), None when nothing is stored."""
    with sessions() as session:
        data = run_store.artifact_data(session, run_id, run_store.CHECKPOINT)
    if data is None:
        return None
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:

        def read(name: str) -> Any:
            member = archive.extractfile(name)
            assert member is not None
            return json.loads(member.read())

        epoch = read(f"{PHASE}/training_metadata.json")["epoch"]
        return epoch, len(read(f"{PHASE}.history.json"))


def test_checkpoint_stored_after_epoch_n_holds_epoch_n(
    sessions: sessionmaker[Session], sample_csv: Path, tmp_path: Path
) -> None:
    run_id, frame = _running_run(sessions, sample_csv)
    checkpoint = DatabaseCheckpoint(
        sessions, run_id, tmp_path / "first" / "checkpoint", attempt=1, every_s=0
    )
    cancel = threading.Event()
    stored: list[tuple[int, tuple[int, int] | None]] = []

    def on_event(event: Any) -> None:
        if isinstance(event, ProgressEvent) and event.batch is None:
            checkpoint.maybe_save()
            stored.append((event.epoch, _stored(sessions, run_id)))
            if event.epoch == 2:
                cancel.set()

    runner = MLRunner(CONFIG, on_event=on_event, cancel=cancel, checkpoint_dir=checkpoint.directory)
    with pytest.raises(Cancelled):
        runner.run(frame)
    assert stored == [(1, (1, 1)), (2, (2, 2))]

    # A retry on another node: restored from the database, it trains only the epochs left.
    retry = DatabaseCheckpoint(sessions, run_id, tmp_path / "second" / "checkpoint", attempt=1)
    assert retry.restore()
    trained: list[int] = []

    def on_retry_event(event: Any) -> None:
        if isinstance(event, ProgressEvent) and event.batch is None:
            trained.append(event.epoch)

    result = MLRunner(CONFIG, on_event=on_retry_event, checkpoint_dir=retry.directory).run(frame)
    assert trained == [3, 4]
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4]


def test_no_checkpoint_is_saved_once_the_result_is_stored(
    sessions: sessionmaker[Session], sample_csv: Path, tmp_path: Path
) -> None:
    run_id, _ = _running_run(sessions, sample_csv)
    directory = tmp_path / "checkpoint"
    (directory / "forecaster").mkdir(parents=True)
    (directory / "forecaster" / "state").write_bytes(b"epoch 1")

    def stored() -> bytes | None:
        with sessions() as session:
            return run_store.artifact_data(session, run_id, run_store.CHECKPOINT)

    assert not DatabaseCheckpoint(sessions, run_id, directory, attempt=2).save()  # a stale attempt
    assert stored() is None
    assert DatabaseCheckpoint(sessions, run_id, directory, attempt=1).save()
    assert stored() is not None

    with transaction(sessions) as session:
        run_store.store_result(session, run_id, figures={"epochs": 1}, artifacts=[])
    with sessions() as session:
        assert run_store.result_stored(run_store.get_run(session, run_id))
    # Still 'running' until the server announces it, but nothing will resume from a checkpoint.
    assert not DatabaseCheckpoint(sessions, run_id, directory, attempt=1).save()
    assert stored() is None
