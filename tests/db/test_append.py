"""Appending a newer export to a stored dataset (SQLite file and PostgreSQL schema)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker

from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.append import append_to_dataset
from gapcast.db.session import transaction
from gapcast.errors import Conflict, InvalidInput, TooLarge
from gapcast.ingest import OnDuplicate, read_table
from gapcast.training_config import TrainingConfig


def csv(rows: dict[str, list[float | None]], start: str, step: str = "1h") -> bytes:
    """A file of ``rows`` (column -> values, None: an empty cell) from ``start`` on; times with
    microseconds, which every database must keep exactly."""
    n = len(next(iter(rows.values())))
    times = pd.date_range(start, periods=n, freq=step, tz="UTC") + pd.Timedelta(microseconds=7)
    frame = pd.DataFrame({"timestamp": [t.isoformat() for t in times], **rows})
    return frame.to_csv(index=False).encode()


def stored(sessions: sessionmaker[Session], name: str = "meter") -> pd.DataFrame:
    with sessions() as s:
        arrays = repository.load_dataset_arrays(s, repository.get_dataset(s, name))
    index = pd.to_datetime(arrays.timestamps_ns, utc=True)
    return pd.DataFrame(dict(zip(arrays.channels, arrays.values, strict=True)), index=index)


def append(
    sessions: sessionmaker[Session], data: bytes, on_duplicate: OnDuplicate = "error", **kw: int
) -> str:
    with transaction(sessions) as s:
        table = read_table(data, filename="new.csv")
        return append_to_dataset(s, table=table, name="meter", on_duplicate=on_duplicate, **kw).note


@pytest.fixture
def meter(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    first = csv({"kw": [1.0, 2, 3, None, 5], "temp [°C]": [20.0, 21, 22, 23, 24]}, "2024-05-01")
    with transaction(sessions) as s:
        repository.import_dataset(s, table=read_table(first, filename="may.csv"), name="meter")
    return sessions


def test_a_newer_export_overlapping_the_stored_end_adds_only_its_new_points(
    meter: sessionmaker[Session],
) -> None:
    before = stored(meter)
    # The export repeats the last two hours, as daily exports do, then three new ones.
    newer = csv({"kw": [None, 5.0, 6, 7, 8], "temp": [23.0, 24, 25, 26, None]}, "2024-05-01 03:00")
    note = append(meter, newer)
    assert note == (
        "appended 5 new point(s) to dataset 'meter'; 3 already stored with the same value(s) "
        "kept once"
    )
    after = stored(meter)
    pd.testing.assert_frame_equal(after.iloc[:5], before)  # nothing stored before was touched
    assert after["kw"].iloc[5:].tolist() == [6.0, 7.0, 8.0]
    assert after["temp"].iloc[5:7].tolist() == [25.0, 26.0] and np.isnan(after["temp"].iloc[7])
    with meter() as s:
        ds = repository.get_dataset(s, "meter")
        assert ds.point_count == 14 and [x.point_count for x in ds.series] == [7, 7]
        # SQLite hands a stored time back without its zone; it is UTC on both.
        assert pd.Timestamp(ds.end).tz_localize(None) == after.index[-1].tz_localize(None)
        assert ds.content_hash == repository.content_hash(
            after.index.as_unit("ns").asi8, after.to_numpy().T.copy()
        )


def test_readings_recovered_for_an_earlier_outage_fill_it(meter: sessionmaker[Session]) -> None:
    # The missing hour, read off the logger's card later: a file older than the stored end.
    append(meter, csv({"kw": [4.0]}, "2024-05-01 03:00"))
    assert stored(meter)["kw"].tolist() == [1.0, 2, 3, 4, 5]


def test_a_time_stored_with_another_value_is_refused_unless_told_how_to_merge(
    meter: sessionmaker[Session],
) -> None:
    before = stored(meter)
    revised = csv({"kw": [50.0, 6]}, "2024-05-01 04:00")
    with pytest.raises(InvalidInput) as refused:
        append(meter, revised)
    assert refused.value.field == "on_duplicate" and refused.value.message.startswith(
        "series 'kw': 1 time(s) already stored with another value, first "
        "2024-05-01T04:00:00.000007+00:00 (stored 5, file 50); on_duplicate 'last'"
    )
    pd.testing.assert_frame_equal(stored(meter), before)  # refused as a whole
    assert "1 stored with another value merged into it" in append(meter, revised, "mean")
    assert stored(meter)["kw"].tolist()[4:] == [27.5, 6.0]
    append(meter, revised, "last")
    assert stored(meter)["kw"].tolist()[4:] == [50.0, 6.0]


def test_what_cannot_be_appended_is_refused_and_changes_nothing(
    meter: sessionmaker[Session],
) -> None:
    before = stored(meter)
    with pytest.raises(InvalidInput, match=r"column\(s\) 'pressure' are not series of dataset"):
        append(meter, csv({"kw": [6.0], "pressure": [1013.0]}, "2024-05-01 05:00"))
    in_fahrenheit = csv({"temp [°F]": [77.0]}, "2024-05-01 05:00")
    with pytest.raises(InvalidInput, match="stored in '°C'; the file's column is in '°F'"):
        append(meter, in_fahrenheit)
    with pytest.raises(TooLarge, match="would hold 11 points, over the limit of 10"):
        append(meter, csv({"kw": [6.0, 7.0]}, "2024-05-01 05:00"), max_points=10)
    with transaction(meter) as s:
        dataset = repository.get_dataset(s, "meter")
        run_store.create_run(s, dataset=dataset, config=TrainingConfig(), max_queued=10)
    with pytest.raises(Conflict, match="has 1 queued or running run"):
        append(meter, csv({"kw": [6.0]}, "2024-05-01 05:00"))
    pd.testing.assert_frame_equal(stored(meter), before)


def test_no_reading_marks_are_stored_merged_and_deleted(sessions: sessionmaker[Session]) -> None:
    """A long-format export's rows without a value (Home Assistant's 'unavailable') are kept
    as marks beside the points: loaded back as where the series said it had none, merged by an
    append (a reading at the same time wins), gone with the dataset."""

    def export(rows: list[tuple[str, str]]) -> bytes:
        lines = [f"sensor.t,{state},2024-11-01T{hhmm}:00Z" for hhmm, state in rows]
        return ("entity_id,state,last_changed\n" + "\n".join(lines) + "\n").encode()

    first = export([("00:00", "20.5"), ("01:00", "unavailable"), ("03:00", "21.0")])
    with transaction(sessions) as s:
        table = read_table(first, filename="history.csv")
        repository.import_dataset(s, table=table, name="ha")

    def marks() -> list[str]:
        with sessions() as s:
            arrays = repository.load_dataset_arrays(s, repository.get_dataset(s, "ha"))
        assert arrays.ended is not None
        times = pd.to_datetime(arrays.timestamps_ns[arrays.ended[0]], utc=True)
        return [t.strftime("%H:%M") for t in times]

    assert marks() == ["01:00"]
    with sessions() as s:
        frame = repository.load_dataset_frame(s, "ha")
        assert frame.n_points == 3 and frame.ended is not None
        assert repository.get_dataset(s, "ha").series[0].point_count == 2
    # A newer export: a reading recovered at 01:00 replaces its mark; a new spell at 04:00.
    newer = export([("01:00", "20.8"), ("03:00", "21.0"), ("04:00", "unknown"), ("05:00", "22")])
    with transaction(sessions) as s:
        append_to_dataset(s, table=read_table(newer, filename="newer.csv"), name="ha")
    assert marks() == ["04:00"]
    with transaction(sessions) as s:
        repository.delete_dataset(s, "ha")
    with sessions() as s:
        from sqlalchemy import func, select

        from gapcast.db.tables import no_readings

        assert s.scalar(select(func.count()).select_from(no_readings)) == 0


def test_rows_without_readings_after_the_last_one_keep_the_datasets_end(
    sessions: sessionmaker[Session],
) -> None:
    """A logger that went on writing rows after its sensor stopped: the empty cells are not
    stored, the dataset's end is the last row, an append moves it only forward, and the frame
    a forecast reads ends there (one row of no readings), so it starts after it."""
    first = csv({"flow": [1.0, 2, 3, None, None, None]}, "2024-05-01")
    with transaction(sessions) as s:
        repository.import_dataset(s, table=read_table(first, filename="a.csv"), name="pump")
    last_row = pd.Timestamp("2024-05-01T05:00:00.000007Z")
    with sessions() as s:
        assert pd.Timestamp(repository.get_dataset(s, "pump").end) == last_row
        frame = repository.load_dataset_frame(s, "pump", through_end=True)
        plain = repository.load_dataset_frame(s, "pump")
    assert frame.timestamps[-1] == last_row.value and np.isnan(frame.values[0, -1])
    assert plain.timestamps[-1] == pd.Timestamp("2024-05-01T02:00:00.000007Z").value
    # A newer export whose readings resume, and rows without them after: the end moves on.
    newer = csv({"flow": [4.0, 5, None, None]}, "2024-05-01T06:00")
    with transaction(sessions) as s:
        append_to_dataset(s, table=read_table(newer, filename="b.csv"), name="pump")
    with sessions() as s:
        assert pd.Timestamp(repository.get_dataset(s, "pump").end) == last_row + pd.Timedelta("4h")
    # An older file appended (readings recovered) leaves the end where it was.
    older = csv({"flow": [0.5, 0.7]}, "2024-04-30T22:00")
    with transaction(sessions) as s:
        append_to_dataset(s, table=read_table(older, filename="c.csv"), name="pump")
    with sessions() as s:
        assert pd.Timestamp(repository.get_dataset(s, "pump").end) == last_row + pd.Timedelta("4h")
