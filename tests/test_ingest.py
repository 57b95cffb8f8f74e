"""File parsing: every bad input gets a message naming the column, the rows or the limit."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gapcast.errors import InvalidInput, TooLarge
from gapcast.ingest import read_table
from gapcast.ingest.common import DecimalMark
from gapcast.processing.frame import SeriesFrame


def csv(text: str) -> bytes:
    return text.strip().encode() + b"\n"


def test_iso_timestamps_with_offsets_become_utc() -> None:
    table = read_table(
        csv("timestamp,load\n2024-01-01T01:00:00+01:00,1.5\n2024-01-01T01:00:00Z,2.5"),
        filename="x.csv",
    )
    assert table.timestamps_ns.tolist() == [
        pd.Timestamp("2024-01-01T00:00:00Z").value,
        pd.Timestamp("2024-01-01T01:00:00Z").value,
    ]
    assert table.values.tolist() == [[1.5, 2.5]]


def test_epoch_seconds_and_units_and_semicolons() -> None:
    table = read_table(
        csv("time;power [kW];temp (C)\n1700000000;1;\n1700000060.5;2;3"), filename="x.csv"
    )
    assert table.timestamps_ns.tolist() == [1_700_000_000 * 10**9, 1_700_000_060_500_000_000]
    assert table.channels == ["power", "temp"]
    assert table.units == ["kW", "C"]
    assert np.isnan(table.values[1, 0]) and table.missing_cells == {"power": 0, "temp": 1}


def test_unsorted_rows_are_sorted() -> None:
    table = read_table(csv("ts,v\n2024-01-03,3\n2024-01-01,1\n2024-01-02,2"), filename="x.csv")
    assert table.values.tolist() == [[1.0, 2.0, 3.0]]


def test_missing_timestamp_column_lists_columns_and_names_the_one_that_looks_like_times() -> None:
    with pytest.raises(
        InvalidInput,
        match=r"no timestamp column.*columns: when, v; 'when' looks like one: "
        r"--timestamp-column 'when'",
    ) as err:
        read_table(csv("when,v\n2024-01-01,1"), filename="x.csv")
    assert err.value.field == "timestamp_column"
    # Numbers (epoch seconds or values: they look alike) and decimal commas are not suggested.
    with pytest.raises(InvalidInput, match=r"columns: a, b\. Name it with --timestamp-column"):
        read_table(csv("a;b\n1700000000;100,5\n1700000060;101,5"), filename="x.csv")


def test_a_file_without_a_header_line_is_told_so() -> None:
    # Suggesting '--timestamp-column 2024-01-01 00:00' would drop the first reading and name the
    # columns by it.
    with pytest.raises(InvalidInput, match="the file has no header line") as err:
        read_table(csv("2024-01-01 00:00,10.5\n2024-01-01 01:00,11.0"), filename="x.csv")
    assert "(2024-01-01 00:00, 10.5) is data" in err.value.message
    assert "--timestamp-column" not in err.value.message


def test_a_parquet_files_one_datetime_column_is_its_time_whatever_its_name() -> None:
    df = pd.DataFrame({"Zeit": pd.date_range("2024-01-01", periods=3, freq="h"), "v": [1.0, 2, 3]})
    buf = io.BytesIO()
    df.to_parquet(buf)
    table = read_table(buf.getvalue(), filename="x.parquet")
    assert table.channels == ["v"] and table.values.tolist() == [[1.0, 2.0, 3.0]]


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf)
    return buf.getvalue()


def test_a_parquet_files_times_typed_with_a_zone_keep_it() -> None:
    """A Parquet column typed timestamp[ns, tz=Europe/Berlin] says where its times are: the
    table keeps the zone (shown in it, a later file read in it), with a note; UTC or a fixed
    offset names no zone."""
    berlin = pd.date_range("2024-10-26 22:00", periods=4, freq="h", tz="Europe/Berlin")
    for frame in (
        pd.DataFrame({"time": berlin, "v": [1.0, 2, 3, 4]}),
        pd.DataFrame({"v": [1.0, 2, 3, 4]}, index=berlin.rename("time")),
    ):
        table = read_table(_parquet(frame), filename="x.parquet")
        assert table.timezone == "Europe/Berlin"
        assert table.timestamps_ns.tolist() == berlin.as_unit("ns").asi8.tolist()
        assert table.notes == [
            "timestamp column 'time' carries the time zone Europe/Berlin: kept with the data "
            "(its times are shown in it, and a later file's times without an offset are read in "
            "it)"
        ]
    for other in (berlin.tz_convert("UTC"), berlin.tz_convert(dt.timezone(dt.timedelta(hours=1)))):
        table = read_table(
            _parquet(pd.DataFrame({"time": other, "v": [1.0, 2, 3, 4]})), filename="x.parquet"
        )
        assert table.timezone is None and table.notes == []
    # A zone given reads the file's naive times; a typed column's own zone is not asked for.
    given = read_table(
        _parquet(pd.DataFrame({"time": berlin, "v": [1.0, 2, 3, 4]})),
        filename="x.parquet",
        timezone="America/New_York",
    )
    assert given.timezone is None  # no time was read in New York's


def test_a_parquet_file_of_a_frame_indexed_by_time_reads_its_index_as_the_times() -> None:
    times = pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")
    expected = times.as_unit("ns").asi8.tolist()
    for index in (times, times.rename("time")):  # `df.to_parquet()` of a series' usual shape
        table = read_table(
            _parquet(pd.DataFrame({"v": [1.0, 2, 3]}, index=index)), filename="x.parquet"
        )
        assert table.channels == ["v"] and table.timestamps_ns.tolist() == expected
    # A long-format frame indexed by sensor and time reads as one column per sensor.
    long = pd.DataFrame(
        {"v": [1.0, 2, 3, 4]},
        index=pd.MultiIndex.from_product([["a", "b"], times[:2]], names=["sensor", "time"]),
    )
    table = read_table(_parquet(long), filename="x.parquet", series_column="sensor")
    assert table.channels == ["a", "b"] and table.values.tolist() == [[1.0, 2], [3.0, 4]]
    # Row labels that are not times are not data: the frame reads as if it had none.
    labelled = pd.DataFrame({"timestamp": times, "v": [1.0, 2, 3]}, index=[10, 11, 12])
    assert read_table(_parquet(labelled), filename="x.parquet").channels == ["v"]
    clash = pd.DataFrame({"time": times, "v": [1.0, 2, 3]}, index=times.rename("time"))
    with pytest.raises(InvalidInput, match="index 'time' has the name of one of its columns"):
        read_table(_parquet(clash), filename="x.parquet")


def test_a_date_column_and_a_time_of_day_column_read_as_one_time() -> None:
    expected = (
        pd.DatetimeIndex(["2024-01-31 23:30", "2024-02-01 00:00"], tz="UTC")
        .as_unit("ns")
        .asi8.tolist()
    )
    iso = csv("Date,Time,v\n2024-01-31,23:30,1\n2024-02-01,00:00:00,2")
    table = read_table(iso, filename="x.csv")
    assert table.channels == ["v"] and table.timestamps_ns.tolist() == expected
    assert "times read from the columns 'Date' (date) and 'Time' (time of day)" in table.notes
    # Named as the time column, the date column finds its time-of-day column too.
    assert read_table(iso, filename="x.csv", timestamp_column="Date").channels == ["v"]
    german = csv("Datum;Uhrzeit;v\n31.01.2024;23:30;1\n01.02.2024;00:00;2")
    table = read_table(
        german, filename="x.csv", timestamp_column="Datum+Uhrzeit", time_format="%d.%m.%Y %H:%M"
    )
    assert table.channels == ["v"] and table.timestamps_ns.tolist() == expected
    # Without the format too: '%d.%m.%Y %H:%M' is the one common format that reads them all.
    table = read_table(german, filename="x.csv", timestamp_column="Datum+Uhrzeit")
    assert table.timestamps_ns.tolist() == expected
    # Named by its time of day, the German date column ('Datum') is found beside it.
    table = read_table(german, filename="x.csv", timestamp_column="Uhrzeit")
    assert table.timestamps_ns.tolist() == expected
    with pytest.raises(InvalidInput) as err:
        read_table(
            german.replace(b"Datum", b"Messtag"), filename="x.csv", timestamp_column="Uhrzeit"
        )
    assert err.value.field == "timestamp_column" and err.value.message == (
        "timestamp column 'Uhrzeit' holds times of day without a date (first: '23:30'); name the "
        "date column and this one together, --timestamp-column 'Date+Uhrzeit'"
    )


def test_times_in_parts_read_as_one_time() -> None:
    expected = pd.DatetimeIndex(["2010-01-01 23:00", "2010-01-02 00:00"], tz="UTC")
    expected = expected.as_unit("ns").asi8.tolist()
    # The Beijing PM2.5 file's shape (UCI): a row number, then the time's parts.
    beijing = csv("No,year,month,day,hour,pm2.5\n1,2010,1,1,23,129\n2,2010,1,2,0,NA")
    table = read_table(beijing, filename="x.csv", columns=["pm2.5"])
    assert table.channels == ["pm2.5"] and table.timestamps_ns.tolist() == expected
    assert table.notes[0] == (
        "times read from the columns 'year', 'month', 'day' and 'hour' (year, month, day, hour)"
    )
    # Named by the user, in the order year, month, day, hour.
    named = csv("Jahr;Monat;Tag;Stunde;v\n2010;1;1;23;1\n2010;1;2;0;2")
    table = read_table(named, filename="x.csv", timestamp_column="Jahr+Monat+Tag+Stunde")
    assert table.channels == ["v"] and table.timestamps_ns.tolist() == expected
    with pytest.raises(InvalidInput) as err:
        read_table(csv("year,month,day,v\n2010,1,1,1\n2010,2,30,2\n2010,x,1,3"), filename="x.csv")
    assert err.value.field == "timestamp_column" and err.value.message == (
        "time columns 'year', 'month', 'day': 2 row(s) that are not a valid date and time at "
        "lines 3, 4 (first: year '2010', month '2', day '30')"
    )
    # In a workbook, the refusal names the sheet's rows as the spreadsheet numbers them.
    sheet = _workbook(("S", [["year", "month", "day", "v"], [2010, 1, 1, 1], [2010, 2, 30, 2]]))
    with pytest.raises(InvalidInput, match=r"not a valid date and time at row 3 \(first"):
        read_table(sheet, filename="x.xlsx")
    # Hour 24 closes the day: the next day's hour 0.
    ending = read_table(
        csv("year,month,day,hour,v\n2010,1,1,23,1\n2010,1,1,24,2\n"), filename="x.csv"
    )
    assert pd.to_datetime(ending.timestamps_ns[-1]) == pd.Timestamp("2010-01-02 00:00")
    # A rain gauge's 'mm' is no minute: its values are not whole minutes.
    rain = csv("year,month,day,hour,mm\n2010,1,1,0,0.5\n2010,1,1,1,12.5\n")
    table = read_table(rain, filename="x.csv")
    assert table.channels == ["mm"] and table.values.tolist() == [[0.5, 12.5]]
    # Two-digit years, as NOAA's files before 1999 and many loggers write them.
    table = read_table(csv("yy,mm,dd,v\n99,12,31,1\n00,1,1,2"), filename="x.csv")
    assert pd.to_datetime(table.timestamps_ns).strftime("%Y-%m-%d").tolist() == [
        "1999-12-31",
        "2000-01-01",
    ]
    assert "two-digit years read as 1969-2068" in table.notes[0]


def test_a_noaa_buoy_file_reads_with_its_units_and_missing_markers() -> None:
    # NDBC's standard meteorological format: '#'-led header and units lines, the time in parts
    # with 'MM' the month and 'mm' the minute, columns aligned with spaces, 99/999 for no
    # reading, and sensors a buoy lacks (VIS, TIDE) all nines.
    header = (
        "#YY  MM DD hh mm WDIR WSPD  WVHT  WTMP  VIS  TIDE\n"
        "#yr  mo dy hr mn degT  m/s     m  degC  nmi    ft\n"
    )
    rows = []
    for i in range(24):
        height = "99.00" if i in (5, 6) else f"{0.7 + i / 100:.2f}"
        rows.append(
            f"2023 01 01 {i:02d} 50 {200 + i}  {5 + i / 10:.1f}  {height}  14.{i % 10}  99.0 99.00"
        )
    table = read_table(csv(header + "\n".join(rows)), filename="41001h2023.txt")
    assert table.channels == ["WDIR", "WSPD", "WVHT", "WTMP"]
    assert table.units == ["degT", "m/s", "m", "degC"]
    stamps = pd.to_datetime(table.timestamps_ns)
    assert stamps[0] == pd.Timestamp("2023-01-01 00:50") and stamps[-1].hour == 23
    assert np.isnan(table.values[2, 5:7]).all() and table.missing_cells["WVHT"] == 2
    assert table.notes[0].startswith("times read from the columns '#YY', 'MM', 'DD', 'hh' and 'mm'")
    assert any(n.startswith("column(s) 'VIS', 'TIDE' left out") for n in table.notes)


def test_times_with_a_zone_abbreviation_read_at_its_offset() -> None:
    # A European logger across the spring change: CET, then CEST.
    data = csv(
        "timestamp,v\n2024-03-31 01:00:00 CET,1\n2024-03-31 01:30:00 CET,2\n"
        "2024-03-31 03:00:00 CEST,3\n2024-03-31 03:30:00 CEST,4"
    )
    table = read_table(data, filename="x.csv")
    assert pd.to_datetime(table.timestamps_ns).strftime("%H:%M").tolist() == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
    ]
    assert "timestamp column 'timestamp': times read with their zone abbreviations (CEST, CET)" in (
        table.notes
    )
    # The hour repeated in autumn is told apart by its abbreviation, whatever the rows' order.
    autumn = csv("time,v\n2024-10-27 02:30 CET,1\n2024-10-27 02:30 CEST,2\n2024-10-27 02:00Z,3")
    for zone in (None, "Europe/Berlin"):
        table = read_table(autumn, filename="x.csv", timezone=zone)
        assert pd.to_datetime(table.timestamps_ns).strftime("%H:%M").tolist() == [
            "00:30",
            "01:30",
            "02:00",
        ]
        assert table.values.tolist() == [[2.0, 1.0, 3.0]]
    # CST is US Central or China: read in the zone given, refused by line without one.
    central = csv("time,v\n2024-01-01 00:00 CST,1\n2024-07-01 00:00 CDT,2")
    with pytest.raises(InvalidInput) as err:
        read_table(central, filename="x.csv")
    assert err.value.field == "timestamp_column" and err.value.message == (
        "timestamp column 'time': 1 time(s) in CST, which names several zones (US Central -06:00 "
        "or China +08:00) at line 2 (first: '2024-01-01 00:00 CST'); give the zone they are in "
        "with timezone (--timezone America/Chicago)"
    )
    table = read_table(central, filename="x.csv", timezone="America/Chicago")
    assert pd.to_datetime(table.timestamps_ns).strftime("%m-%d %H:%M").tolist() == [
        "01-01 06:00",
        "07-01 05:00",
    ]
    summer = csv("time,v\n2024-07-01 00:00 CST,1\n2024-07-01 01:00 CST,2")
    with pytest.raises(InvalidInput, match=r"2 time\(s\) written in CST, which is not "):
        read_table(summer, filename="x.csv", timezone="America/Chicago")
    with pytest.raises(InvalidInput, match=r"in 'XYZ', a time zone abbreviation gapcast does"):
        read_table(csv("time,v\n2024-01-01 00:00 XYZ,1"), filename="x.csv")


def test_a_running_total_reads_as_its_increase_per_reading() -> None:
    # A meter's kWh register: read hourly, one reading missing, then the meter replaced.
    register = [1000.0, 1002.5, 1004.0, None, 1009.0, 1010.0, 3.0, 5.5, 7.0]
    rows = "".join(
        f"2024-01-01T{h:02d}:00Z,{'' if v is None else v},{h}\n" for h, v in enumerate(register)
    )
    data = csv("time,energy [kWh],temp\n" + rows)
    for name in ("energy", "energy [kWh]"):
        table = read_table(data, filename="x.csv", counter=[name])
        assert table.units == ["kWh", None]
        # None at the first reading and over the outage (03:00 missing: 02:00 to 04:00 is two
        # hours); from zero again after the meter restarted at 06:00.
        assert np.array_equal(
            table.values[0], [np.nan, 2.5, 1.5, np.nan, np.nan, 1.0, 3.0, 2.5, 1.5], equal_nan=True
        )
        assert table.values[1].tolist() == list(range(9))  # the other column as it is
        assert table.notes == [
            "'energy [kWh]' read as a running total: its increase per reading; 1 restart(s) of "
            "the count: the increase from zero; 1 increase(s) over an outage left missing"
        ]
        assert table.missing_cells["energy"] == 3
    with pytest.raises(InvalidInput) as err:
        read_table(data, filename="x.csv", counter=["power"])
    assert err.value.field == "counter" and err.value.message == (
        "counter: 'power' is not a value column; the file has energy [kWh], temp"
    )
    wave = "".join(f"2024-01-01T{h:02d}:00Z,{5 + np.sin(h):.3f}\n" for h in range(20))
    with pytest.raises(InvalidInput) as err:
        read_table(csv("time,v\n" + wave), filename="x.csv", counter=["v"])
    assert err.value.message == (
        "column 'v' is not a running total (counter): it falls without starting again from zero "
        "9 times, first at 2024-01-01T03:00:00Z"
    )


def test_a_running_total_not_read_as_one_is_said() -> None:
    """A kWh register imported as levels (it only climbs, but for the meter's restart): the
    import says it looks like a running total and names the option; read with it, or a column
    that ever falls, says nothing of the kind."""
    rng = np.random.default_rng(3)
    use = rng.uniform(0.0, 2.0, 96)
    use[::7] = 0.0  # hours without use: the register stands still
    register = 5000 + np.cumsum(use)
    register[60:] -= register[59] - 0.5  # the meter replaced: from zero again
    wave = 20 + np.sin(np.arange(96) / 4)
    rows = "".join(
        f"2024-01-{1 + h // 24:02d}T{h % 24:02d}:00Z,{r:.2f},{w:.3f}\n"
        for h, (r, w) in enumerate(zip(register, wave, strict=True))
    )
    data = csv("time,energy [kWh],temp\n" + rows)
    table = read_table(data, filename="x.csv")
    said = [n for n in table.notes if "running total" in n]
    assert len(said) == 1 and said[0].startswith(
        "'energy [kWh]' never falls over its 96 readings and rises at 8"
    ), table.notes
    # The option as each way in takes it; the name holds a space, so the CLI's is quoted.
    assert (
        "a running total (a meter's register)? Read as one (import with counter=['energy [kWh]']; "
        "the CLI's --counter 'energy [kWh]') it is the increase per reading" in said[0]
    )
    read = read_table(data, filename="x.csv", counter=["energy"])
    assert not [n for n in read.notes if "never falls" in n]


def test_readings_sent_on_change_only_are_noted_with_the_hold_option() -> None:
    """A thermostat that reports when the temperature moved 0.3 (Home Assistant's history, a
    SCADA deadband): irregular times, no reading equal to the one before. The import notes it
    and names resample's hold; a logger on a regular step, or readings that repeat, get no
    such note."""
    rng = np.random.default_rng(5)
    minutes = np.arange(60 * 24 * 7)
    level = 20 + 3 * np.sin(2 * np.pi * minutes / 1440) + rng.normal(0, 0.05, minutes.size)
    sent, last = [0], level[0]
    for i in range(1, minutes.size):
        if abs(level[i] - last) >= 0.3:
            sent.append(i)
            last = level[i]
    start = pd.Timestamp("2024-05-01T00:00Z")

    def table(minutes_values: list[tuple[int, str]]) -> bytes:
        lines = (
            f"{(start + pd.Timedelta(minutes=m)).isoformat()},{v}\n" for m, v in minutes_values
        )
        return csv("time,temp\n" + "".join(lines))

    reports = [(int(i), f"{level[i]:.1f}") for i in sent]
    rows = "".join(
        f"{(start + pd.Timedelta(minutes=int(i))).isoformat()},{level[i]:.1f}\n" for i in sent
    )
    said = [n for n in read_table(csv("time,temp\n" + rows), filename="x.csv").notes if "hold" in n]
    assert len(said) == 1 and said[0].startswith(
        "'temp' never repeats the reading before it, and its readings come at irregular times"
    ), said
    assert said[0].endswith(
        "the resample step's \"agg\": \"hold\" (the web page's 'Between readings': the last "
        "reading holds; gapcast train --set resample.agg=hold --set resample.max_hold=6h; "
        "docs/configuration.md)"
    )
    # Times with milliseconds (Home Assistant's) are said to the minute, not in nanoseconds.
    jittered = "".join(
        f"{(start + pd.Timedelta(minutes=int(i), milliseconds=int(i) % 997)).isoformat()},"
        f"{level[i]:.1f}\n"
        for i in sent
    )
    jitter_notes = read_table(csv("time,temp\n" + jittered), filename="x.csv").notes
    spread = [n for n in jitter_notes if "hold" in n]
    assert len(spread) == 1 and re.search(r"\(mostly \d+(min|h) to \d+(min|h) apart\)", spread[0])
    # Every 10 minutes, whatever the value did: a logger, not change reports.
    logged = "".join(
        f"{(start + pd.Timedelta(minutes=int(i))).isoformat()},{level[i]:.3f}\n"
        for i in minutes[::10]
    )
    logged_notes = read_table(csv("time,temp\n" + logged), filename="x.csv").notes
    assert not [n for n in logged_notes if "hold" in n]
    # On a grid with steps missing, the spacing varies as much, but each reading keeps the
    # grid's phase: a business day's sales (3 days over each weekend), a logger with 20% of its
    # steps missing, values that never repeat. Not change reports: holding them would fill
    # every weekend and outage with the reading before it.
    days = pd.bdate_range("2024-01-01", periods=300)
    sales = "".join(f"{d:%Y-%m-%d},{1000 + 7.31 * i % 113:.2f}\n" for i, d in enumerate(days))
    sales_notes = read_table(csv("date,sales\n" + sales), filename="x.csv").notes
    assert not [n for n in sales_notes if "hold" in n], sales_notes
    kept = minutes[::10][np.random.default_rng(1).random(minutes.size // 10) > 0.2]
    gappy = "".join(
        f"{(start + pd.Timedelta(minutes=int(i))).isoformat()},{level[i]:.6f}\n" for i in kept
    )
    gappy_notes = read_table(csv("time,temp\n" + gappy), filename="x.csv").notes
    assert not [n for n in gappy_notes if "hold" in n], gappy_notes
    # The same irregular times, but one reading repeats the one before: not change reports.
    repeated = [*reports[:5], (reports[5][0], reports[4][1]), *reports[6:]]
    assert not [n for n in read_table(table(repeated), filename="x.csv").notes if "hold" in n]
    assert [n for n in read_table(table(reports), filename="x.csv").notes if "hold" in n]


def test_what_looks_like_a_running_total() -> None:
    from gapcast.ingest.counters import looks_like_total

    climbing = np.cumsum(np.r_[np.ones(60), np.zeros(40)])  # rises at 59 of its 99 changes
    assert looks_like_total(climbing) == (100, pytest.approx(59 / 99))
    gappy = climbing.copy()
    gappy[10:20] = np.nan  # readings missing are skipped over, not a fall
    assert looks_like_total(gappy) == (90, pytest.approx(49 / 89))
    assert looks_like_total(climbing[:47]) is None  # too few readings to say
    falls = climbing.copy()
    falls[70] -= 0.5  # once below the reading before, and no restart from zero: a level
    assert looks_like_total(falls) is None
    steps = np.repeat([1.0, 2.0, 3.0], 40)  # a setting raised twice: rises at 2 of 119
    assert looks_like_total(steps) is None
    assert looks_like_total(climbing - 200) is None  # below zero: no register
    solar = np.maximum(np.sin(np.arange(200) / 24 * 2 * np.pi), 0)  # falls every evening
    assert looks_like_total(solar) is None


def test_midnight_written_as_the_date_alone_reads_as_midnight() -> None:
    # What spreadsheets export for a time of 0:00: the date without a time of day.
    sheet = csv("time,v\n1/15/2024,1\n1/15/2024 6:00,2\n1/16/2024,3\n1/16/2024 6:00,4\n")
    table = read_table(sheet, filename="x.csv")
    assert pd.to_datetime(table.timestamps_ns).strftime("%d %H:%M").tolist() == [
        "15 00:00",
        "15 06:00",
        "16 00:00",
        "16 06:00",
    ]
    assert table.notes == [
        "timestamp column 'time': times read as '%m/%d/%Y %H:%M' (midnight as the date alone, "
        "'%m/%d/%Y'), the one common format that reads them all"
    ]
    ambiguous = csv("time,v\n1/2/2024,1\n1/2/2024 6:00,2\n")
    with pytest.raises(InvalidInput, match=r"read as '%d/%m/%Y %H:%M' or as '%m/%d/%Y %H:%M'"):
        read_table(ambiguous, filename="x.csv")
    given = read_table(ambiguous, filename="x.csv", time_format="%d/%m/%Y %H:%M")
    assert pd.to_datetime(given.timestamps_ns).strftime("%m-%d %H:%M").tolist() == [
        "02-01 00:00",
        "02-01 06:00",
    ]
    assert given.notes == [
        "timestamp column 'time': 1 time(s) written as the date alone read as midnight ('%d/%m/%Y')"
    ]
    # A date alone beside times of day in another format: refused as before.
    with pytest.raises(InvalidInput, match=r"cannot parse 2 value\(s\) as ISO 8601"):
        read_table(csv("time,v\n1/15/2024,1\n15.01.2024 06:00,2\n"), filename="x.csv")


def test_a_logger_s_own_time_format_is_recognised_when_only_one_reads_it() -> None:
    # US 12-hour clock, as HOBO exports and Excel in the US write it.
    us = csv("time,v\n01/15/24 10:00:00 AM,1\n01/15/24 01:15:00 PM,2\n")
    table = read_table(us, filename="x.csv")
    assert pd.to_datetime(table.timestamps_ns).strftime("%Y-%m-%d %H:%M").tolist() == [
        "2024-01-15 10:00",
        "2024-01-15 13:15",
    ]
    assert table.notes == [
        "timestamp column 'time': times read as '%m/%d/%y %I:%M:%S %p', the one common format "
        "that reads them all"
    ]
    # Day-first, told by a day past the 12th in the file's head or tail.
    uk = csv("time,v\n01/02/2024 10:00,1\n" + "".join(f"{d}/02/2024 10:00,2\n" for d in (5, 28)))
    assert pd.to_datetime(read_table(uk, filename="x.csv").timestamps_ns[-1]).day == 28
    # No day past the 12th: day-first and month-first both read it, and neither is guessed.
    either = csv("time,v\n01/02/2024 10:00,1\n01/03/2024 10:00,2\n")
    with pytest.raises(InvalidInput) as err:
        read_table(either, filename="x.csv")
    assert err.value.field == "time_format" and err.value.message == (
        "timestamp column 'time': times such as '01/02/2024 10:00' read as '%d/%m/%Y %H:%M' or "
        "as '%m/%d/%Y %H:%M' (day and month both at most 12); give the one meant with "
        "time_format (--time-format '%d/%m/%Y %H:%M')"
    )
    table = read_table(either, filename="x.csv", time_format="%m/%d/%Y %H:%M")
    assert pd.to_datetime(table.timestamps_ns[-1]).month == 1
    # One bad time among ISO ones is that row's error, not a reason to look for a format.
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\) .* at line 3"):
        read_table(csv("time,v\n2024-01-01 10:00,1\n01/02/2024 10:00,2\n"), filename="x.csv")


def test_two_columns_of_one_name_are_refused_naming_them() -> None:
    rows = "".join(f"2024-01-01T0{h}:00Z,{h},{2 * h},\n" for h in range(3))
    message = "columns 2 and 3 of the header are both named 'temp': give them distinct names"
    with pytest.raises(InvalidInput, match=message):
        read_table(csv("time,temp,temp,\n" + rows), filename="x.csv")  # not 'temp.1'
    from openpyxl import Workbook

    book = Workbook()
    for row in (["time", "temp", "temp"], ["2024-01-01T00:00Z", 1, 2]):
        book.active.append(row)
    sheet = io.BytesIO()
    book.save(sheet)
    with pytest.raises(InvalidInput, match=message):
        read_table(sheet.getvalue(), filename="x.xlsx")
    # Nameless columns at the end of each line ('a,b,,') are no names at all.
    table = read_table(csv("time,temp,,\n" + rows.replace(",\n", ",,\n")), filename="x.csv")
    assert table.channels == ["temp", "Unnamed: 2"]


def test_an_excel_delimiter_line_is_skipped() -> None:
    text = "sep=;\ntime;v\n2024-01-01T00:00Z;1,5\n2024-01-01T01:00Z;2\nbad;3\n"
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\) as .* at line 5"):
        read_table(text.encode(), filename="x.csv", decimal=",")  # the file's own line numbers
    table = read_table(text.replace("bad;3\n", "").encode(), filename="x.csv", decimal=",")
    assert table.values[0].tolist() == [1.5, 2.0]
    assert table.notes == ["line 1 before the header skipped (first: 'sep=;')"]


def test_lines_after_the_table_are_skipped_and_named() -> None:
    rows = "time,v\n2024-01-01T00:00Z,1\n2024-01-01T01:00Z,2\n"
    # A report's total and average, a logger's sign-off (with a date in it): not readings.
    table = read_table(f"{rows}Total,3\nAverage,1.5\n".encode(), filename="x.csv")
    assert table.values.tolist() == [[1.0, 2.0]] and len(table.timestamps_ns) == 2
    assert table.notes == ["lines 4-5 after the table skipped: not readings (first: 'Total')"]
    signed = read_table(
        f"{rows}Exported by LoggerPro 3.1 on 2024-02-01\n".encode(), filename="x.csv"
    )
    assert signed.notes == [
        "line 4 after the table skipped: not a reading ('Exported by LoggerPro 3.1 on 2024-02-01')"
    ]
    # Epoch numbers above it, and a sheet's total row: the same.
    epoch = read_table(b"time,v\n1700000000,1\n1700000060,2\nTotal,3\n", filename="x.csv")
    assert epoch.timestamps_ns.tolist() == [1_700_000_000 * 10**9, 1_700_000_060 * 10**9]
    from openpyxl import Workbook

    book = Workbook()
    for row in (["Date", "Sales"], [dt.datetime(2024, 1, 1), 5], [dt.datetime(2024, 1, 2), 7]):
        book.active.append(row)
    book.active.append(["Total", 12])
    sheet = io.BytesIO()
    book.save(sheet)
    report = read_table(sheet.getvalue(), filename="x.xlsx")
    assert report.values.tolist() == [[5.0, 7.0]]
    assert report.notes == ["line 4 after the table skipped: not a reading ('Total')"]
    # A month's name reads as a time, so 'Jan ...' rows stay readings and only 'End' goes.
    named = read_table(b"time,v\nJan 1 2024 00:00,1\nJan 1 2024 01:00,2\nEnd\n", filename="x.csv")
    assert len(named.timestamps_ns) == 2 and named.notes[0].startswith("line 4 after the table")
    # Still refused by line: a mistyped last time (of digits or of words, with its reading),
    # words inside the table, a column of words, more lines of words than a footer holds.
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\) .* at line 4"):
        read_table(f"{rows}2024-13-45T02:00Z,3\n".encode(), filename="x.csv")
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\) .* at line 4"):
        read_table(f"{rows}not a date,3\n".encode(), filename="x.csv")
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\) .* at line 3"):
        read_table(
            rows.replace("2024-01-01T01:00Z", "Total").encode() + b"2024-01-01T02:00Z,3\n",
            filename="x.csv",
        )
    with pytest.raises(InvalidInput, match=r"cannot parse 2 value\(s\) .* at lines 2, 3"):
        read_table(b"time,v\nfoo,1\nbar,2\n", filename="x.csv")
    with pytest.raises(InvalidInput, match=r"cannot parse 6 value\(s\)"):
        read_table((rows + "".join(f"note {i},\n" for i in range(6))).encode(), filename="x.csv")


@pytest.mark.parametrize(
    ("header", "cells", "said", "first"),
    [
        ("quarter", ["2023Q4", "2024Q1", "2024q2"], "quarters", "2023-10-01"),
        ("Quarter", ["2023-Q4", "2024-Q1", "2024 Q2"], "quarters", "2023-10-01"),
        ("period", ["Q4 2023", "Q1/2024", "Q2-2024"], "quarters", "2023-10-01"),
        ("Month", ["Dec-2023", "Jan-2024", "February 2024"], "months", "2023-12-01"),
        ("Month", ["Dec-23", "Jan-24", "Feb-24"], "months", "2023-12-01"),  # Excel's mmm-yy
        ("Monat", ["Dez 23", "Jan 24", "Mrz 24"], "months", "2023-12-01"),  # German Excel's
        ("mois", ["déc. 2023", "janv. 2024", "févr. 2024"], "months", "2023-12-01"),
        ("date", ["12/2023", "01/2024", "2/2024"], "months", "2023-12-01"),
        ("period", ["2023M12", "2024M01", "2024M02"], "months", "2023-12-01"),
        ("week", ["2023-W52", "2024-W01", "2024W02"], "ISO weeks", "2023-12-25"),
        ("Woche", ["KW 52/2023", "KW 1/2024", "KW 02/2024"], "ISO weeks", "2023-12-25"),
        ("period", ["Week 52 2023", "W1 2024", "2024 CW2"], "ISO weeks", "2023-12-25"),
    ],
)
def test_rows_named_by_their_period_read_as_its_first_day(
    header: str, cells: list[str], said: str, first: str
) -> None:
    text = f"{header},sales\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))
    table = read_table(text.encode(), filename="x.csv")
    assert pd.to_datetime(table.timestamps_ns[0], utc=True) == pd.Timestamp(first, tz="UTC")
    assert table.channels == ["sales"]
    assert table.notes == [
        f"timestamp column {header!r}: {said} read as their first day ({cells[0]!r} is {first})"
    ]


def test_years_and_year_month_columns_read_as_periods() -> None:
    table = read_table(b"Year,co2\n1960,316.9\n1961,317.6\n1963,318.9\n", filename="x.csv")
    assert [str(t)[:10] for t in table.timestamps_ns.astype("datetime64[ns]")] == [
        "1960-01-01",
        "1961-01-01",
        "1963-01-01",
    ]
    assert table.notes == ["timestamp column 'Year': numbers read as years (1960 is 1960-01-01)"]
    parts = read_table(b"year,month,sales\n2023,12,5\n2024,1,6\n", filename="x.csv")
    assert parts.channels == ["sales"] and parts.timestamps_ns.tolist() == [
        pd.Timestamp("2023-12-01").value,
        pd.Timestamp("2024-01-01").value,
    ]
    # Numbers that are no years are not taken for them.
    with pytest.raises(InvalidInput, match="no timestamp column"):
        read_table(b"year,v\n0.5,1\n1.5,2\n", filename="x.csv")
    # Days written 'Jan-24, Jan-25, ...' without their year are not Excel's mmm-yy months: a
    # month name before two digits reads as a month only where the rows step by about a month.
    days = "".join(f"Jan-{d},{d}\n" for d in range(20, 32)) + "Feb-01,32\nFeb-02,33\n"
    with pytest.raises(InvalidInput, match=r"cannot parse 14 value\(s\)"):
        read_table(f"date,v\n{days}".encode(), filename="x.csv")
    # Periods of two kinds, or a month that does not exist, are refused by line as times are.
    with pytest.raises(InvalidInput, match=r"cannot parse 2 value\(s\)"):
        read_table(b"quarter,v\n2024Q1,1\n2024-01,2\n2024M03,3\n", filename="x.csv")
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\) .* at line 3"):
        read_table(b"date,v\nJan-2024,1\nFoo-2024,2\nMar-2024,3\n", filename="x.csv")


def test_amounts_formatted_as_money_read_as_numbers() -> None:
    text = 'date,revenue,profit\n2024-01-01,"$1,234.50",(500.00)\n2024-01-02,$900.00,250.00\n'
    table = read_table(f"{text}2024-01-03,-$5.00,\n".encode(), filename="x.csv")
    assert table.channels == ["revenue", "profit"] and table.units == ["$", None]
    np.testing.assert_array_equal(table.values[0], [1234.5, 900.0, -5.0])
    np.testing.assert_array_equal(table.values[1], [-500.0, 250.0, np.nan])
    assert table.notes == [
        "numbers with thousands separators read in 'revenue' ('$1,234.50')",
        "currencies written before each amount read as the columns' units ('revenue': '$')",
        "amounts in parentheses read as negative, as accounting formats write them, in "
        "'profit' ('(500.00)')",
    ]
    euros = read_table(
        b"date;cost (EUR)\n2024-01-01;-\xe2\x82\xac12,50\n2024-01-02;(\xe2\x82\xac1.000,00)\n",
        filename="x.csv",
        decimal=",",
    )
    np.testing.assert_array_equal(euros.values[0], [-12.5, -1000.0])
    assert euros.units == ["EUR"]  # the header's unit wins over the cells' currency
    # Two currencies in one column, or amounts without theirs: refused by line as before.
    for cells in ("$1.00\n2024-01-02,€2.00", "$1.00\n2024-01-02,2.00x"):
        with pytest.raises(InvalidInput, match=r"column 'v': .*non-numeric"):
            read_table(f"date,v\n2024-01-01,{cells}\n".encode(), filename="x.csv")


def test_typographic_minus_and_units_after_grouped_numbers() -> None:
    text = "time;temp;energy\n2024-01-01;\u22125,5;1.234,5 kWh\n2024-01-02;2,0;12,0 kWh\n"
    table = read_table(text.encode(), filename="x.csv", decimal=",")
    np.testing.assert_array_equal(table.values, [[-5.5, 2.0], [1234.5, 12.0]])
    assert table.units == [None, "kWh"]
    spaced = read_table(b"time,e\n2024-01-01,1 234.5 kWh\n", filename="x.csv")
    assert spaced.values.tolist() == [[1234.5]] and spaced.units == ["kWh"]


def test_a_series_per_row_and_a_time_per_column_read_as_series() -> None:
    # Sales by product and month, as a spreadsheet holds them, with a total column.
    text = (
        "Product,Jan-2024,Feb-2024,Mar-2024,Apr-2024,Total\n"
        "Widget A,10,12,,15,37\n"
        "Widget B,5,6,7,8,26\n"
    )
    table = read_table(text.encode(), filename="x.csv")
    assert table.channels == ["Widget A", "Widget B"]
    assert [str(t)[:10] for t in table.timestamps_ns.astype("datetime64[ns]")] == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
        "2024-04-01",
    ]
    np.testing.assert_array_equal(table.values, [[10, 12, np.nan, 15], [5, 6, 7, 8]])
    assert table.notes[0] == (
        "a series per row, named by 'Product' (2 of them), and a time per column (Jan-2024 to "
        "Apr-2024): each row read as a series; column(s) 'Total' left out"
    )
    # A refused cell names its row's line in the file.
    with pytest.raises(
        InvalidInput,
        match=r"column 'cells \(a series per row\)': 1 non-numeric value\(s\) at line 3",
    ):
        read_table(text.replace("5,6,7", "5,six,7").encode(), filename="x.csv")
    # Two label columns when one does not name each row once.
    regions = (
        "Product,Region,2024-01,2024-02,2024-03\nA,North,1,2,3\nA,South,4,5,6\nB,North,7,8,9\n"
    )
    table = read_table(regions.encode(), filename="x.csv")
    assert table.channels == ["A / North", "A / South", "B / North"]
    assert table.notes[0].startswith("a series per row, named by 'Product / Region' (3 of them)")
    # Dates as headers (an .xlsx's are datetimes) read the same.
    from openpyxl import Workbook

    book = Workbook()
    days = [dt.datetime(2024, 1, d) for d in (1, 2, 3)]
    for row in (["sensor", *days], ["s1", 1.5, 2.5, 3.5]):
        book.active.append(row)
    sheet = io.BytesIO()
    book.save(sheet)
    read = read_table(sheet.getvalue(), filename="x.xlsx")
    assert read.channels == ["s1"] and read.values.tolist() == [[1.5, 2.5, 3.5]]
    # Not that shape: a load profile's times of day, a time column with value columns named
    # like dates alongside too few of them.
    assert read_table(b"time,2024,v\n2024-01-01,1,2\n", filename="x.csv").channels == ["2024", "v"]


def test_json_records_columns_and_lines_read_as_a_table() -> None:
    import json

    records = [
        {"time": "2024-01-01T00:00Z", "temp": 1.5, "hum": None},
        {"time": "2024-01-01T01:00Z", "temp": 2.5, "hum": 50},
    ]
    shapes = {
        "records": json.dumps(records),
        "under a key": json.dumps({"data": records}),
        "columns": json.dumps({k: [r[k] for r in records] for k in records[0]}),
        "lines": "\n".join(json.dumps(r) for r in records) + "\n",
    }
    for shape, text in shapes.items():
        table = read_table(text.encode(), filename=f"x.{'jsonl' if shape == 'lines' else 'json'}")
        assert table.channels == ["temp", "hum"], shape
        np.testing.assert_array_equal(table.values, [[1.5, 2.5], [np.nan, 50.0]])
        assert table.timestamps_ns[1] - table.timestamps_ns[0] == 3_600 * 10**9
    # An API's answer: the array of records beside what describes it (paging, metadata).
    page = {"count": 2, "next": None, "meta": {"station": "X1"}, "results": records}
    table = read_table(json.dumps(page).encode(), filename="x.json")
    assert table.channels == ["temp", "hum"] and table.values[0].tolist() == [1.5, 2.5]
    assert table.notes == [
        "records read from 'results', the document's one array of records ('count', 'next', "
        "'meta' left out)"
    ]
    # Two arrays of records: which one is not guessed.
    with pytest.raises(InvalidInput, match="field 'a' is an object; gapcast reads flat records"):
        read_table(json.dumps({"a": records, "b": records}).encode(), filename="x.json")
    # Epoch milliseconds, as APIs write them.
    ms = read_table(
        b'[{"ts": 1700000000000, "v": 1}, {"ts": 1700000060000, "v": 2}]', filename="x.json"
    )
    assert ms.timestamps_ns.tolist() == [1_700_000_000 * 10**9, 1_700_000_060 * 10**9]
    # Refusals name the record, or what is wrong with the document.
    bad = [{"time": "2024-01-01T00:00Z", "temp": 1}, {"time": "2024-01-01T01:00Z", "temp": "x"}]
    with pytest.raises(InvalidInput, match=r"column 'temp': 1 non-numeric value\(s\) at record 2"):
        read_table(json.dumps(bad).encode(), filename="x.json")
    with pytest.raises(InvalidInput, match="record 1: field 'temp' is an object"):
        read_table(b'[{"time": "2024-01-01", "temp": {"v": 1}}]', filename="x.json")
    with pytest.raises(InvalidInput, match=r"not valid JSON: .* at line 1"):
        read_table(b'[{"time": "2024-01-01", ', filename="x.json")
    with pytest.raises(InvalidInput, match="record 2 is an int"):
        read_table(b'[{"time": "2024-01-01", "v": 1}, 5]', filename="x.json")
    with pytest.raises(InvalidInput, match=r"columns differ in length \('time' 2, 'v' 1\)"):
        read_table(b'{"time": ["2024-01-01", "2024-01-02"], "v": [1]}', filename="x.json")
    with pytest.raises(InvalidInput, match="line 2 is not valid JSON"):
        read_table(b'{"time": "2024-01-01", "v": 1}\n{oops\n', filename="x.jsonl")


def test_a_prometheus_range_query_reads_a_column_per_series() -> None:
    """What `curl .../api/v1/query_range` saves: a series per instance, values as text and times
    as epoch seconds. Each series is a column named by what tells it apart; 'NaN' and a time
    one series lacks are missing readings; a counter gets the running-total note."""
    import json

    t0 = 1_717_200_000

    def answer(result: list[dict[str, object]], kind: str = "matrix") -> bytes:
        doc = {"status": "success", "data": {"resultType": kind, "result": result}}
        return json.dumps(doc).encode()

    def series(instance: str, values: list[tuple[int, str]]) -> dict[str, object]:
        labels = {"__name__": "requests_total", "instance": instance, "job": "api"}
        return {"metric": labels, "values": [[t0 + 60 * i, v] for i, v in values]}

    a = [(i, str(100 + 3 * i)) for i in range(60)]
    b = [(i, "NaN" if i == 5 else str(50 + 2 * i)) for i in range(60) if i != 30]
    table = read_table(answer([series("a:9100", a), series("b:9100", b)]), filename="q.json")
    assert table.channels == ["requests_total instance=a:9100", "requests_total instance=b:9100"]
    assert table.timestamps_ns[0] == t0 * 10**9 and table.timestamps_ns.size == 60
    assert table.values[0, 59] == 277.0
    assert np.isnan(table.values[1, [5, 30]]).all() and table.values[1, 6] == 62.0
    assert table.notes[0] == (
        "read as a Prometheus range query: 2 series (requests_total instance=a:9100, "
        "requests_total instance=b:9100)"
    )
    assert any("--counter 'requests_total instance=a:9100'" in n for n in table.notes)
    counted = read_table(
        answer([series("a:9100", a)]), filename="q.json", counter=["requests_total"]
    )
    assert counted.channels == ["requests_total"] and counted.values[0, 1] == 3.0
    # An instant query, an error answer: named, with what to export instead.
    instant = [{"metric": {"__name__": "up"}, "value": [t0, "1"]}]
    with pytest.raises(InvalidInput, match=r"'vector' result .* \(/api/v1/query_range"):
        read_table(answer(instant, "vector"), filename="q.json")
    error = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
    with pytest.raises(InvalidInput, match=r"is an error \(bad_data: parse error at char 5\)"):
        read_table(json.dumps(error).encode(), filename="q.json")
    with pytest.raises(InvalidInput, match=r"expected \[time, value\] pairs"):
        read_table(answer([{"metric": {}, "values": [[t0]]}]), filename="q.json")


def test_prometheus_series_are_named_by_what_tells_them_apart() -> None:
    from gapcast.ingest.prometheus import series_names

    two_labels = [
        {"__name__": "up", "instance": "a", "job": "x", "env": "prod"},
        {"__name__": "up", "instance": "b", "job": "y", "env": "prod"},
    ]
    assert series_names(two_labels) == ["up instance=a job=x", "up instance=b job=y"]
    # An expression's result has no metric name; one with no labels either is its value.
    assert series_names([{"instance": "a"}, {"instance": "b"}]) == ["instance=a", "instance=b"]
    assert series_names([{}]) == ["value"]
    assert series_names([{"__name__": "up"}, {"__name__": "up"}]) == ["up", "up (2)"]


def _flux_table(rows: list[tuple[str, str, str, str]], measurement: str = "room") -> str:
    """An annotated CSV table as InfluxDB writes it (CRLF, a blank first column)."""
    head = (
        "#group,false,false,true,true,false,false,true,true,true\r\n"
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,"
        "string,string,string\r\n"
        "#default,_result,,,,,,,,\r\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,room\r\n"
    )
    lines = [
        f",,{t},2024-06-01T00:00:00Z,2024-06-02T00:00:00Z,{when},{value},{field},{measurement},"
        f"{room}\r\n"
        for t, (when, value, field, room) in enumerate(rows)
    ]
    return head + "".join(lines)


def test_an_influxdb_annotated_csv_reads_a_column_per_series() -> None:
    """A Flux query's CSV: a row per time and field, a table per series, tables of another
    shape after a blank line. Each series is a column named by its field and the tags that tell
    it apart; a refusal names the file's line."""
    hours = [f"2024-06-01T{h:02d}:00:00Z" for h in range(4)]
    temps = [
        (w, f"{20 + i}.5", "temp", r) for r in ("kitchen", "hall") for i, w in enumerate(hours)
    ]
    hums = [(w, "" if i == 2 else f"{50 + i}", "hum", "kitchen") for i, w in enumerate(hours)]
    text = _flux_table(temps + hums) + "\r\n" + _flux_table(hums[:1])
    table = read_table(text.encode(), filename="query.csv")
    assert table.channels == ["temp room=kitchen", "temp room=hall", "hum room=kitchen"]
    np.testing.assert_array_equal(
        table.values, [[20.5, 21.5, 22.5, 23.5], [20.5, 21.5, 22.5, 23.5], [50, 51, np.nan, 53]]
    )
    assert table.timestamps_ns[0] == pd.Timestamp("2024-06-01T00:00Z").value
    assert table.notes[0] == (
        "read as InfluxDB annotated CSV: 3 series (temp room=kitchen, temp room=hall, hum "
        "room=kitchen)"
    )
    # A bad reading is named by its line in the file (the 4 annotation and header lines first).
    broken = _flux_table([(hours[0], "20.5", "temp", "x"), (hours[1], "oops", "temp", "x")])
    with pytest.raises(InvalidInput, match=r"column 'temp': 1 non-numeric value\(s\) at line 6"):
        read_table(broken.encode(), filename="query.csv")
    clash = _flux_table([(hours[0], "20.5", "temp", "x"), (hours[0], "21", "temp", "x")])
    with pytest.raises(InvalidInput, match=r"line 6: 'temp' has two values at 2024-06-01T00:00"):
        read_table(clash.encode(), filename="query.csv")
    # Its points (readings, the empty one not) count against the limit as any file's do.
    with pytest.raises(TooLarge, match="the file holds 11 points, over the limit of 10"):
        read_table(text.encode(), filename="query.csv", max_points=10)
    pivoted = _flux_table([(hours[0], "1", "temp", "x")]).replace("_value", "temp_value")
    with pytest.raises(InvalidInput, match=r"line 4: an InfluxDB table without _value"):
        read_table(pivoted.encode(), filename="query.csv")


def test_logger_preambles_row_numbers_and_header_offsets() -> None:
    # Campbell Scientific TOA5: station facts, header, units, processing; NAN for no reading.
    toa5 = (
        '"TOA5","Station7","CR1000","1234","CR1000.Std.32","CPU:met.CR1","1234","Hourly"\n'
        '"TIMESTAMP","RECORD","AirTC_Avg","RH"\n"TS","RN","Deg C","%"\n"","","Avg","Smp"\n'
        + "".join(
            f'"2024-01-01 {h:02d}:00:00",{h},{"NAN" if h == 3 else 1 + h / 10},{80 + h}\n'
            for h in range(1, 6)
        )
    )
    table = read_table(toa5.encode(), filename="CR1000_Hourly.dat")
    assert table.channels == ["AirTC_Avg", "RH"] and table.units == ["Deg C", "%"]
    assert np.isnan(table.values[0, 2]) and table.values[1].tolist() == [81, 82, 83, 84, 85]
    assert table.notes[0] == (
        "a Campbell Scientific TOA5 file of station 'Station7' (CR1000): its header on line 2, "
        "units on line 3; lines 1 and 4 (how each value was processed) skipped"
    )
    assert table.notes[1].startswith("line 3 read as the columns' units")
    assert table.notes[2] == (
        "column(s) 'RECORD' left out: they number the rows (--columns imports them)"
    )
    # Errors name the file's lines past the skipped ones.
    with pytest.raises(InvalidInput, match=r"column 'RH': 1 non-numeric value\(s\) at line 7"):
        read_table(toa5.replace(",83\n", ",x\n").encode(), filename="x.dat")
    assert read_table(toa5.encode(), filename="x.dat", columns=["RECORD", "RH"]).channels == [
        "RECORD",
        "RH",
    ]
    # HOBO: a title line, a row number '#', units and serials in the headers, the offset of the
    # times in the time column's header.
    hobo = (
        '"Plot Title: 20479616"\n'
        '"#","Date Time, GMT-05:00","Temp, °F (LGR S/N: 20479616, SEN S/N: 20479616)"\n'
        "1,01/15/24 10:00:00 AM,68.2\n2,01/15/24 10:15:00 AM,68.4\n3,01/15/24 10:30:00 AM,68.5\n"
    )
    table = read_table(hobo.encode(), filename="hobo.csv")
    assert table.channels == ["Temp"] and table.units == ["°F"]
    assert pd.to_datetime(table.timestamps_ns[0]) == pd.Timestamp("2024-01-15 15:00")
    assert table.notes[:3] == [
        "line 1 before the header skipped (first: '\"Plot Title: 20479616\"')",
        "column(s) '#' left out: they number the rows (--columns imports them)",
        "times read at UTC-05:00, as the time column's header says",
    ]
    # Blank lines above the header are skipped without a word, and the lines keep their numbers.
    with pytest.raises(InvalidInput, match=r"column 'v': 1 non-numeric value\(s\) at line 5"):
        read_table(b"\n\ntimestamp,v\n2024-01-01,1\n2024-01-02,x\n", filename="x.csv")
    # A number column that does not count on by one is a reading like any other.
    counted = csv("time,no,v\n2024-01-01,5,1\n2024-01-02,3,2\n2024-01-03,9,3\n")
    assert read_table(counted, filename="x.csv").channels == ["no", "v"]


def _load_profile(days: list[tuple[str, list[str]]]) -> bytes:
    """A utility's load profile: a day per row, 96 quarter hours labelled by their end."""
    header = ";".join(f"{q * 15 // 60:02d}:{q * 15 % 60:02d}" for q in range(1, 97))
    rows = "".join(f"{day};{';'.join(cells)};999,9\n" for day, cells in days)
    return f"Datum;{header};Summe\n{rows}".encode()


def test_a_day_per_row_and_a_column_per_time_of_day_read_as_one_series() -> None:
    plain = [f"{q},5" for q in range(96)]
    spring = [*plain[:8], "", "", "", "", *plain[12:]]  # 02:15-03:00: the hour that never was
    data = _load_profile([("30.03.2024", plain), ("31.03.2024", spring)])
    table = read_table(data, filename="lastgang.csv", decimal=",", timezone="Europe/Berlin")
    assert table.channels == ["value"] and table.values.shape == (1, 96 + 92)
    stamps = pd.to_datetime(table.timestamps_ns)
    # 00:15 in Berlin on the 30th is 23:15 UTC on the 29th; '24:00' the next midnight.
    assert stamps[0] == pd.Timestamp("2024-03-29 23:15") and table.values[0, 0] == 0.5
    assert stamps[95] == pd.Timestamp("2024-03-30 23:00")
    # On the 31st, '02:00' (the interval ending as the clocks jump) is 01:00 UTC, the next 03:15.
    assert stamps[96 + 7] == pd.Timestamp("2024-03-31 01:00")
    assert stamps[96 + 8] == pd.Timestamp("2024-03-31 01:15")
    assert (
        "a day per row and 96 columns of times of day (00:15 to 24:00): read as one series "
        "'value', each cell at its day and the time its column names; column(s) 'Summe' left out"
    ) in table.notes
    # The day the clocks go back: each time of day is written once, read as the first of two.
    autumn = read_table(
        _load_profile([("27.10.2024", plain)]),
        filename="x.csv",
        decimal=",",
        timezone="Europe/Berlin",
    )
    assert pd.to_datetime(autumn.timestamps_ns[8]) == pd.Timestamp("2024-10-27 00:15")  # 02:15
    # US grid operators' hour-ending tables.
    he = "Date," + ",".join(f"HE{h}" for h in range(1, 25)) + "\n"
    he += "2024-07-01," + ",".join(str(100 + h) for h in range(24)) + "\n"
    table = read_table(he.encode(), filename="load.csv")
    stamps = pd.to_datetime(table.timestamps_ns)
    assert stamps[0] == pd.Timestamp("2024-07-01 01:00") and stamps[-1] == pd.Timestamp(
        "2024-07-02 00:00"
    )
    # A file of readings whose columns happen to be few times of day is not this shape.
    few = csv("time,08:00,20:00\n2024-01-01,1,2\n")
    assert read_table(few, filename="x.csv").channels == ["08:00", "20:00"]


def test_a_reading_at_the_instant_the_clocks_jump_is_that_instant() -> None:
    data = csv("time,v\n2024-03-31 01:45,1\n2024-03-31 02:00,2\n2024-03-31 03:15,3\n")
    table = read_table(data, filename="x.csv", timezone="Europe/Berlin")
    assert pd.to_datetime(table.timestamps_ns).strftime("%H:%M").tolist() == [
        "00:45",
        "01:00",
        "01:15",
    ]
    with pytest.raises(InvalidInput, match=r"1 time\(s\) that do not exist .* at line 2"):
        read_table(csv("time,v\n2024-03-31 02:15,1\n"), filename="x.csv", timezone="Europe/Berlin")


def test_the_zone_is_remembered_only_when_it_read_a_time() -> None:
    naive = csv("time,v\n2024-01-15 00:00,1\n2024-01-15 01:00,2\n")
    assert read_table(naive, filename="x.csv", timezone="Europe/Berlin").timezone == "Europe/Berlin"
    assert read_table(naive, filename="x.csv").timezone is None
    offsets = csv("time,v\n2024-01-15T00:00+01:00,1\n2024-01-15T01:00+01:00,2\n")
    assert read_table(offsets, filename="x.csv", timezone="Europe/Berlin").timezone is None
    german = csv("Zeit;v\n15.01.2024 00:00;1\n15.01.2024 01:00;2\n")
    table = read_table(german, filename="x.csv", time_format="%d.%m.%Y %H:%M", timezone="UTC")
    assert table.timezone == "UTC"


def test_a_time_written_24_00_is_the_next_day_s_midnight() -> None:
    german = csv("Zeit;v\n31.12.2024 23:00;1\n31.12.2024 24:00;2\n01.01.2025 01:00;3\n")
    for options in ({}, {"time_format": "%d.%m.%Y %H:%M"}):
        table = read_table(german, filename="x.csv", **options)  # type: ignore[arg-type]
        assert pd.to_datetime(table.timestamps_ns).strftime("%d.%m. %H:%M").tolist() == [
            "31.12. 23:00",
            "01.01. 00:00",
            "01.01. 01:00",
        ]
        assert (
            "timestamp column 'Zeit': 1 time(s) written 24:00 read as the next day's 00:00"
            in table.notes
        )
    iso = read_table(csv("time,v\n2024-02-28T24:00:00Z,1\n"), filename="x.csv")
    assert pd.to_datetime(iso.timestamps_ns[0]) == pd.Timestamp("2024-02-29 00:00")
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\).*'2024-12-31 24:15'"):
        read_table(csv("time,v\n2024-12-31 24:15,1\n"), filename="x.csv")


