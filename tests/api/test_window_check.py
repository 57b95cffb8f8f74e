"""A series whose outages leave no training window is refused before a run exists, by the same
rule the worker's window step applies — never a run that fails seconds after it was accepted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

from gapcast.api.window_check import check_windows
from gapcast.db import repository
from gapcast.db.session import transaction
from gapcast.db.tables import Dataset
from gapcast.errors import InvalidInput
from gapcast.ingest import read_table
from gapcast.processing.pipeline import ProcessingPipeline
from gapcast.training_config import TrainingConfig

# 400 hours, observed only in the first 10 and the last 125 (the training part ends at 280).
N, OUTAGE = 400, slice(10, 275)


def holey_csv() -> bytes:
    stamps = pd.date_range("2020-01-01", periods=N, freq="h", tz="UTC")
    values = 10 + np.sin(np.arange(N) * 2 * np.pi / 24)
    keep = np.ones(N, dtype=bool)
    keep[OUTAGE] = False
    frame = pd.DataFrame({"timestamp": stamps[keep], "level": values[keep]})
    return frame.to_csv(index=False).encode()


@pytest.fixture
def holey(sessions: sessionmaker[Session]) -> Dataset:
    table = read_table(holey_csv(), filename="holey.csv")
    with transaction(sessions) as session:
        return repository.import_dataset(session, table=table, name="holey")


def config(lookback: int, horizon: int) -> TrainingConfig:
    return TrainingConfig().with_overrides(
        {"model": "linear", "lookback": lookback, "horizon": horizon}
    )


def worker_refuses(cfg: TrainingConfig, sessions: sessionmaker[Session]) -> bool:
    """Whether the worker's own preparation finds no training window."""
    with sessions() as session:
        frame = repository.load_dataset_frame(session, "holey")
    try:
        ProcessingPipeline.from_config(cfg.preprocessing).fit_transform(frame)
    except InvalidInput as exc:
        assert "no training window" in exc.message
        return True
    return False


@pytest.mark.parametrize(
    ("lookback", "horizon", "fits"),
    [(24, 4, False), (20, 4, False), (10, 4, False), (2, 4, True), (4, 1, True)],
)
def test_refused_exactly_when_the_worker_would_fail(
    sessions: sessionmaker[Session], holey: Dataset, lookback: int, horizon: int, fits: bool
) -> None:
    cfg = config(lookback, horizon)
    with sessions() as session:
        dataset = repository.get_dataset(session, "holey")
        try:
            check_windows(session, dataset, cfg)
            refused = None
        except InvalidInput as exc:
            refused = exc
    assert (refused is None) == fits
    assert worker_refuses(cfg, sessions) == (not fits)
    if refused is not None:
        assert refused.field == "config.preprocessing[4].lookback"
        assert f"lookback {lookback} + horizon {horizon}" in refused.message
        assert "15 observed of 280 steps" in refused.message


def test_sizes_left_to_the_data_are_judged_by_the_worker(
    sessions: sessionmaker[Session], holey: Dataset
) -> None:
    with sessions() as session:
        check_windows(session, repository.get_dataset(session, "holey"), TrainingConfig())
