from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from gapcast.errors import InvalidInput
from gapcast.processing import SeriesFrame, format_duration, infer_frequency, parse_duration

from .conftest import HOUR


def test_from_arrays_shapes_mask_and_sorting() -> None:
    ts = np.array([3, 1, 2], dtype=np.int64) * HOUR
    frame = SeriesFrame.from_arrays(ts, [30.0, 10.0, np.nan], ["a"])
    assert frame.timestamps.tolist() == [HOUR, 2 * HOUR, 3 * HOUR]
    assert frame.values.shape == (1, 3)
    np.testing.assert_array_equal(frame.values[0], [10.0, np.nan, 30.0])
    assert frame.mask.tolist() == [[True, False, True]]
    assert frame.timestamps.dtype == np.int64 and frame.values.dtype == np.float64


def test_infinite_values_are_missing_as_in_an_imported_file() -> None:
    values = np.array([1.0, np.inf, 3.0, -np.inf])
    frame = SeriesFrame.from_pandas(
        pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=4, freq="h"), "a": values})
    )
    assert frame.mask.tolist() == [[True, False, True, False]]
    np.testing.assert_array_equal(frame.values[0], [1.0, np.nan, 3.0, np.nan])
    assert np.isinf(values).sum() == 2  # the caller's data is left as it was


def test_text_times_must_be_iso_8601_and_one_column_one_zone() -> None:
    hours = pd.date_range("2024-01-01", periods=3, freq="h")

    def frame(times: list[Any]) -> SeriesFrame:
        return SeriesFrame.from_pandas(
            pd.DataFrame({"time": pd.Series(times, dtype=object), "a": [1.0, 2.0, 3.0]})
        )

    expected = hours.as_unit("ns").asi8.tolist()
    assert frame(list(hours.strftime("%Y-%m-%d %H:%M"))).timestamps.tolist() == expected
    assert frame(list(hours.strftime("%Y-%m-%dT%H:%M:%SZ"))).timestamps.tolist() == expected
    # Day first or month first? pandas would guess month first; gapcast asks.
    dayfirst = list(hours.strftime("%d/%m/%Y %H:%M"))
    with pytest.raises(InvalidInput, match="not ISO 8601") as info:
        frame(dayfirst)
    assert "row 0: '01/01/2024 00:00'" in info.value.message and info.value.field == "timestamp"
    mixed = [hours[0], hours[1].tz_localize("Europe/Berlin"), hours[2]]
    with pytest.raises(InvalidInput, match="mixes times with a time zone") as info:
        frame(mixed)
    assert "(row 1: 2024-01-01 01:00:00+01:00)" in info.value.message


def test_numeric_times_are_epoch_seconds_milli_or_nanoseconds_by_size() -> None:
    # A database's Unix seconds, a logger's milliseconds, numpy's nanoseconds: read as
    # ``gapcast import`` reads them, never as nanoseconds of January 1970.
    hours = pd.date_range("2024-01-01", periods=3, freq="h")
    expected = hours.as_unit("ns").asi8.tolist()
    for per_second in (1, 1_000, 1_000_000_000):
        numbers = hours.as_unit("ns").asi8 // (1_000_000_000 // per_second)
        frame = SeriesFrame.from_pandas(pd.DataFrame({"timestamp": numbers, "a": [1.0, 2, 3]}))
        assert frame.timestamps.tolist() == expected
    fractions = SeriesFrame.from_pandas(
        pd.DataFrame({"ts": [1_704_067_200.5, 1_704_070_800.5], "a": [1.0, 2.0]})
    )
    assert fractions.timestamps.tolist() == [e + 500_000_000 for e in expected[:2]]
    with pytest.raises(InvalidInput, match=r"row 1 \(1e\+16\) lies outside the years") as info:
        SeriesFrame.from_pandas(
            pd.DataFrame({"timestamp": [1.7e9, 1e16, 1.7e9 + 60], "a": [1.0, 2.0, 3.0]})
        )
    assert "epoch s" in info.value.message and info.value.field == "timestamp"


def test_frames_are_read_only_but_callers_arrays_are_not() -> None:
    values = np.arange(4.0)
    frame = SeriesFrame.from_arrays(np.arange(4) * HOUR, values, ["a"])
    with pytest.raises(ValueError):
        frame.values[0, 0] = 1.0
    values[0] = 5.0  # the caller's array stays writable
    with pytest.raises(AttributeError):
        frame.freq_ns = 3  # type: ignore[misc]