def test_a_unit_after_every_number_is_the_column_s_unit() -> None:
    data = csv("time,temp,hum\n2024-01-01,21.5 °C,45 %\n2024-01-02,-2 °C,\n")
    table = read_table(data, filename="x.csv")
    assert table.units == ["°C", "%"] and table.values.tolist()[0] == [21.5, -2.0]
    assert np.isnan(table.values[1, 1])
    assert table.notes == [
        "units written after each number read as the columns' units ('temp': '°C', 'hum': '%')"
    ]
    with pytest.raises(InvalidInput, match=r"column 'v \[K\]': its header says 'K', its cells"):
        read_table(csv("time,v [K]\n2024-01-01,21 °C\n"), filename="x.csv")
    # Two units, or a word after the number: not a unit, refused by line as before.
    with pytest.raises(InvalidInput, match=r"2 non-numeric value\(s\) at lines 2, 3"):
        read_table(csv("time,v\n2024-01-01,21.5 °C\n2024-01-02,70 °F\n"), filename="x.csv")
    with pytest.raises(InvalidInput, match=r"non-numeric value\(s\) at lines 2, 3"):
        read_table(csv("time,v\n2024-01-01,3 pending\n2024-01-02,4 pending\n"), filename="x.csv")
    # A control character is a broken cell or header, never a unit (PostgreSQL stores no NUL).
    with pytest.raises(InvalidInput, match=r"1 non-numeric value\(s\) at line 2"):
        read_table(b"time,v\n2024-01-01,1\x00\n", filename="x.csv")
    with pytest.raises(InvalidInput, match=r"contains control characters"):
        read_table(b'time,"v, \x00"\n2024-01-01,1\n', filename="x.csv")


