"""The sweep driver queues a grid sweep's trials on distinct points, on SQLite and PostgreSQL:
whether they are asked together (``parallel``) or one by one as trials finish, by a driver that
may be a fresh one (a restarted server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import repository
from gapcast.db import sweeps as sweep_store
from gapcast.db.session import transaction
from gapcast.db.tables import Dataset, utcnow
from gapcast.execution.sweeps import SweepDriver
from gapcast.ingest import read_table
from gapcast.training_config import TrainingConfig

CONFIG = TrainingConfig().with_overrides({"model": "linear", "lookback": 16, "horizon": 4})
SPACE = {"lookback": {"type": "categorical", "choices": [16, 24]}}
SEEDS = range(6)  # Optuna's GridSampler, as it was used, repeated a point for 4 of these 6


@pytest.fixture
def dataset(sessions: sessionmaker[Session], sample_csv: Path) -> Dataset:
    table = read_table(sample_csv.read_bytes(), filename=sample_csv.name)
    with transaction(sessions) as session:
        return repository.import_dataset(session, table=table, name="co2")


def grid_sweep(
    sessions: sessionmaker[Session], dataset: Dataset, *, seed: int, parallel: int
) -> str:
    with transaction(sessions) as session:
        return sweep_store.create_sweep(
            session,
            dataset=repository.get_dataset(session, dataset.id),
            config=CONFIG.model_dump(mode="json"),
            config_row=None,
            space=SPACE,
            objective="val_loss",
            direction="minimize",
            sampler="grid",
            seed=seed,
            trials=2,
            parallel=parallel,
        ).id


def driver(sessions: sessionmaker[Session]) -> SweepDriver:
    return SweepDriver(sessions, max_queued=100, on_queued=lambda: None)  # never started


def lookbacks(sessions: sessionmaker[Session], sweep_id: str) -> list[int]:
    with sessions() as session:
        return [
            run.trial["params"]["lookback"] for run in sweep_store.trial_runs(session, sweep_id)
        ]


def test_trials_queued_together_take_different_points(
    sessions: sessionmaker[Session], dataset: Dataset
) -> None:
    for seed in SEEDS:
        sweep_id = grid_sweep(sessions, dataset, seed=seed, parallel=2)
        assert driver(sessions).advance(sweep_id) == 2
        assert sorted(lookbacks(sessions, sweep_id)) == [16, 24], seed


def test_a_trial_asked_after_a_restart_takes_the_point_left(
    sessions: sessionmaker[Session], dataset: Dataset
) -> None:
    for seed in SEEDS:
        sweep_id = grid_sweep(sessions, dataset, seed=seed, parallel=1)
        assert driver(sessions).advance(sweep_id) == 1
        with transaction(sessions) as session:
            (first,) = sweep_store.trial_runs(session, sweep_id)
            first.status, first.finished_at, first.val_loss = "succeeded", utcnow(), 0.5
        assert driver(sessions).advance(sweep_id) == 1  # a new driver: nothing kept in memory
        assert sorted(lookbacks(sessions, sweep_id)) == [16, 24], seed
