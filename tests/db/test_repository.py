"""Datasets and configs in a real database (SQLite file and PostgreSQL schema)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.append import append_to_dataset
from gapcast.db.session import make_engine, transaction
from gapcast.db.tables import ID_MAX, Dataset, points
from gapcast.errors import Conflict, InvalidInput, NotFound
from gapcast.ingest import read_file, read_table
from gapcast.training_config import TrainingConfig


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Dataset)) or 0,
            s.scalar(select(func.count()).select_from(points)) or 0,
        )


def test_round_trip_is_exact_including_time_zones(sessions: sessionmaker[Session]) -> None:
    rng = np.random.default_rng(3)
    stamps = pd.date_range("2021-03-27 22:00", periods=500, freq="17min", tz="America/New_York")
    values = rng.normal(size=(2, 500)) * 1e6
    values[0, rng.choice(500, 40, replace=False)] = np.nan
    df = pd.DataFrame({"timestamp": stamps.map(lambda t: t.isoformat(timespec="microseconds"))})
    df["a"] = [repr(float(v)) if not np.isnan(v) else "" for v in values[0]]
    df["b"] = [repr(float(v)) for v in values[1]]
    table = read_table(df.to_csv(index=False).encode(), filename="tz.csv")
    with transaction(sessions) as s:
        repository.import_dataset(s, table=table, name="tz")
    with sessions() as s:
        loaded = repository.load_dataset_arrays(s, repository.get_dataset(s, "tz"))
    expected_ns = stamps.tz_convert("UTC").as_unit("ns").asi8
    assert loaded.timestamps_ns.tolist() == expected_ns.tolist()
    assert loaded.channels == ["a", "b"]
    np.testing.assert_array_equal(loaded.values, values)  # NaN where the cell was empty
    assert loaded.frequency_ns == 17 * 60 * 10**9


def test_a_logger_reconfigured_to_a_coarser_step_has_that_step(
    sessions: sessionmaker[Session],
) -> None:
    """Every 15 minutes for a month, then hourly: the dataset's step is the hour its latest
    readings keep (the one forecasts are made from), the import says so, and appending more
    hourly exports keeps it; a fast column that died beside an hourly one changes nothing."""
    fine = pd.date_range("2025-01-01", periods=30 * 96, freq="15min", tz="UTC")
    hourly = pd.date_range(fine[-1] + pd.Timedelta("1h"), periods=30 * 24, freq="h")
    stamps = fine.append(hourly)
    text = "time,temp\n" + "".join(f"{t.isoformat()},{i % 9}.5\n" for i, t in enumerate(stamps))
    table = read_table(text.encode(), filename="logger.csv")
    assert [n for n in table.notes if "step went from" in n] == [
        "the readings' step went from 15min to 1h after 2025-01-30 23:45 UTC: the dataset's step "
        "is 1h, that of its latest readings, which forecasts are made from; a run averages the "
        "earlier readings into it"
    ]
    with transaction(sessions) as s:
        assert repository.import_dataset(s, table=table, name="logger").frequency_ns == 3600 * 10**9
    more = pd.date_range(stamps[-1] + pd.Timedelta("1h"), periods=24, freq="h")
    newer = read_table(
        ("time,temp\n" + "".join(f"{t.isoformat()},1.5\n" for t in more)).encode(),
        filename="logger-2.csv",
    )
    with transaction(sessions) as s:
        appended = append_to_dataset(s, table=newer, name="logger")
        assert appended.dataset.frequency_ns == 3600 * 10**9
    minutes = pd.date_range("2025-01-01", periods=60 * 96, freq="15min", tz="UTC")
    rows = "".join(
        f"{t.isoformat()},{'1.0' if i < 30 * 96 else ''},{'12.0' if t.minute == 0 else ''}\n"
        for i, t in enumerate(minutes)
    )
    died = read_table(("time,flow,battery\n" + rows).encode(), filename="died.csv")
    assert not [n for n in died.notes if "step went from" in n]
    with transaction(sessions) as s:
        assert repository.import_dataset(s, table=died, name="died").frequency_ns == 900 * 10**9


def test_times_of_rows_come_back_aware_in_utc(sessions: sessionmaker[Session]) -> None:
    """SQLite hands back its DATETIMEs without a zone and PostgreSQL in the session's zone: both
    come back as the same instant in UTC, with the zone (the API's JSON says 'Z' on both), and a
    time given in another zone is stored as its instant, not as its wall time."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    berlin = datetime(2024, 3, 31, 4, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # 02:30 UTC
    with transaction(sessions) as s:
        s.add(Dataset(name="clock", created_at=berlin))
    with sessions() as s:
        row = repository.get_dataset(s, "clock")
        assert row.created_at == datetime(2024, 3, 31, 2, 30, tzinfo=UTC)
        assert row.created_at.utcoffset() is not None and row.created_at.utcoffset().seconds == 0
        later = s.scalars(select(Dataset).where(Dataset.created_at > berlin.replace(minute=29)))
        assert [d.name for d in later] == ["clock"]


def test_sample_import_metadata(sessions: sessionmaker[Session], sample_csv: Path) -> None:
    with transaction(sessions) as s:
        ds = repository.import_dataset(s, table=read_file(sample_csv), name="co2")
        assert ds.point_count == 2225
        assert ds.frequency_ns == 7 * 86400 * 10**9
        assert [x.name for x in ds.series] == ["co2_ppm"]
    with sessions() as s:
        ds = repository.get_dataset(s, "co2")
        assert repository.get_dataset(s, ds.id).name == "co2"
        assert str(ds.start)[:10] == "1958-03-29" and str(ds.end)[:10] == "2001-12-29"


def test_existing_name_conflicts_and_keeps_the_old_data(sessions: sessionmaker[Session]) -> None:
    first = read_table(b"timestamp,v\n2024-01-01,1\n2024-01-02,2\n", filename="a.csv")
    second = read_table(b"timestamp,v\n2024-01-01,7\n", filename="b.csv")
    with transaction(sessions) as s:
        repository.import_dataset(s, table=first, name="d")
    with pytest.raises(Conflict, match="already exists; use --replace"), transaction(sessions) as s:
        repository.import_dataset(s, table=second, name="d")
    assert counts(sessions) == (1, 2)
    with transaction(sessions) as s:
        repository.import_dataset(s, table=second, name="d", replace=True)
    assert counts(sessions) == (1, 1)


def test_failure_mid_import_leaves_nothing(sessions: sessionmaker[Session]) -> None:
    table = read_table(b"timestamp,v\n2024-01-01,1\n2024-01-02,2\n", filename="a.csv")
    with pytest.raises(RuntimeError), transaction(sessions) as s:
        repository.import_dataset(s, table=table, name="half")
        assert s.scalar(select(func.count()).select_from(points)) == 2
        raise RuntimeError("disk full")  # anything failing after the points went in
    assert counts(sessions) == (0, 0)


def test_delete_cascades_to_points(sessions: sessionmaker[Session], sample_csv: Path) -> None:
    with transaction(sessions) as s:
        repository.import_dataset(s, table=read_file(sample_csv), name="co2")
    with transaction(sessions) as s:
        repository.delete_dataset(s, "co2")
    assert counts(sessions) == (0, 0)
    with (
        pytest.raises(NotFound, match="no dataset 'co2'; known datasets: none yet"),
        sessions() as s,
    ):
        repository.get_dataset(s, "co2")


def test_blank_name_is_refused(sessions: sessionmaker[Session]) -> None:
    table = read_table(b"timestamp,v\n2024-01-01,1\n", filename="a.csv")
    with pytest.raises(InvalidInput, match="name is empty"), transaction(sessions) as s:
        repository.import_dataset(s, table=table, name="  ")


def test_configs_are_validated_and_round_trip(sessions: sessionmaker[Session]) -> None:
    cfg = TrainingConfig.model_validate({"model": "mlp", "training": {"epochs": 3}})
    with transaction(sessions) as s:
        repository.create_config(s, name="quick", config=cfg)
    with pytest.raises(Conflict), transaction(sessions) as s:
        repository.create_config(s, name="quick", config=cfg)
    with sessions() as s:
        stored = repository.config_of(repository.get_config(s, "quick"))
    assert stored == cfg
    with transaction(sessions) as s:
        repository.delete_config(s, "quick")
    with pytest.raises(NotFound), sessions() as s:
        repository.get_config(s, "quick")


def test_sqlite_is_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize(
    "ref", [ID_MAX + 1, 2**63 - 1, 2**63, 10**30, "99999999999999999999999", str(2**63)]
)
def test_ids_no_column_can_hold_are_not_found(
    sessions: sessionmaker[Session], ref: int | str
) -> None:
    """Issue 17: such an id raised OverflowError on SQLite and DataError on PostgreSQL."""
    with sessions() as s:
        with pytest.raises(NotFound) as dataset:
            repository.get_dataset(s, ref)
        assert dataset.value.field == "dataset"
        with pytest.raises(NotFound) as config:
            repository.get_config(s, ref)
        assert config.value.field == "config"
        assert run_store.events_after(s, "x", ref if isinstance(ref, int) else 0) == []


def test_a_name_of_digits_beyond_every_id_is_still_found(sessions: sessionmaker[Session]) -> None:
    name = "9" * 30
    cfg = TrainingConfig.model_validate({"model": "linear"})
    with transaction(sessions) as s:
        repository.create_config(s, name=name, config=cfg)
    with sessions() as s:
        assert repository.get_config(s, name).name == name
        with pytest.raises(NotFound):
            repository.get_config(s, int(name))  # a number is an id, never a name


def test_an_integer_the_driver_cannot_bind_is_a_data_error(engine: Engine) -> None:
    """sqlite3 raises a bare OverflowError for it; the API maps DataError once, for both."""
    with engine.connect() as conn, pytest.raises(DataError):
        conn.execute(select(Dataset.id).where(Dataset.id == 10**30).limit(1)).all()