@pytest.mark.parametrize("zone", ["Berlin", "Europe/../../etc/passwd", "x" * 5000])
def test_a_timezone_that_is_no_iana_name_is_refused_by_name(zone: str) -> None:
    with pytest.raises(InvalidInput, match=r"is not an IANA time zone") as err:
        read_table(csv("time,v\n2024-01-01,1\n"), filename="x.csv", timezone=zone)
    assert err.value.field == "timezone" and len(err.value.message) < 300


def test_unknown_timestamp_column() -> None:
    with pytest.raises(InvalidInput, match=r"timestamp column 'stamp' not found"):
        read_table(csv("when,v\n2024-01-01,1"), filename="x.csv", timestamp_column="stamp")


def test_unparseable_timestamps_name_the_lines() -> None:
    data = csv("timestamp,v\n2024-01-01,1\nyesterday,2\n2024-01-03,3\nsoon,4")
    with pytest.raises(
        InvalidInput, match=r"cannot parse 2 value\(s\).*lines 3, 5 \(first: 'yesterday'\)"
    ):
        read_table(data, filename="x.csv")


def test_non_numeric_values_name_column_and_lines() -> None:
    data = csv("timestamp,a,b\n2024-01-01,1,x\n2024-01-02,2,3\n2024-01-03,3,n/a?")
    with pytest.raises(
        InvalidInput, match=r"column 'b': 2 non-numeric value\(s\) at lines 2, 4"
    ) as err:
        read_table(data, filename="x.csv")
    assert err.value.field == "columns.b"


