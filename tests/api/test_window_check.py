"""A series whose outages leave no training window is refused before a run exists, by the same
rule the worker's window step applies — never a run that fails seconds after it was accepted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

from gapcast.api.submit import check_length
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
        assert refused.field == "config.preprocessing[5].lookback"
        assert f"lookback {lookback} + horizon {horizon}" in refused.message
        assert "15 observed of 280 steps" in refused.message


def test_a_horizon_alone_is_judged_with_every_lookback_the_worker_may_choose(
    sessions: sessionmaker[Session], holey: Dataset
) -> None:
    # Hourly data: the lookback left unset resolves to 24 (one day) or 48 / 336 (two cycles of
    # a confirmed day or week). None of them finds a window here, whatever the horizon.
    cfg = TrainingConfig().with_overrides({"model": "linear", "horizon": 4})
    with sessions() as session, pytest.raises(InvalidInput) as refused:
        check_windows(session, repository.get_dataset(session, "holey"), cfg)
    assert refused.value.field == "config.preprocessing[5].horizon"
    assert "lookback 24 or 48 or 336 (the defaults" in refused.value.message
    assert worker_refuses(cfg, sessions)


def test_defaults_on_a_series_with_room_are_accepted(sessions: sessionmaker[Session]) -> None:
    stamps = pd.date_range("2020-01-01", periods=2000, freq="h", tz="UTC")
    csv = pd.DataFrame({"timestamp": stamps, "level": np.arange(2000.0)}).to_csv(index=False)
    table = read_table(csv.encode(), filename="full.csv")
    with transaction(sessions) as session:
        dataset = repository.import_dataset(session, table=table, name="full")
        check_windows(session, dataset, TrainingConfig())
        check_windows(session, dataset, config(336, 24))


def test_a_jittered_clock_is_binned_as_the_worker_bins_it(sessions: sessionmaker[Session]) -> None:
    # Hourly readings up to 10 minutes early or late: binned from the first reading, half of them
    # would fall into the previous hour and leave a quarter of the hours empty, so no window with
    # 90% of its lookback observed — but the worker's resample puts each on its nearest hour.
    rng = np.random.default_rng(5)
    jitter = pd.to_timedelta(rng.integers(-600, 601, 2000), unit="s")
    stamps = pd.date_range("2020-01-01", periods=2000, freq="h", tz="UTC") + jitter
    csv = pd.DataFrame({"timestamp": stamps, "level": np.arange(2000.0)}).to_csv(index=False)
    table = read_table(csv.encode(), filename="jittered.csv")
    cfg = TrainingConfig().with_overrides(
        {"model": "linear", "lookback": 24, "horizon": 4, "min_observed": 0.9}
    )
    with transaction(sessions) as session:
        dataset = repository.import_dataset(session, table=table, name="jittered")
        assert dataset.frequency_ns == 3600 * 10**9
        check_windows(session, dataset, cfg)
    with sessions() as session:
        frame = repository.load_dataset_frame(session, "jittered")
    data = ProcessingPipeline.from_config(cfg.preprocessing).fit_transform(frame)
    assert data.gap_report.n_gaps == 0 and len(data.train) > 1000


def test_a_target_logged_slower_than_the_rows_is_judged_on_its_own_step(
    sessions: sessionmaker[Session],
) -> None:
    # Temperatures every minute, a battery voltage every 10: on the rows' 1-minute grid the
    # voltage is 90% missing and no window has half its lookback observed; the worker forecasts
    # it on its own 10-minute step, and the check judges it there too.
    stamps = pd.date_range("2020-01-01", periods=6000, freq="min", tz="UTC")
    volts = np.where(np.arange(6000) % 10 == 0, 12.0, np.nan)
    frame = pd.DataFrame({"timestamp": stamps, "temp": np.arange(6000.0), "volts": volts})
    table = read_table(frame.to_csv(index=False).encode(), filename="logger.csv")
    cfg = TrainingConfig().with_overrides(
        {"model": "linear", "target": ["volts"], "lookback": 48, "horizon": 6}
    )
    with transaction(sessions) as session:
        dataset = repository.import_dataset(session, table=table, name="logger")
        assert dataset.frequency_ns == 60 * 10**9
        check_windows(session, dataset, cfg)
        with pytest.raises(InvalidInput, match="420 observed of 420 steps"):
            check_windows(session, dataset, cfg.with_overrides({"lookback": 500}))
    with sessions() as session:
        loaded = repository.load_dataset_frame(session, "logger")
    pipeline = ProcessingPipeline.from_config(cfg.preprocessing, targets=["volts"])
    data = pipeline.fit_transform(loaded)
    assert data.frame.freq_ns == 600 * 10**9 and len(data.train) > 300


def test_a_short_series_with_default_sizes_is_accepted_and_prepared(
    sessions: sessionmaker[Session],
) -> None:
    """Five years of monthly sales: the defaults (horizon 12, lookback 24) are cut to fit, by
    the checks before a run exists and by the worker alike; sizes the user gave are not."""
    stamps = pd.date_range("2019-01-01", periods=60, freq="MS", tz="UTC")
    csv = pd.DataFrame({"timestamp": stamps, "sales": np.arange(60.0) % 12}).to_csv(index=False)
    table = read_table(csv.encode(), filename="sales.csv")
    with transaction(sessions) as session:
        dataset = repository.import_dataset(session, table=table, name="sales")
        check_length(dataset, TrainingConfig())
        check_windows(session, dataset, TrainingConfig())
        frame = repository.load_dataset_frame(session, "sales")
        pipeline = ProcessingPipeline.from_config(TrainingConfig().preprocessing)
        pipeline.fit_transform(frame)
        assert (pipeline.window.lookback, pipeline.window.horizon) == (24, 9)
        with pytest.raises(InvalidInput, match="cannot hold one horizon of 12"):
            check_length(dataset, config(24, 12))