def test_from_pandas_converts_timezones_to_utc_and_naive_is_utc() -> None:
    aware = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=3, freq="h", tz="Europe/Berlin"),
            "x": [1.0, 2.0, 3.0],
            "y": [1, 2, 3],
        }
    )
    naive = aware.assign(timestamp=aware["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None))
    a, b = SeriesFrame.from_pandas(aware), SeriesFrame.from_pandas(naive)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    assert a.timestamps[0] == pd.Timestamp("2023-12-31T23:00Z").value
    assert a.channels == ("x", "y")
    back = a.to_pandas()
    assert str(back["timestamp"].dt.tz) == "UTC"
    np.testing.assert_array_equal(back["y"].to_numpy(), [1.0, 2.0, 3.0])


def test_numbers_a_database_returns_as_objects_are_read() -> None:
    """pd.read_sql gives a NUMERIC column as decimal.Decimal objects, None where NULL: numbers,
    read as such; numbers written as text are still refused (a decimal comma reads two ways)."""
    from decimal import Decimal

    times = ["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T02:00Z"]
    frame = SeriesFrame.from_pandas(
        pd.DataFrame({"timestamp": times, "kwh": [Decimal("1.25"), None, Decimal("3.5")]})
    )
    np.testing.assert_array_equal(frame.values[0], [1.25, np.nan, 3.5])
    with pytest.raises(InvalidInput, match="column 'kwh' holds numbers written as text"):
        SeriesFrame.from_pandas(pd.DataFrame({"timestamp": times, "kwh": ["1.25", None, "3.5"]}))


def test_from_pandas_rejects_text_columns_and_missing_timestamp() -> None:
    with pytest.raises(
        InvalidInput, match=r"column 'name' holds only text, first 'x' at row 0: leave it out"
    ):
        SeriesFrame.from_pandas(pd.DataFrame({"timestamp": ["2024-01-01"], "name": ["x"]}))
    with pytest.raises(InvalidInput, match="timestamp"):
        SeriesFrame.from_pandas(pd.DataFrame({"x": [1.0]}))
    # Two datetime columns and neither named as a time: which one is meant is not guessed.
    two = pd.date_range("2024-01-01", periods=2, freq="h")
    with pytest.raises(InvalidInput, match="one column of datetime type"):
        SeriesFrame.from_pandas(pd.DataFrame({"a": two, "b": two, "x": [1.0, 2.0]}))
    # A column of text times under another name ('month' of '2018-01's): the rename is named.
    monthly = pd.DataFrame({"month": ["2018-01", "2018-02"], "sales": [1.0, 2.0]})
    with pytest.raises(InvalidInput) as caught:
        SeriesFrame.from_pandas(monthly)
    assert caught.value.message.endswith(
        "; 'month' looks like one: df.rename(columns={'month': 'timestamp'})"
    )
    renamed = SeriesFrame.from_pandas(monthly.rename(columns={"month": "timestamp"}))
    assert renamed.timestamps[1] == pd.Timestamp("2018-02-01").value
    with pytest.raises(InvalidInput) as caught:
        SeriesFrame.from_pandas(pd.DataFrame({"x": [1.0]}))
    assert "looks like one" not in caught.value.message


def test_from_pandas_finds_the_time_by_type_then_by_name() -> None:
    times = pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")
    expected = SeriesFrame.from_pandas(pd.DataFrame({"timestamp": times, "x": [1.0, 2.0, 3.0]}))
    by_type = pd.DataFrame({"x": [1.0, 2.0, 3.0], "when": times})  # df.reset_index(names=...)
    by_name = pd.DataFrame({"Date": times.strftime("%Y-%m-%d %H:%M"), "x": [1.0, 2.0, 3.0]})
    for df in (by_type, by_name):
        frame = SeriesFrame.from_pandas(df)
        assert frame.channels == ("x",)
        np.testing.assert_array_equal(frame.timestamps, expected.timestamps)


def test_pandas_periods_are_read_as_their_first_instants() -> None:
    quarters = pd.period_range("2023Q1", periods=4, freq="Q")
    expected = pd.date_range("2023-01-01", periods=4, freq="QS", tz="UTC").as_unit("ns").asi8
    on_index = SeriesFrame.from_pandas(pd.DataFrame({"x": [1.0, 2, 3, 4]}, index=quarters))
    in_column = SeriesFrame.from_pandas(pd.DataFrame({"quarter": quarters, "x": [1.0, 2, 3, 4]}))
    for frame in (on_index, in_column):
        assert frame.channels == ("x",)
        assert frame.timestamps.astype(np.int64).tolist() == expected.tolist()


def test_validation_of_shapes_and_channels() -> None:
    with pytest.raises(InvalidInput, match="channel names"):
        SeriesFrame.from_arrays([1, 2], [[1.0, 2.0]], ["a", "b"])
    with pytest.raises(InvalidInput, match="unique"):
        SeriesFrame.from_arrays([1, 2], [[1.0, 2.0], [1.0, 2.0]], ["a", "a"])
    with pytest.raises(InvalidInput, match="shape"):
        SeriesFrame.from_arrays([1, 2, 3], [[1.0, 2.0]], ["a"])


def test_select_and_slice_share_memory() -> None:
    frame = SeriesFrame.from_arrays(np.arange(5) * HOUR, np.ones((2, 5)), ["a", "b"])
    assert frame.select(["a", "b"]) is frame
    assert frame.select(["b"]).channels == ("b",)
    part = frame.slice(1, 3)
    assert np.shares_memory(part.values, frame.values)
    with pytest.raises(InvalidInput, match="unknown channel 'c'"):
        frame.select(["c"])


def test_infer_frequency_is_the_median_step() -> None:
    ts = np.array([0, 1, 2, 3, 10, 11, 12, 12]) * HOUR
    assert infer_frequency(ts) == HOUR
    assert infer_frequency(ts[::-1]) == HOUR
    with pytest.raises(InvalidInput, match="two distinct"):
        infer_frequency([5, 5])


def test_irregular_readings_get_a_step_that_most_of_them_fill() -> None:
    rng = np.random.default_rng(0)
    minute = 60 * 10**9
    # Events 10 minutes apart on average (Poisson): their median spacing is 7 minutes, a grid
    # half empty; three mean spacings, rounded up to a round step, fill about 95% of it.
    events = np.cumsum(rng.exponential(10 * minute, 5_000)).astype(np.int64)
    step = infer_frequency(events)
    assert step == 30 * minute
    filled = np.unique(events // step).size / (events[-1] // step - events[0] // step + 1)
    assert filled > 0.9
    # A jittered 15-minute logger with an outage a day long is regular: its own step.
    logger = np.arange(2_000) * 15 * minute + rng.integers(-20, 20, 2_000) * 10**9
    logger = np.concatenate([logger[:900], logger[996:]])
    assert infer_frequency(logger) == 15 * minute


def test_evenly_spaced_readings_on_no_grid_get_a_step_that_keeps_the_day_whole() -> None:
    """A thermostat reporting each half degree its room passes through a smooth daily swing:
    readings come about every 82 minutes but at no fixed phase. On an 82-minute grid a day is
    17.6 steps and no daily season or baseline could read yesterday's value: the grid takes the
    round step above the spacing. A logger keeping its odd step, or a round step whose phase
    moves after restarts (a glucose monitor's), keeps its own."""
    minute = 60 * 10**9
    minutes = np.arange(0, 60 * 24 * 60)
    level = 20 + 1.5 * np.sin(2 * np.pi * minutes / 1440)
    shown = np.round(level * 2) / 2
    sent = minutes[np.r_[True, shown[1:] != shown[:-1]]] * minute
    spacing = np.median(np.diff(sent))
    assert 60 * minute < spacing < 120 * minute  # not a round step
    assert infer_frequency(sent) == 2 * HOUR
    logger = np.arange(3_000) * 7 * minute
    assert infer_frequency(logger) == 7 * minute
    rng = np.random.default_rng(1)
    starts = np.cumsum(rng.integers(1_600 * 60, 1_700 * 60, 20)) * 10**9
    restarts = np.concatenate([start + np.arange(300) * 5 * minute for start in starts])
    assert infer_frequency(restarts) == 5 * minute


@pytest.mark.parametrize(
    ("text", "ns"),
    [("1h", HOUR), ("15min", 15 * 60 * 10**9), ("7D", 7 * 24 * HOUR), ("1W", 7 * 24 * HOUR)],
)
def test_parse_and_format_duration(text: str, ns: int) -> None:
    assert parse_duration(text) == ns
    assert parse_duration(format_duration(ns)) == ns


@pytest.mark.parametrize("text", ["1M", "soon", "-1h", "0s"])
def test_parse_duration_rejects_calendar_and_nonsense(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)


def test_a_text_value_column_is_refused_naming_its_first_cell_that_is_not_a_number() -> None:
    times = pd.date_range("2024-01-01", periods=4, freq="h")
    marker = pd.DataFrame(
        {"timestamp": times, "temp": ["1.5", "2", "n/a", "4"], "rh": ["a"] * 4}, index=[7, 8, 9, 10]
    )
    with pytest.raises(InvalidInput) as info:
        SeriesFrame.from_pandas(marker)
    message = str(info.value)
    assert "column 'temp' holds 1 cell(s) that are not numbers, first 'n/a' at row 9" in message
    assert "(position 2)" in message and "(so do 'rh')" in message
    assert "pd.to_numeric(df['temp'], errors='coerce')" in message
    assert info.value.field == "columns.temp"
    as_text = pd.DataFrame({"timestamp": times, "temp": ["1.5", "2", "3", "4"]})
    with pytest.raises(InvalidInput, match=r"numbers written as text, first '1\.5' at row 0:"):
        SeriesFrame.from_pandas(as_text)
    durations = pd.DataFrame({"timestamp": times, "temp": pd.to_timedelta([1, 2, 3, 4], unit="h")})
    with pytest.raises(InvalidInput, match=r"values of type timedelta64.*: convert it to numbers"):
        SeriesFrame.from_pandas(durations)


def test_an_empty_timestamp_is_refused_naming_its_row() -> None:
    times = list(pd.date_range("2024-01-01", periods=4, freq="h"))
    times[2] = None
    df = pd.DataFrame({"timestamp": times, "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(InvalidInput, match=r"1 empty or invalid cells, first at row 2: drop"):
        SeriesFrame.from_pandas(df)


def test_a_clash_in_the_hour_clocks_repeat_points_at_the_time_zone() -> None:
    """Wall-clock times of a logger in Berlin repeat 02:00-02:59 when summer time ends; read as
    UTC they clash. The message says so and gives the pandas line that fixes it, which works."""
    zone = pd.date_range("2024-10-26 20:00", periods=12, freq="h", tz="Europe/Berlin")
    wall = pd.DataFrame({"timestamp": zone.tz_localize(None), "v": np.arange(12.0)})
    with pytest.raises(InvalidInput, match="summer time ends") as caught:
        SeriesFrame.from_pandas(wall, refuse_repeated=True)
    message = caught.value.message
    assert "rows 6, 7" in message and "ambiguous='infer'" in message
    assert "df.groupby('timestamp').mean()" in message  # the other fix, for real duplicates
    fix = message.split("(in pandas: ")[1].split(", with your zone")[0]
    exec(fix, {"pd": pd, "df": wall})
    frame = SeriesFrame.from_pandas(wall, refuse_repeated=True)
    assert frame.n_points == 12 and np.all(np.diff(frame.timestamps.astype(np.int64)) == 3600e9)
    # The same times as text without an offset: the same hint; as an index: its own line.
    text = wall.assign(timestamp=zone.tz_localize(None).strftime("%Y-%m-%dT%H:%M"))
    with pytest.raises(InvalidInput, match="summer time ends"):
        SeriesFrame.from_pandas(text, refuse_repeated=True)
    indexed = pd.DataFrame({"v": np.arange(12.0)}, index=zone.tz_localize(None))
    with pytest.raises(InvalidInput, match=r"df.index = pd.DatetimeIndex\(df.index\)"):
        SeriesFrame.from_pandas(indexed, refuse_repeated=True)
    # A clash on a Monday noon is not a clock: only the merge is offered.
    monday = pd.DataFrame(
        {"timestamp": pd.to_datetime(["2024-10-28 12:00", "2024-10-28 12:00"]), "v": [1.0, 2.0]}
    )
    with pytest.raises(InvalidInput) as plain:
        SeriesFrame.from_pandas(monday, refuse_repeated=True)
    assert "summer time" not in plain.value.message and "groupby" in plain.value.message