def test_missing_value_markers_of_common_exports_are_empty_cells() -> None:
    # pandas.read_csv's defaults: Excel's #N/A, R's NA, a database's NULL, ...
    markers = ["#N/A", "N/A", "NA", "NULL", "null", "None", "nan", "<NA>", "n/a", ""]
    rows = "".join(f"2024-01-{i + 1:02d},{m}\n" for i, m in enumerate(markers))
    table = read_table(csv(f"timestamp,v\n{rows}2024-01-31,7"), filename="x.csv")
    assert np.isnan(table.values[0, :-1]).all() and table.values[0, -1] == 7.0
    assert table.missing_cells == {"v": len(markers)}
    # A dash is not one of them: refused by line rather than silently read as missing.
    with pytest.raises(InvalidInput, match=r"line 3 \(first: '-'\)"):
        read_table(csv("timestamp,v\n2024-01-01,1\n2024-01-02,-"), filename="x.csv")


def test_thousands_separators_are_read_where_they_cannot_be_a_decimal_mark() -> None:
    def values(text: str, decimal: DecimalMark = ".") -> tuple[list[float], list[str]]:
        table = read_table(csv("timestamp;v\n" + text), filename="x.csv", decimal=decimal)
        return table.values[0].tolist(), table.notes

    # Excel's US export: a comma beside a decimal point, a plain number in the same column.
    assert values("2024-01-01;12,345.6\n2024-01-02;1,234\n2024-01-03;999.5") == (
        [12345.6, 1234.0, 999.5],
        ["numbers with thousands separators read in 'v' ('12,345.6')"],
    )
    assert values("2024-01-01;1,234,567\n2024-01-02;7")[0] == [1234567.0, 7.0]
    assert values("2024-01-01;1.234,5\n2024-01-02;2,5", decimal=",")[0] == [1234.5, 2.5]
    assert values("2024-01-01;12'345.6\n2024-01-02;7")[0] == [12345.6, 7.0]  # Swiss
    assert values("2024-01-01;1\u202f234,5", decimal=",")[0] == [1234.5]  # French (narrow space)
    # '1,234' alone is a thousand and some, or one and a bit written with a decimal comma.
    with pytest.raises(InvalidInput, match=r"'1,234'\); 1,234 reads as a thousand and some or"):
        values("2024-01-01;1,234\n2024-01-02;2,500")
    # Two separators in one column, or groups not of three: refused by line.
    with pytest.raises(InvalidInput, match=r"at lines 2, 3 .*every number grouped by threes"):
        values("2024-01-01;1,234.5\n2024-01-02;1'234.5")
    with pytest.raises(InvalidInput, match=r"at line 2 \(first: '12,34.5'\)"):
        values("2024-01-01;12,34.5")


def test_rows_wider_than_the_header_are_refused_not_shifted() -> None:
    # Unquoted, 12,345.6 is two fields on every row: pandas alone would make the time column an
    # index and read 12 as the time and 345.6 as the value.
    with pytest.raises(
        InvalidInput,
        match=r"2 row\(s\) have more fields than the header's 2 at "
        r"lines 2, 3 \(first: '2024-01-01,12,345.6'\)",
    ) as info:
        read_table(csv("timestamp,v\n2024-01-01,12,345.6\n2024-01-02,13,000.1\n"), filename="x.csv")
    assert info.value.field == "file"
    # A delimiter at the end of every line (empty extra fields) loses nothing.
    table = read_table(csv("timestamp,v,\n2024-01-01,12,\n2024-01-02,13,\n"), filename="x.csv")
    assert table.values.tolist() == [[12.0, 13.0]] and table.channels == ["v"]
    # Nor do blank, nameless spreadsheet columns, trailing or between the series.
    table = read_table(
        csv("timestamp,v,,w,,\n2024-01-01,12,,1,,\n2024-01-02,13,,2,,\n"), filename="x.csv"
    )
    assert table.values.tolist() == [[12.0, 13.0], [1.0, 2.0]] and table.channels == ["v", "w"]


def test_every_value_column_with_a_problem_is_named_in_one_refusal() -> None:
    """A logger export with decimal commas in one column and status flags in another: one try
    names both fixes, the first column's field leading, each column's in the details. (Commas
    separate its fields, so its quoted decimal commas are not taken as shown: a ';'-separated
    file's are, test_a_semicolon_file_with_decimal_commas_reads_without_asking.)"""
    data = csv('time,temp,status\n2024-01-01,"1,5",OK\n2024-01-02,"1,7",E42')
    with pytest.raises(InvalidInput) as info:
        read_table(data, filename="x.csv")
    message = info.value.message
    assert message.startswith("column 'temp': 2 non-numeric value(s)")
    assert "(--decimal ,); also column 'status': 2 non-numeric value(s)" in message
    assert "a column of text can be left out by naming the columns to import" in message
    assert info.value.field == "columns.temp"
    assert [c["field"] for c in info.value.details["columns"]] == ["columns.temp", "columns.status"]
    assert info.value.details["columns"][1]["rows"] == [2, 3]
    # Fixed both ways at once, the file reads.
    table = read_table(data, filename="x.csv", decimal=",", columns=["temp"])
    assert table.values.tolist() == [[1.5, 1.7]]
    # One column's problem alone is refused as before, without details.
    with pytest.raises(InvalidInput, match=r"^column 'status'") as one:
        read_table(data, filename="x.csv", decimal=",")
    assert "columns" not in one.value.details


def test_a_long_format_file_is_told_to_name_its_series_column() -> None:
    rows = "".join(f"2024-01-0{d},{s},{d + k}\n" for d in (1, 2, 3) for k, s in enumerate("ab"))
    with pytest.raises(InvalidInput, match="a long-format file") as info:
        read_table(csv("time,sensor,value\n" + rows), filename="x.csv")
    assert "column 'sensor' names 2 series ('a', 'b')" in info.value.message
    assert "series_column (--series-column 'sensor')" in info.value.message
    assert info.value.field == "series_column"
    # Numbered series clash as repeated times: merging them is not offered alone.
    rows = "".join(f"2024-01-0{d},{k + 1},{d + k}.5\n" for d in (1, 2, 3) for k in range(2))
    with pytest.raises(InvalidInput, match="--on-duplicate mean") as info:
        read_table(csv("time,sensor,value\n" + rows), filename="x.csv")
    assert "or, if 'sensor' names the series (a long-format file" in info.value.message
    assert "series_column (--series-column 'sensor')" in info.value.message


def test_a_status_column_beside_the_hour_the_clocks_go_back_is_not_a_series_column() -> None:
    """Times that repeat because summer time ended, beside a status column (OK, now and then
    ERR): the column does not name series (its value repeats with the time), so the refusal
    names the repeated hour and the zone; the status column, words only, is left out."""
    times = [f"2025-10-26 0{h}:{m}0" for h in (0, 1, 2) for m in range(6)]
    times += [f"2025-10-26 02:{m}0" for m in range(6)] + ["2025-10-26 03:00"]
    rows = "".join(f"{t},{20 + i % 7},{'ERR' if i == 4 else 'OK'}\n" for i, t in enumerate(times))
    with pytest.raises(InvalidInput) as info:
        read_table(csv("time,power,status\n" + rows), filename="x.csv")
    assert "the hour clocks repeat when summer time ends" in info.value.message
    assert "--timezone" in info.value.message and "'status'" not in info.value.message
    table = read_table(
        csv("time,power,status\n" + rows), filename="x.csv", timezone="Europe/Berlin"
    )
    assert table.channels == ["power"] and table.timestamps_ns.size == len(times)


def test_a_switch_s_two_states_read_as_one_and_zero() -> None:
    """A pump logged 'on'/'off' (a JSON export's true/false) is a reading a model can use: 1
    and 0, with a note naming the words; a third word ('auto') makes it a column of words."""
    rows = "".join(
        f"2025-01-01T0{h}:00Z,{20 + h / 10},{('ON', 'off', '')[h % 3]}\n" for h in range(6)
    )
    table = read_table(csv("time,temp,pump\n" + rows), filename="x.csv")
    assert table.channels == ["temp", "pump"]
    assert table.values[1].tolist()[:2] == [1.0, 0.0] and np.isnan(table.values[1][2])
    assert "a switch's two states read as 1 and 0 in 'pump' ('ON' 1, 'off' 0)" in table.notes
    records = [
        {"time": f"2025-01-01T0{h}:00:00Z", "temp": 20.5, "open": h % 2 == 0} for h in range(4)
    ]
    table = read_table(json.dumps(records).encode(), filename="x.json")
    assert table.values[1].tolist() == [1.0, 0.0, 1.0, 0.0]
    three = read_table(csv("time,temp,pump\n" + rows.replace(",off", ",auto")), filename="x.csv")
    assert three.channels == ["temp"]


def test_a_column_of_words_is_left_out_and_one_with_codes_refused() -> None:
    """A logger's status column beside its readings ('OK', 'CHECK': no digit in any cell) is
    left out with a note, as an empty column is: it holds no reading to forecast. A column
    with a digit among its words ('E42') may be readings in a format not understood: refused,
    naming the cells and the way to leave it out. Named to import, a column of words is refused
    too: the user asked for it."""
    data = csv("time,temp,status,hum\n2024-01-01,1.5,OK,40\n2024-01-02,1.7,CHECK,41")
    table = read_table(data, filename="x.csv")
    assert table.channels == ["temp", "hum"]
    assert "column(s) of words, not readings, left out: 'status' ('OK', 'CHECK')" in table.notes
    with pytest.raises(InvalidInput, match="column 'status': 2 non-numeric") as info:
        read_table(data, filename="x.csv", columns=["temp", "status"])
    coded = csv("time,temp,status\n2024-01-01,1.5,OK\n2024-01-02,1.7,E42")
    with pytest.raises(InvalidInput, match="column 'status': 2 non-numeric") as info:
        read_table(coded, filename="x.csv")
    assert "a column of text can be left out by naming the columns to import" in str(info.value)
    with pytest.raises(InvalidInput, match="no column holds readings: 'status' hold"):
        read_table(csv("time,status\n2024-01-01,OK\n2024-01-02,CHECK"), filename="x.csv")
    table = read_table(data, filename="x.csv", columns=["hum", "temp"])
    assert table.channels == ["temp", "hum"]  # the file's order
    assert table.values.tolist() == [[1.5, 1.7], [40.0, 41.0]]
    with pytest.raises(
        InvalidInput, match="columns: 'tmp' not in the file; it has columns: "
    ) as info:
        read_table(data, filename="x.csv", columns=["tmp"])
    assert info.value.field == "columns"
    with pytest.raises(InvalidInput, match="'time' is the time column"):
        read_table(data, filename="x.csv", columns=["time", "temp"])
    # A column is also named as gapcast names its series: the header without its unit.
    units = csv("time,power [kW],temp (°C),temp (°F)\n2024-01-01,1.5,2,35.6\n2024-01-02,1.7,3,37.4")
    table = read_table(units, filename="x.csv", columns=["power", "temp (°F)"])
    assert table.channels == ["power", "temp"] and table.values.tolist() == [
        [1.5, 1.7],
        [35.6, 37.4],
    ]
    with pytest.raises(InvalidInput, match=r"'temp' names 2 columns of the file, 'temp \(°C\)'"):
        read_table(units, filename="x.csv", columns=["temp"])
    # A bad reading among numbers is not told to leave its column out.
    with pytest.raises(InvalidInput, match=r"first: 'x'\)$"):
        read_table(csv("time,temp\n2024-01-01,1.5\n2024-01-02,x"), filename="x.csv")
    # With a long-format file the series column is read as well.
    long = csv("time,sensor,v,note\n2024-01-01,a,1,x\n2024-01-01,b,2,y\n2024-01-02,a,3,z")
    table = read_table(long, filename="x.csv", series_column="sensor", columns=["v"])
    assert table.channels == ["a", "b"]


def test_a_long_format_file_imports_one_column_per_series() -> None:
    # Sensor b starts a day late, a's second row is repeated whole (overlapping exports), and
    # the value columns carry units: each series x value column becomes a column.
    text = (
        "time,sensor,power [kW],temp\n"
        "2024-01-01,a,1.5,10\n"
        "2024-01-02,a,2.5,11\n"
        "2024-01-02,a,2.5,11\n"
        "2024-01-02,b,7.5,20\n"
        "2024-01-03,b,8.5,\n"
        "2024-01-03,a,3.5,12\n"
    )
    table = read_table(csv(text), filename="x.csv", series_column="sensor")
    assert table.channels == ["power_a", "temp_a", "power_b", "temp_b"]
    assert table.units == ["kW", None, "kW", None]
    nan = float("nan")
    np.testing.assert_array_equal(
        table.values,
        [[1.5, 2.5, 3.5], [10, 11, 12], [nan, 7.5, 8.5], [nan, 20, nan]],
    )
    assert table.duplicates_merged == 1
    # With one value column a series is named by its own name.
    one = read_table(
        csv("time,sensor,v\n2024-01-01,a,1\n2024-01-01,b,2\n2024-01-02,a,3\n"),
        filename="x.csv",
        series_column="sensor",
    )
    assert one.channels == ["a", "b"] and one.values.tolist()[0] == [1.0, 3.0]
    # A series' own clash names it, and its lines; a row without a series is refused by line.
    with pytest.raises(InvalidInput, match=r"series 'b': 1 duplicate timestamp\(s\)") as info:
        read_table(
            csv("time,sensor,v\n2024-01-01,a,1\n2024-01-01,b,2\n2024-01-01,b,5\n"),
            filename="x.csv",
            series_column="sensor",
        )
    assert "lines 3, 4" in info.value.message
    with pytest.raises(InvalidInput, match=r"1 row\(s\) without a series name at line 3"):
        read_table(
            csv("time,sensor,v\n2024-01-01,a,1\n2024-01-01,,2\n"),
            filename="x.csv",
            series_column="sensor",
        )
    # Series whose times never line up (each logs at its own instants) would make one table
    # almost all empty: refused past 32 million cells, saying so, before it is built.
    start = pd.Timestamp("2024-01-01")
    lines = [
        f"{start + pd.Timedelta(seconds=1000 * i + k):%Y-%m-%dT%H:%M:%S},s{k},1"
        for k in range(400)
        for i in range(250)
    ]
    lines += [f"{start:%Y-%m-%d}T00:00:00,s{k},1" for k in range(400, 800)]  # 800 series
    with pytest.raises(InvalidInput, match="the 800 series' times do not line up") as info:
        read_table(
            csv("time,sensor,v\n" + "\n".join(lines)), filename="x.csv", series_column="sensor"
        )
    assert "(100,000 distinct times for 100,400 readings)" in info.value.message
    # Below that, a mostly empty table is what sensors reporting on change give: built.
    few = "\n".join(lines[: 20 * 250])
    table = read_table(csv("time,sensor,v\n" + few), filename="x.csv", series_column="sensor")
    assert len(table.channels) == 20 and table.point_count == 5000
    # Its empty cells are no cells of the file: none counted as skipped.
    assert set(table.missing_cells.values()) == {0}
    with pytest.raises(InvalidInput, match="series column 'site' is not in the file") as info:
        read_table(csv("time,sensor,v\n2024-01-01,a,1\n"), filename="x.csv", series_column="site")
    assert info.value.field == "series_column"


def test_empty_file_and_header_only() -> None:
    with pytest.raises(InvalidInput, match="the file is empty"):
        read_table(b"  \n", filename="x.csv")
    with pytest.raises(InvalidInput, match="header but no data rows"):
        read_table(b"timestamp,v\n", filename="x.csv")


def test_a_column_without_a_reading_is_left_out_unless_asked_for() -> None:
    data = csv("timestamp,a,b\n2024-01-01,1,\n2024-01-02,2,NA")
    table = read_table(data, filename="x.csv")
    assert table.channels == ["a"] and table.values.tolist() == [[1.0, 2.0]]
    assert "column(s) 'b' left out: not one reading (every cell empty or missing)" in table.notes
    with pytest.raises(InvalidInput, match=r"without a single numeric value: 'b'") as err:
        read_table(data, filename="x.csv", columns=["a", "b"])
    assert err.value.field == "columns.b"
    with pytest.raises(InvalidInput, match=r"without a single numeric value: 'a', 'b'"):
        read_table(csv("timestamp,a,b\n2024-01-01,,\n2024-01-02,,"), filename="x.csv")


def test_duplicates_error_by_default_and_merge_on_request() -> None:
    data = csv("timestamp,v\n2024-01-01,1\n2024-01-02,2\n2024-01-01,5")
    with pytest.raises(
        InvalidInput,
        match=r"1 duplicate timestamp\(s\) with different values, first "
        r"2024-01-01T00:00:00\+00:00, at lines 2, 4",
    ):
        read_table(data, filename="x.csv")
    assert read_table(data, filename="x.csv", on_duplicate="mean").values.tolist() == [[3.0, 2.0]]
    last = read_table(data, filename="x.csv", on_duplicate="last")
    assert last.values.tolist() == [[5.0, 2.0]] and last.duplicates_merged == 1
    assert last.notes == [
        "1 row(s) repeating an earlier row's time merged into it (on_duplicate 'last')"
    ]


def test_the_repeated_hour_of_local_times_points_at_the_timezone_option() -> None:
    # Wall-clock times across the end of summer time in Berlin, written without an offset.
    stamps = pd.date_range("2024-10-27 01:30", "2024-10-27 03:30", freq="30min", tz="Europe/Berlin")
    rows = "".join(f"{t:%Y-%m-%d %H:%M},{i}\n" for i, t in enumerate(stamps))
    data = csv(f"timestamp,v\n{rows}")
    with pytest.raises(
        InvalidInput, match=r"summer time ends .* --timezone \(e\.g\. Europe/Berlin\)"
    ):
        read_table(data, filename="x.csv")
    local = read_table(data, filename="x.csv", timezone="Europe/Berlin")
    assert local.timestamps_ns.tolist() == stamps.as_unit("ns").asi8.tolist()
    # Any other clash keeps the plain advice.
    with pytest.raises(InvalidInput, match=r"different values.*lines 2, 3; choose how to merge"):
        read_table(csv("timestamp,v\n2024-10-27 05:00,1\n2024-10-27 05:00,2"), filename="x.csv")


def test_the_skipped_hour_of_local_times_is_noted_with_the_timezone_option() -> None:
    """Wall-clock times of a Berlin meter across the start of summer time skip 02:00-02:59:
    read as UTC (no zone given) the import says so and names the option; read in their zone,
    or for a hole elsewhere, it says nothing of the kind."""
    stamps = pd.date_range("2024-03-30 22:00", "2024-03-31 06:00", freq="15min", tz="Europe/Berlin")
    rows = "".join(f"{t:%Y-%m-%d %H:%M},{i}\n" for i, t in enumerate(stamps))
    data = csv(f"timestamp,v\n{rows}")
    said = [n for n in read_table(data, filename="x.csv").notes if "clocks skip" in n]
    assert said == [
        "timestamp column 'timestamp': no times from 02:00 to 02:59 on Sunday 2024-03-31, the "
        "hour clocks skip when summer time starts: local times? They were read as UTC (no zone "
        "given); the timezone option (--timezone, e.g. Europe/Berlin) reads them in their zone"
    ]
    local = read_table(data, filename="x.csv", timezone="Europe/Berlin")
    assert not [n for n in local.notes if "clocks skip" in n]
    assert local.timestamps_ns.tolist() == stamps.as_unit("ns").asi8.tolist()
    # The same hour missing on a Saturday, or three hours missing that Sunday: an outage.
    grid = pd.date_range("2024-03-30", "2024-03-31 23:45", freq="15min")
    saturday = (grid.day == 30) & (grid.hour == 2)
    three_hours = (grid.day == 31) & (grid.hour >= 1) & (grid.hour <= 3)
    for hole in (saturday, three_hours):
        text = "".join(f"{t:%Y-%m-%d %H:%M},1.5\n" for t in grid[~hole])
        notes = read_table(csv(f"timestamp,v\n{text}"), filename="x.csv").notes
        assert not [n for n in notes if "clocks skip" in n], notes


def test_the_repeated_hour_of_local_times_off_the_grid_is_noted() -> None:
    """A Berlin logger's readings a few seconds off the quarter hours, across the end of summer
    time: the repeated hour 02:00-02:59 interleaves with the first instead of clashing, so read
    as UTC the import says the times step back an hour, naming the line, and read in their zone
    it says nothing. A file whose times step back elsewhere (an export pasted after a later one)
    gets no such note."""
    stamps = pd.date_range("2024-10-26 22:00", "2024-10-27 06:00", freq="15min", tz="Europe/Berlin")
    jitter = pd.to_timedelta(np.arange(stamps.size) % 7 + 3, unit="s")
    rows = "".join(
        f"{t + d:%Y-%m-%d %H:%M:%S},{i}\n"
        for i, (t, d) in enumerate(zip(stamps, jitter, strict=True))
    )
    data = csv(f"timestamp,v\n{rows}")
    said = [n for n in read_table(data, filename="x.csv").notes if "step back" in n]
    assert said == [
        "timestamp column 'timestamp': times step back an hour to 02:00 on Sunday 2024-10-27 "
        "(line 22), as local clocks do when summer time ends: local times? They were read as UTC "
        "(no zone given); the timezone option (--timezone, e.g. Europe/Berlin) reads them in "
        "their zone"
    ]
    local = read_table(data, filename="x.csv", timezone="Europe/Berlin")
    assert not [n for n in local.notes if "step back" in n]
    assert local.timestamps_ns.tolist() == (stamps + jitter).as_unit("ns").asi8.tolist()
    grid = pd.date_range("2024-10-20", periods=200, freq="h")
    pasted = grid[100:].append(grid[:100])
    text = "".join(f"{t:%Y-%m-%d %H:%M},1.5\n" for t in pasted)
    notes = read_table(csv(f"timestamp,v\n{text}"), filename="x.csv").notes
    assert not [n for n in notes if "step back" in n], notes


def test_which_sundays_skip_the_hour() -> None:
    from gapcast.ingest.times import clocks_skipped

    def ns(index: pd.DatetimeIndex) -> np.ndarray:
        return index.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8

    # Two springs of hourly New York wall-clock times (second Sundays of March), read as UTC.
    wall = pd.date_range("2023-03-01", "2024-03-20", freq="h", tz="America/New_York")
    read_as_utc = wall.tz_localize(None)
    assert clocks_skipped(ns(read_as_utc.tz_localize("UTC"))) == ["2023-03-12", "2024-03-10"]
    # The same instants in UTC: no hole at all.
    assert clocks_skipped(ns(wall)) == []
    # Daily data has no hour to skip; two readings are too few to say.
    assert clocks_skipped(ns(pd.date_range("2024-03-01", periods=60, freq="D", tz="UTC"))) == []
    assert clocks_skipped(np.array([0, 7_200_000_000_000])) == []


def test_rows_repeated_whole_are_dropped_and_a_clash_among_them_is_named() -> None:
    # Overlapping exports repeat rows, empty cells included: nothing to choose between.
    data = csv("timestamp,a,b\n2024-01-01,1,\n2024-01-02,2,3\n2024-01-01,1,\n2024-01-02,2,3")
    table = read_table(data, filename="x.csv")
    assert table.timestamps_ns.size == 2 and table.duplicates_merged == 2
    np.testing.assert_array_equal(table.values, [[1, 2], [np.nan, 3]])
    clash = csv("timestamp,a\n2024-01-01,1\n2024-01-02,2\n2024-01-01,1\n2024-01-02,2.5")
    with pytest.raises(InvalidInput, match=r"1 duplicate .* first 2024-01-02T.* at lines 3, 5"):
        read_table(clash, filename="x.csv")


def test_size_and_point_limits() -> None:
    data = csv("timestamp,v\n2024-01-01,1\n2024-01-02,2")
    with pytest.raises(TooLarge, match=r"over the limit of 10 bytes"):
        read_table(data, filename="x.csv", max_bytes=10)
    with pytest.raises(TooLarge, match=r"holds 2 points, over the limit of 1"):
        read_table(data, filename="x.csv", max_points=1)


def test_non_utf8_bytes() -> None:
    with pytest.raises(
        InvalidInput,
        match=r"not UTF-8 text: byte 0xff at offset 12 \(line 2\); a file saved by Excel",
    ):
        read_table(b"timestamp,v\n\xff2024-01-01,1\n", filename="x.csv")


def test_a_line_of_units_under_the_header_is_read_as_the_units() -> None:
    logger = csv(
        "Timestamp (UTC),temp,hum [%]\n,degC,percent\n2024-01-01 00:00,1,50\n2024-01-01 01:00,2,51"
    )
    table = read_table(logger, filename="logger.csv")
    assert table.channels == ["temp", "hum"] and table.units == ["degC", "%"]  # the header's wins
    assert table.values.tolist() == [[1.0, 2.0], [50.0, 51.0]]
    assert table.notes == [
        "line 2 read as the columns' units, not a reading ('temp': 'degC', 'hum [%]': 'percent')"
    ]
    # A first row with a time or a number is a reading: refused as such, by its line.
    with pytest.raises(InvalidInput, match=r"column 'temp': 1 non-numeric value\(s\) at line 2"):
        read_table(
            csv("time,temp,hum\n2024-01-01 00:00,degC,1\n2024-01-01 01:00,2,3"), filename="x.csv"
        )
    with pytest.raises(InvalidInput, match=r"column 'temp': 1 non-numeric value\(s\) at line 4"):
        read_table(logger.replace(b",2,51", b",oops,51"), filename="logger.csv")


def test_a_loggers_words_for_no_reading_are_named_as_missing() -> None:
    rows = "".join(
        f"2024-01-01T{h:02d}:00Z,{'ERR' if h in (3, 9) else '---' if h == 15 else 20 + h}\n"
        for h in range(24)
    )
    logger = csv("time,temp\n" + rows)
    with pytest.raises(InvalidInput) as refused:
        read_table(logger, filename="logger.csv")
    assert refused.value.message == (
        "column 'temp': 3 non-numeric value(s) at lines 5, 11, 17 (first: 'ERR'); if 'ERR', '---' "
        "mark(s) no reading: missing='ERR,---' (--missing 'ERR,---')"
    )
    table = read_table(logger, filename="logger.csv", missing=["ERR", " --- "])
    assert table.missing_cells == {"temp": 3} and table.point_count == 21
    # Naming some leaves the others refused, with the hint for them; many different words are
    # not markers but text, and get none.
    with pytest.raises(InvalidInput) as refused:
        read_table(logger, filename="logger.csv", missing=["ERR"])
    assert "(first: '---')" in refused.value.message and "--missing" in refused.value.message
    many = csv(
        "time,temp\n"
        + "".join(f"2024-01-01T{h:02d}:00Z,w{h}\n" for h in range(3))
        + "2024-01-01T05:00Z,1"
    )
    with pytest.raises(InvalidInput) as refused:
        read_table(many, filename="x.csv")
    assert "--missing" not in refused.value.message


def test_a_table_aligned_with_spaces_reads_as_columns() -> None:
    aligned = csv(
        "time                 temp    hum\n"
        "2024-01-01T00:00Z     1.5     40\n"
        "2024-01-01T01:00Z    -2.5     41\n"
    )
    table = read_table(aligned, filename="station.txt")
    assert table.channels == ["temp", "hum"] and table.values.tolist() == [[1.5, -2.5], [40, 41]]
    # A time written with a space is one field on each row more than the header has: not taken
    # for an aligned table, and told as a file without a delimiter.
    with pytest.raises(InvalidInput, match="no timestamp column"):
        read_table(csv("time temp\n2024-01-01 00:00 1.5\n2024-01-01 01:00 2.5"), filename="x.txt")


def test_a_windows_1252_file_reads_with_its_encoding_named() -> None:
    data = "Time;Temperatur [°C]\n2024-01-01 00:00;1,5\n".encode("cp1252")
    with pytest.raises(InvalidInput) as err:
        read_table(data, filename="x.csv", decimal=",")
    assert err.value.field == "encoding" and "byte 0xb0 at offset 17 (line 1)" in err.value.message
    assert "--encoding cp1252" in err.value.message
    table = read_table(data, filename="x.csv", decimal=",", encoding="cp1252")
    assert table.channels == ["Temperatur"] and table.units == ["°C"]
    assert table.values.tolist() == [[1.5]]
    with pytest.raises(InvalidInput, match="'klingon' is not a text encoding") as err:
        read_table(data, filename="x.csv", encoding="klingon")
    assert err.value.field == "encoding"
    # A NUL in the name (found by the REST fuzzer) is refused the same way, not a crash.
    with pytest.raises(InvalidInput, match="is not a text encoding") as err:
        read_table(data, filename="x.csv", encoding="utf\x00-8")
    assert err.value.field == "encoding"
    # A byte-order mark says what it is: Excel's "Unicode text" (UTF-16, tab-separated) reads.
    utf16 = "timestamp\ttemp [°C]\n2024-01-01\t2.5\n".encode("utf-16")
    assert read_table(utf16, filename="x.txt").units == ["°C"]


@pytest.mark.parametrize(
    ("head", "said"),
    [
        (b"\x1f\x8b\x08\x00", "gzip-compressed: name it .csv.gz"),
        (b"PK\x03\x04\x14\x00", "a ZIP archive (an .xlsx workbook is one): name a workbook .xlsx"),
    ],
)
def test_a_binary_file_named_csv_is_told_what_it_is(head: bytes, said: str) -> None:
    with pytest.raises(InvalidInput, match=f"the file is not text but {re.escape(said)}"):
        read_table(head + b"\xff" * 40, filename="x.csv")


def test_unsupported_suffix() -> None:
    with pytest.raises(
        InvalidInput, match=r"unsupported file type '.xls'.*; save the sheet as .xlsx or CSV"
    ):
        read_table(b"abc", filename="x.xls")
    with pytest.raises(InvalidInput, match=r"not a readable \.xlsx workbook"):
        read_table(b"abc", filename="x.xlsx")


def _workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for i, (title, rows) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_an_excel_workbook_reads_its_first_sheet_as_typed() -> None:
    start = dt.datetime(2024, 3, 31, 0, 0)
    rows: list[list[object]] = [
        [start + dt.timedelta(minutes=15 * i), 10.5 + i if i != 3 else None, "ok"] for i in range(6)
    ]
    # A title row and a blank one above the header, as report sheets have; a sheet of notes.
    data = _workbook(
        ("Readings", [["Meter 7"], [], ["Zeitstempel", "Leistung [kW]", "Status"], *rows]),
        ("Notes", [["exported by hand"]]),
    )
    # The status column, words only, is left out; named, it is refused by the sheet's own row
    # numbers: the header is row 3, the first reading row 4.
    assert read_table(data, filename="meter.xlsx").channels == ["Leistung"]
    with pytest.raises(InvalidInput) as err:
        read_table(data, filename="meter.xlsx", columns=["Leistung [kW]", "Status"])
    assert err.value.message.startswith("column 'Status': 6 non-numeric value(s) at rows 4, 5, 6")
    table = read_table(
        data, filename="meter.xlsx", columns=["Leistung [kW]"], timezone="Europe/Berlin"
    )
    assert table.channels == ["Leistung"] and table.units == ["kW"]
    # Dates typed as dates are wall-clock times: here of Europe/Berlin, one hour ahead of UTC.
    assert pd.to_datetime(table.timestamps_ns[0]) == pd.Timestamp("2024-03-30 23:00")
    assert np.isnan(table.values[0, 3]) and table.values[0, 5] == 15.5
    assert table.notes == [
        "above the header, read as titles: 'Meter 7'",
        "read the workbook's first sheet, 'Readings'; its other sheets ('Notes') were not: name "
        "the one you want with sheet (--sheet)",
    ]
    # Another sheet, by name.
    readings = [["timestamp", "v"], *(row[:2] for row in rows)]
    two = _workbook(("Notes", [["exported by hand"]]), ("Readings", readings))
    with pytest.raises(InvalidInput) as err:
        read_table(two, filename="x.xlsx")
    assert err.value.message == (
        "sheet 'Notes' holds no table (no row of two or more cells); its other sheets: "
        "'Readings' (--sheet)"
    )
    table = read_table(two, filename="x.xlsx", sheet="Readings")
    assert table.channels == ["v"] and table.notes == []
    with pytest.raises(InvalidInput) as err:
        read_table(two, filename="x.xlsx", sheet="Daten")
    assert err.value.field == "sheet" and err.value.message == (
        "sheet: the workbook has no sheet 'Daten'; its sheets: 'Notes', 'Readings'"
    )
    with pytest.raises(InvalidInput, match=r"sheet: x.csv is not an .xlsx workbook"):
        read_table(csv("timestamp,v\n2024-01-01,1\n"), filename="x.csv", sheet="Readings")
    # The title row is no header: a cell right of the header's columns is refused by row.
    wide = _workbook(("S", [["timestamp", "v"], [start, 1.0], [start, 2.0, 9]]))
    with pytest.raises(InvalidInput, match=r"row 3 of the sheet has values right of its header"):
        read_table(wide, filename="x.xlsx")
    text = _workbook(("S", [["timestamp", "v"], ["2024-01-01T00:00Z", "1,5"], [start, 2]]))
    table = read_table(text, filename="x.xlsx", decimal=",")
    assert table.values.tolist() == [[1.5, 2.0]]


def test_parquet_with_tz_aware_timestamps() -> None:
    df = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-03-31 00:00", periods=4, freq="h", tz="Europe/Berlin"),
            "v": [1.0, np.nan, 3.0, 4.0],
        }
    )
    buf = io.BytesIO()
    df.to_parquet(buf)
    table = read_table(buf.getvalue(), filename="x.parquet")
    expected = df["timestamp"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    assert table.timestamps_ns.tolist() == expected.tolist()
    assert table.point_count == 3


def test_corrupt_parquet() -> None:
    with pytest.raises(InvalidInput, match="not a readable Parquet file"):
        read_table(b"PAR1 not really", filename="x.parquet")


EUROPEAN = (
    "Zeitstempel;Leistung [kW]\n31.12.2024 23:00;1,5\n01.01.2025 00:00;-2,25\n01.01.2025 01:00;\n"
)


def test_comma_separated_with_quoted_decimal_commas() -> None:
    # RFC 4180: the decimal commas are quoted, so commas can still separate the columns.
    text = 'timestamp,value\n2024-01-01T00:00,"10,5"\n2024-01-01T01:00,"11,25"'
    table = read_table(csv(text), filename="x.csv", decimal=",")
    assert table.channels == ["value"]
    np.testing.assert_array_equal(table.values[0], [10.5, 11.25])


def test_decimal_comma_and_a_day_first_time_format() -> None:
    table = read_table(
        EUROPEAN.encode(),
        filename="export.csv",
        timestamp_column="Zeitstempel",
        decimal=",",
        time_format="%d.%m.%Y %H:%M",
    )
    assert table.timestamps_ns.tolist() == [
        pd.Timestamp(t).value
        for t in ("2024-12-31T23:00Z", "2025-01-01T00:00Z", "2025-01-01T01:00Z")
    ]
    assert table.channels == ["Leistung"] and table.units == ["kW"]
    np.testing.assert_array_equal(table.values[0], [1.5, -2.25, np.nan])


def test_a_repeated_row_with_decimal_commas_is_not_taken_for_a_long_format_file() -> None:
    # Readings with few distinct values (a pressure to 0.1 hPa) and one row exported twice: the
    # values are numbers with the decimal mark asked for, not the names of series.
    rows = [f"0{d}.01.2025 00:00;{p}" for d, p in enumerate(["1000,8", "998,7", "1000,8"], 1)]
    text = "Zeit;Druck\n" + "\n".join([*rows, rows[-1]]) + "\n"
    table = read_table(
        text.encode(),
        filename="x.csv",
        timestamp_column="Zeit",
        decimal=",",
        time_format="%d.%m.%Y %H:%M",
    )
    assert table.values.tolist() == [[1000.8, 998.7, 1000.8]] and table.duplicates_merged == 1
    assert table.notes == ["1 row(s) repeated whole (an earlier row's time and values) dropped"]


def test_a_format_with_an_offset_reads_it() -> None:
    table = read_table(
        csv("t,v\n31/12/2024 23:00 +0100,1\n01/01/2025 00:00 +0100,2"),
        filename="x.csv",
        timestamp_column="t",
        time_format="%d/%m/%Y %H:%M %z",
    )
    assert table.timestamps_ns[0] == pd.Timestamp("2024-12-31T22:00Z").value


def test_a_semicolon_file_with_decimal_commas_reads_without_asking() -> None:
    """A European export (';' between fields, a comma in each number) reads as written, with a
    note; the day-first times read unasked too."""
    table = read_table(EUROPEAN.encode(), filename="x.csv", timestamp_column="Zeitstempel")
    np.testing.assert_array_equal(table.values[0], [1.5, -2.25, np.nan])
    assert table.notes[0] == (
        "numbers read with a decimal comma ('1,5' is 1.5), as the file writes them (its fields "
        "separated by ';')"
    )
    tabs = read_table(csv("time\tv\n2024-01-01\t12,75\n2024-01-02\t3"), filename="x.csv")
    assert tabs.values.tolist() == [[12.75, 3.0]] and "separated by tabs" in tabs.notes[0]
    # 1,234 alone shows nothing (a thousand and some, or one and a bit): still asked.
    with pytest.raises(InvalidInput, match=r"1,234 reads as a thousand and some or as one"):
        read_table(csv("time;v\n2024-01-01;1,234\n2024-01-02;2,500"), filename="x.csv")
    # A decimal point in the column says the comma is something else: refused, never guessed.
    with pytest.raises(InvalidInput, match=r"line 3 \(first: '1,5'\).*decimal=','"):
        read_table(csv("time;v\n2024-01-01;2.5\n2024-01-02;1,5"), filename="x.csv")


def test_decimal_comma_and_format_errors_name_the_fix() -> None:
    # Commas between fields and quoted decimal commas: not taken as shown, the option is named.
    quoted = 'Zeitstempel,Leistung [kW]\n31.12.2024 23:00,"1,5"\n01.01.2025 00:00,"-2,25"\n'
    with pytest.raises(InvalidInput, match=r"decimal=','") as info:
        read_table(
            quoted.encode(),
            filename="x.csv",
            timestamp_column="Zeitstempel",
            time_format="%d.%m.%Y %H:%M",
        )
    assert "column 'Leistung [kW]': 2 non-numeric value(s) at lines 2, 3" in info.value.message
    # A '.' with a decimal comma that groups no thousands is a mistake: refused, never guessed.
    with pytest.raises(InvalidInput, match=r"line 3 \(first: '1\.23,5'\) with the decimal mark"):
        read_table(csv("time;v\n2024-01-01;1,5\n2024-01-02;1.23,5"), filename="x.csv", decimal=",")
    with pytest.raises(InvalidInput, match="not a valid strftime format") as info:
        read_table(
            EUROPEAN.encode(), filename="x.csv", timestamp_column="Zeitstempel", time_format="%Q"
        )
    assert info.value.field == "time_format"
    with pytest.raises(InvalidInput, match=r"expected '\.' or ','"):
        read_table(EUROPEAN.encode(), filename="x.csv", decimal=";")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=r"as time format '%Y-%m-%d' at line 3"):
        read_table(
            csv("time,v\n2024-01-01,1\n01.01.2024,2"), filename="x.csv", time_format="%Y-%m-%d"
        )


@pytest.mark.parametrize(("scale", "unit"), [(1, "s"), (10**3, "ms"), (10**6, "us"), (10**9, "ns")])
def test_epoch_numbers_in_seconds_or_finer_units(scale: int, unit: str) -> None:
    start = 1_700_000_000
    rows = "\n".join(f"{(start + 60 * i) * scale},{i}" for i in range(3))
    table = read_table(csv(f"ts,v\n{rows}"), filename=f"{unit}.csv")
    assert table.timestamps_ns.tolist() == [(start + 60 * i) * 10**9 for i in range(3)]


@pytest.mark.parametrize("header", ["epoch", "unix_time", "ts_ms", "Timestamp (ms)", "epoch_s"])
def test_epoch_numbers_are_found_by_their_usual_names(header: str) -> None:
    start = 1_700_000_000
    scale = 1000 if "ms" in header else 1
    rows = "\n".join(f"{i},{(start + 60 * i) * scale}" for i in range(3))
    table = read_table(csv(f"v,{header}\n{rows}"), filename="x.csv")
    assert table.channels == ["v"]
    assert table.timestamps_ns.tolist() == [(start + 60 * i) * 10**9 for i in range(3)]


def test_a_training_log_s_epoch_count_is_no_time() -> None:
    with pytest.raises(InvalidInput, match=r"no timestamp column: .*columns: epoch, loss"):
        read_table(csv("epoch,loss\n1,0.9\n2,0.7\n3,0.6"), filename="log.csv")


def test_spreadsheet_serial_dates_read_as_the_dates_they_are() -> None:
    # Days since 1899-12-30, as a sheet exports a date column left unformatted: as epoch
    # seconds these would all be 1 January 1970, 42 milliseconds apart.
    serial = csv("time,v\n45292,1\n45292.0416666667,2\n45292.0833333333,3\n45292.5,4")
    table = read_table(serial, filename="sheet.csv")
    expected = pd.DatetimeIndex(
        ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00", "2024-01-01 12:00"], tz="UTC"
    )
    assert table.timestamps_ns.tolist() == expected.as_unit("ns").asi8.tolist()
    assert table.notes == [
        "timestamp column 'time': numbers read as spreadsheet serial dates, days since "
        "1899-12-30 (45292 is 2024-01-01T00:00:00+00:00)"
    ]
    # The library reads a DataFrame's numbers by the same rule.
    frame = SeriesFrame.from_pandas(pd.DataFrame({"time": [45292.0, 45292.5], "v": [1.0, 2.0]}))
    assert frame.timestamps.tolist() == expected[[0, 3]].as_unit("ns").asi8.tolist()
    # Epoch seconds stay epoch seconds.
    assert read_table(csv("ts,v\n86400,1"), filename="x.csv").notes == []


def test_epoch_nanoseconds_keep_microseconds_exactly() -> None:
    ns = 1_700_000_000_123_456_789
    table = read_table(csv(f"ts,v\n{ns},1"), filename="x.csv")
    assert table.timestamps_ns.tolist() == [ns - 789]  # stored at microsecond precision


def test_times_without_an_offset_in_a_named_time_zone() -> None:
    # Berlin's clocks went back at 03:00 on 2024-10-27: 02:00-02:59 happens twice, in order.
    rows = ["01:00", "02:00", "02:30", "02:00", "02:30", "03:00"]
    body = "".join(f"2024-10-27 {t},{i}\n" for i, t in enumerate(rows))
    table = read_table(
        f"timestamp,v\n{body}2024-10-27T05:00:00Z,9\n".encode(),
        filename="x.csv",
        timezone="Europe/Berlin",
    )
    utc = ["23:00", "00:00", "00:30", "01:00", "01:30", "02:00"]
    expected = [pd.Timestamp(f"2024-10-{26 if t == '23:00' else 27}T{t}Z").value for t in utc]
    # The row with an offset keeps it.
    assert table.timestamps_ns.tolist() == [*expected, pd.Timestamp("2024-10-27T05:00Z").value]
    assert table.values[0].tolist() == [0, 1, 2, 3, 4, 5, 9]
    # The same with a day-first format, and a Parquet column of naive datetimes.
    dotted = "".join(f"27.10.2024 {t};{i}\n" for i, t in enumerate(rows))
    formatted = read_table(
        f"time;v\n{dotted}".encode(),
        filename="x.csv",
        time_format="%d.%m.%Y %H:%M",
        timezone="Europe/Berlin",
    )
    assert formatted.timestamps_ns.tolist() == expected
    buffer = io.BytesIO()
    pd.DataFrame({"time": pd.to_datetime(["2024-07-01 12:00"]), "v": [1.0]}).to_parquet(buffer)
    summer = read_table(buffer.getvalue(), filename="x.parquet", timezone="Europe/Berlin")
    assert summer.timestamps_ns.tolist() == [pd.Timestamp("2024-07-01T10:00Z").value]


def test_time_zone_errors_name_the_rows() -> None:
    # 2024-03-31 02:30 never happened in Berlin (the clocks jumped from 02:00 to 03:00).
    spring = csv("timestamp,v\n2024-03-31 01:30,1\n2024-03-31 02:30,2\n2024-03-31 03:30,3")
    with pytest.raises(InvalidInput, match=r"1 time\(s\) that do not exist in Europe/Berlin"):
        read_table(spring, filename="x.csv", timezone="Europe/Berlin")
    # The repeated hour out of order: the file cannot say which 02:30 is which.
    autumn = csv("timestamp,v\n2024-10-27 02:30,1\n2024-10-27 01:30,2")
    with pytest.raises(InvalidInput, match="happen twice in Europe/Berlin") as info:
        read_table(autumn, filename="x.csv", timezone="Europe/Berlin")
    assert "line 2" in info.value.message and "UTC offset" in info.value.message
    with pytest.raises(InvalidInput, match="not an IANA time zone") as info:
        read_table(spring, filename="x.csv", timezone="Mars/Olympus")
    assert info.value.field == "timezone"


def test_gzip_compressed_csv_reads_as_the_csv_and_its_size_limit_holds_inflated() -> None:
    import gzip

    text = "timestamp,v\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 29))
    plain = read_table(text.encode(), filename="x.csv")
    packed = read_table(gzip.compress(text.encode()), filename="export.CSV.gz")
    assert packed.values.tolist() == plain.values.tolist()
    assert packed.timestamps_ns.tolist() == plain.timestamps_ns.tolist()
    # 10 MB of zeros packs into ~10 kB: refused while inflating, past the limit.
    bomb = gzip.compress(b"timestamp,v\n" + b"0" * 10_000_000)
    with pytest.raises(TooLarge, match=r"x\.csv\.gz inflates to more than the limit of 1,000,000"):
        read_table(bomb, filename="x.csv.gz", max_bytes=1_000_000)
    with pytest.raises(InvalidInput, match=r"x\.csv\.gz is not a readable gzip file"):
        read_table(text.encode(), filename="x.csv.gz")


def test_files_joined_with_their_headers_read_as_one_and_errors_keep_file_lines() -> None:
    part = "timestamp,v\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n"
    later = "timestamp,v\n2024-01-01 02:00,3\n2024-01-01 03:00,4\n"
    table = read_table(csv(part + later), filename="x.csv")
    assert table.values.tolist() == [[1.0, 2.0, 3.0, 4.0]]
    local = read_table(
        csv((part + later).replace(",", ";").replace(";1\n", ";1,5\n")),
        filename="x.csv",
        decimal=",",
        time_format="%Y-%m-%d %H:%M",
        timezone="Europe/Berlin",
    )
    assert local.values.tolist() == [[1.5, 2.0, 3.0, 4.0]]
    assert local.timestamps_ns[0] == pd.Timestamp("2023-12-31T23:00Z").value
    # Line 6 of the file (the header repeated on line 4 is not data but still a line).
    with pytest.raises(InvalidInput, match=r"non-numeric value\(s\) at line 6 \(first: 'x'\)"):
        read_table(csv(part + later.replace(",4\n", ",x\n")), filename="x.csv")
    with pytest.raises(InvalidInput, match=r"cannot parse 1 value\(s\).* at line 5 "):
        read_table(csv(part + later.replace("02:00", "soon")), filename="x.csv")
    with pytest.raises(InvalidInput, match=r"different values.* at lines 2, 5"):
        read_table(csv(part + later.replace("02:00", "00:00")), filename="x.csv")


def test_missing_value_markers_far_outside_the_values_are_read_as_missing_and_said() -> None:
    temps = [12.5 + (i % 7) * 0.5 for i in range(40)]
    temps[5] = temps[17] = temps[30] = -9999.0  # a weather station's "no reading"
    wind = [float(i % 13) for i in range(40)]
    wind[8] = wind[9] = 999.9
    power = [9000.0 + 10 * i for i in range(40)]
    power[3] = power[4] = 9999.0  # a real reading among its neighbours: kept
    rows = "".join(
        f"2024-01-{1 + i // 24:02d}T{i % 24:02d}:00Z,{t},{w},{p}\n"
        for i, (t, w, p) in enumerate(zip(temps, wind, power, strict=True))
    )
    table = read_table(csv(f"timestamp,temp,wind,power\n{rows}"), filename="x.csv")
    assert np.isnan(table.values[0]).sum() == 3 and np.isnan(table.values[1]).sum() == 2
    assert not np.isnan(table.values[2]).any() and table.values[2, 3] == 9999.0
    assert table.missing_cells == {"temp": 3, "wind": 2, "power": 0}
    assert table.notes == [
        "'temp': 3 cells of -9999 read as missing (a missing-value marker far outside the "
        "other values)",
        "'wind': 2 cells of 999.9 read as missing (a missing-value marker far outside the "
        "other values)",
    ]
    # Once is not a marker: a single wild value is the data's, to be seen, not hidden.
    once = read_table(
        csv(
            "timestamp,v\n"
            + "".join(f"2024-01-01T{i:02d}:00Z,{-9999 if i == 3 else i}\n" for i in range(20))
        ),
        filename="x.csv",
    )
    assert not np.isnan(once.values).any() and once.notes == []


def _home_assistant_export(entities: dict[str, list[str]]) -> bytes:
    """The History panel's "Download data": a row per state change, times in UTC."""
    rows = [
        f"{entity},{state},2024-11-01T{i // 60:02d}:{i % 60:02d}:17.{i % 1000:03d}Z"
        for entity, states in entities.items()
        for i, state in enumerate(states)
    ]
    return csv("entity_id,state,last_changed\n" + "\n".join(rows))


def test_a_home_assistant_history_export_reads_as_a_series_per_sensor() -> None:
    data = _home_assistant_export(
        {
            "sensor.kitchen_temperature": ["20.5", "20.7", "unavailable", "21.0"],
            "binary_sensor.back_door": ["off", "on", "off", "unavailable"],
            "sensor.outdoor_humidity": ["81", "unknown", "unknown", "79"],
        }
    )
    table = read_table(data, filename="history.csv")
    assert table.channels == ["sensor.kitchen_temperature", "sensor.outdoor_humidity"]
    kitchen, outdoor = table.values
    np.testing.assert_array_equal(kitchen, [20.5, 20.7, np.nan, 21.0])
    np.testing.assert_array_equal(outdoor, [81, np.nan, np.nan, 79])
    assert table.missing_cells == {"sensor.kitchen_temperature": 1, "sensor.outdoor_humidity": 2}
    assert pd.to_datetime(table.timestamps_ns[0], utc=True) == pd.Timestamp("2024-11-01T00:00:17Z")
    assert table.notes[0] == (
        "a Home Assistant history export: a series per 'entity_id', times from 'last_changed', "
        "states 'unavailable' and 'unknown' read as missing; entities without a numeric state "
        "left out: 'binary_sensor.back_door'; the longest spell without a reading: 2min "
        "(sensor.outdoor_humidity, from 2024-11-01 00:01 UTC)"
    )
    # Those rows are kept as "no reading" marks, where holding a reading stops.
    assert table.marked is not None
    assert table.marked.sum(axis=1).tolist() == [1, 2]


def test_a_home_assistant_export_of_switches_alone_is_refused_naming_them() -> None:
    data = _home_assistant_export({"switch.pump": ["on", "off"], "light.hall": ["off", "on"]})
    with pytest.raises(
        InvalidInput, match=r"without one numeric state: 'switch\.pump', 'light\.hall'"
    ):
        read_table(data, filename="history.csv")


def test_a_file_like_home_assistant_s_but_another_is_read_as_told() -> None:
    # One column more: not the export's shape, so the usual refusal names the time column.
    other = csv("entity_id,state,last_changed,comment\nsensor.a,1,2024-11-01T00:00:00Z,x\n")
    with pytest.raises(InvalidInput, match="--timestamp-column 'last_changed'"):
        read_table(other, filename="x.csv")
    # Columns named: read as the user says, 'unavailable' is not taken as missing unasked.
    told = _home_assistant_export({"sensor.a": ["1", "unavailable", "3"]})
    with pytest.raises(InvalidInput, match=r"line 3 \(first: 'unavailable'\)"):
        read_table(
            told, filename="x.csv", timestamp_column="last_changed", series_column="entity_id"
        )


def test_home_assistant_s_rest_history_answer_reads_as_its_export() -> None:
    # /api/history/period?minimal_response: only each entity's first change names it.
    answer = [
        [
            {
                "entity_id": "sensor.kitchen_temperature",
                "state": "20.5",
                "attributes": {"unit_of_measurement": "°C"},
                "last_changed": "2024-11-01T00:00:00+00:00",
                "last_updated": "2024-11-01T00:00:00+00:00",
            },
            {"state": "unavailable", "last_changed": "2024-11-01T00:10:00+00:00"},
            {"state": "21.0", "last_changed": "2024-11-01T00:20:00+00:00"},
        ],
        [
            {"entity_id": "switch.pump", "state": "on", "last_changed": "2024-11-01T00:05:00Z"},
            {"state": "off", "last_changed": "2024-11-01T00:15:00Z"},
        ],
    ]
    table = read_table(json.dumps(answer).encode(), filename="history.json")
    assert table.channels == ["sensor.kitchen_temperature"]
    np.testing.assert_array_equal(table.values[0], [20.5, np.nan, 21.0])
    assert "entities without a numeric state left out: 'switch.pump'" in table.notes[0]


def test_a_cloudwatch_statistics_answer_reads_in_time_order_with_its_unit() -> None:
    # `aws cloudwatch get-metric-statistics --statistics Average Maximum --extended-statistics p99`
    answer = {
        "Label": "CPUUtilization",
        "Datapoints": [  # CloudWatch's order: none
            {
                "Timestamp": "2024-11-01T00:10:00+00:00",
                "Average": 41.0,
                "Maximum": 80.0,
                "ExtendedStatistics": {"p99": 79.0},
                "Unit": "Percent",
            },
            {
                "Timestamp": "2024-11-01T00:00:00+00:00",
                "Average": 32.0,
                "Maximum": 60.0,
                "ExtendedStatistics": {"p99": 59.5},
                "Unit": "Percent",
            },
        ],
    }
    table = read_table(json.dumps(answer).encode(), filename="cpu.json")
    assert table.channels == [
        "CPUUtilization Average",
        "CPUUtilization Maximum",
        "CPUUtilization p99",
    ]
    assert table.units == ["%", "%", "%"]
    np.testing.assert_array_equal(table.values, [[32.0, 41.0], [60.0, 80.0], [59.5, 79.0]])
    assert table.notes[0] == (
        "read as a CloudWatch get-metric-statistics answer: 'CPUUtilization', Average, Maximum, p99"
    )
    empty = {"Label": "CPUUtilization", "Datapoints": []}
    with pytest.raises(InvalidInput, match="holds no datapoints"):
        read_table(json.dumps(empty).encode(), filename="cpu.json")


def test_a_cloudwatch_metric_data_answer_reads_a_series_per_query() -> None:
    # `aws cloudwatch get-metric-data`: newest first, a result left partial by a page limit.
    answer = {
        "MetricDataResults": [
            {
                "Id": "cpu",
                "Label": "CPUUtilization",
                "Timestamps": [
                    "2024-11-01T00:10:00Z",
                    "2024-11-01T00:05:00Z",
                    "2024-11-01T00:00:00Z",
                ],
                "Values": [41.0, 35.0, 32.0],
                "StatusCode": "Complete",
            },
            {
                "Id": "net",
                "Timestamps": ["2024-11-01T00:10:00Z", "2024-11-01T00:00:00Z"],
                "Values": [100.0, 80.0],
                "StatusCode": "PartialData",
            },
        ],
        "Messages": [],
    }
    table = read_table(json.dumps(answer).encode(), filename="metrics.json")
    assert table.channels == ["CPUUtilization", "net"]
    np.testing.assert_array_equal(table.values, [[32.0, 35.0, 41.0], [80.0, np.nan, 100.0]])
    assert table.notes[0] == (
        "read as a CloudWatch get-metric-data answer: 2 series (CPUUtilization, net); "
        "incomplete: 'net' (PartialData): CloudWatch returned part of the range, the rest "
        "comes with the answer's NextToken"
    )
    answer["MetricDataResults"][1]["Values"] = [1.0]  # type: ignore[index]
    with pytest.raises(InvalidInput, match=r"entry 2 \(net\): expected lists of Timestamps"):
        read_table(json.dumps(answer).encode(), filename="metrics.json")


def test_a_query_s_answer_is_bounded_by_the_point_limit(tmp_path: Path) -> None:
    import sqlite3

    from gapcast.errors import TooLarge
    from gapcast.ingest.sql_query import query_parquet

    path = tmp_path / "readings.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE r (time TEXT, a REAL, b REAL)")
        conn.executemany(
            "INSERT INTO r VALUES (?, ?, ?)",
            [(f"2024-01-01T{h:02d}:00:00Z", h, 2 * h) for h in range(10)],
        )
    url = f"sqlite:///{path}"
    table = read_table(query_parquet(url, "SELECT * FROM r", max_points=20), filename="r.parquet")
    assert table.channels == ["a", "b"] and table.point_count == 20
    with pytest.raises(TooLarge, match="over 19 points, the limit"):
        query_parquet(url, "SELECT * FROM r", max_points=19)
    with pytest.raises(InvalidInput, match="the query is empty"):
        query_parquet(url, "  ")


def test_a_wide_table_s_words_and_sentinels_mark_no_reading_its_empty_cells_do_not() -> None:
    """A logger's 'ERR' or -9999 says "no reading here"; an empty cell beside another column's
    reading may mean "unchanged" (a sensor reporting on change): only the first are marks."""
    data = csv(
        "time,temp,door\n"
        "2024-01-01T00:00:00Z,20.5,1\n"
        "2024-01-01T00:10:00Z,,0\n"
        "2024-01-01T00:20:00Z,ERR,1\n"
        "2024-01-01T00:30:00Z,-9999,0\n"
        "2024-01-01T00:40:00Z,21.0,NA\n"
        + "".join(
            f"2024-01-01T{1 + i // 6:02d}:{i % 6}0:00Z,{20 + i / 10 if i != 7 else -9999},{i % 2}\n"
            for i in range(30)
        )
    )
    table = read_table(data, filename="x.csv", missing=["ERR"])
    assert table.marked is not None
    np.testing.assert_array_equal(table.marked[:, :5], [[0, 0, 1, 1, 0], [0, 0, 0, 0, 1]])
    assert np.flatnonzero(table.marked[0, 5:]).tolist() == [7]  # the second -9999
    assert not table.marked[1, 5:].any()
    # A file without such a cell has no marks at all.
    plain = read_table(
        csv("time,v\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,\n"), filename="y.csv"
    )
    assert plain.marked is None


def test_a_column_that_stops_before_the_files_last_row_is_noted() -> None:
    """Rows go on for a day after 'flow' stopped (its cells empty): said, with its last reading
    and the last row. A slower column beside fast ones, ending within its own step of the last
    row, and a column read to the end say nothing."""
    minutes = pd.date_range("2024-06-01", periods=6 * 24 * 5, freq="10min", tz="UTC")
    flow = [
        f"{i % 37}.5" if t < pd.Timestamp("2024-06-04T00:00Z") else ""
        for i, t in enumerate(minutes)
    ]
    hourly = [f"{i % 11}.25" if t.minute == 0 else "" for i, t in enumerate(minutes)]
    rows = "".join(
        f"{t.isoformat()},{f},{h},{i % 7}.5\n"
        for i, (t, f, h) in enumerate(zip(minutes, flow, hourly, strict=True))
    )
    notes = read_table(csv("time,flow,battery,temp\n" + rows), filename="x.csv").notes
    said = [n for n in notes if "has stopped" in n or "no reading in the file" in n]
    # Change reports quiet for hours at the end of the export: a steady value, not a stop.
    rng = np.random.default_rng(4)
    sent = pd.Timestamp("2024-06-01T00:00Z") + pd.to_timedelta(
        np.cumsum(rng.integers(60, 1_800, 200)), unit="s"
    )
    moves = np.cumsum(rng.choice([-1, 1], 200) * rng.integers(1, 4, 200)) / 10
    quiet = "".join(f"{t.isoformat()},{20 + m:.1f},\n" for t, m in zip(sent, moves, strict=True))
    quiet += f"{sent[-1] + pd.Timedelta('12h')},,1\n"
    quiet_notes = read_table(csv("time,temp,door\n" + quiet), filename="x.csv").notes
    assert [n for n in quiet_notes if "hold" in n] and not [
        n for n in quiet_notes if "no reading in the file" in n
    ], quiet_notes
    assert said == [
        "'flow' has no reading in the file's last 2 days (its last at 2024-06-03 23:50 UTC; the "
        "rows go on to 2024-06-05 23:50 UTC): has it stopped? A run trains on its readings; "
        "predict forecasts from after the last row, and names the start to give to forecast "
        "from the last reading instead"
    ], notes
