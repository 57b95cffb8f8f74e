"""``gapcast import`` / ``datasets`` through the real typer entry point, with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gapcast.cli import app

runner = CliRunner()


def test_import_then_list_as_json(db_url: str, sample_csv: Path) -> None:
    result = runner.invoke(
        app, ["import", str(sample_csv), "--name", "co2", "--db", db_url, "--json"]
    )
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["points"] == 2225 and imported["missing_cells"] == {"co2_ppm": 59}
    listed = runner.invoke(app, ["datasets", "--db", db_url, "--json"])
    assert listed.exit_code == 0
    assert [d["name"] for d in json.loads(listed.stdout)] == ["co2"]


def test_import_says_the_gaps_as_the_page_counts_them(db_url: str, tmp_path: Path) -> None:
    """Power every 10 minutes with a 5-step outage and one missed reading, a battery voltage
    every hour (on its own step: no gaps between its readings): the import's gaps line counts
    the two gaps of the power series, as the dataset's page does (6 of its 144 and the
    volts' 24 points: 96.4% observed)."""
    rows = []
    for m in range(0, 24 * 60, 10):
        power = "" if 300 <= m < 350 or m == 900 else f"{5 + m % 7}.5"
        volts = "12.5" if m % 60 == 0 else ""
        if power or volts:
            rows.append(f"2024-01-01T{m // 60:02d}:{m % 60:02d}:00Z,{power},{volts}\n")
    f = tmp_path / "site.csv"
    f.write_text("time,power,volts\n" + "".join(rows))
    result = runner.invoke(app, ["import", str(f), "--db", db_url])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert (
        "gaps: 2 (1 small; 1 large, the longest 5 steps), 6 missing points, 96.4% observed" in said
    ), said
    whole = tmp_path / "whole.csv"
    whole.write_text("time,v\n2024-01-01T00:00Z,1\n2024-01-01T01:00Z,2\n2024-01-01T02:00Z,3\n")
    result = runner.invoke(app, ["import", str(whole), "--db", db_url])
    assert "gaps: none, every step observed" in result.stdout


def test_bad_file_exits_2_and_stores_nothing(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,v\n2024-01-01,1\n2024-01-02,oops\n")
    result = runner.invoke(app, ["import", str(bad), "--db", db_url])
    assert result.exit_code == 2
    assert "column 'v': 1 non-numeric value(s) at line 3 (first: 'oops')" in result.stderr
    listed = runner.invoke(app, ["datasets", "--db", db_url, "--json"])
    assert json.loads(listed.stdout) == []


def test_duplicate_name_exits_2_and_replace_overwrites(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("timestamp,v\n2024-01-01,1\n2024-01-02,2\n")
    assert runner.invoke(app, ["import", str(f), "--db", db_url]).exit_code == 0
    again = runner.invoke(app, ["import", str(f), "--db", db_url])
    assert again.exit_code == 2 and "already exists" in again.stderr
    f.write_text("timestamp,v\n2024-01-01,1\n2024-01-01,3\n")
    merged = runner.invoke(
        app, ["import", str(f), "--db", db_url, "--replace", "--on-duplicate", "mean", "--json"]
    )
    assert merged.exit_code == 0, merged.output
    assert json.loads(merged.stdout)["points"] == 1


def test_bad_option_value_exits_2(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("timestamp,v\n2024-01-01,1\n")
    result = runner.invoke(app, ["import", str(f), "--db", db_url, "--on-duplicate", "max"])
    assert result.exit_code == 2 and "expected error, mean or last, received 'max'" in result.stderr


def test_missing_file_exits_2(db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nope.csv"), "--db", db_url])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_datasets_fit_80_columns_with_whole_times(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    rows = [f"2024-01-01T{h:02d}:30:00Z,{h},{2 * h}" for h in range(6)]
    f.write_text(
        "timestamp,boiler_supply_temperature,boiler_return_temperature\n" + "\n".join(rows)
    )
    name = "plant-3-boiler-house-heating-circuit-readings"
    assert runner.invoke(app, ["import", str(f), "--name", name, "--db", db_url]).exit_code == 0
    result = runner.invoke(app, ["datasets", "--db", db_url])  # CliRunner: 80 columns, no tty
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    row = next(line for line in lines if line.startswith("1 "))
    assert "2024-01-01 00:30" in row and "2024-01-01 05:30" in row and " 1 h " in row
    # The name folds onto the next lines instead of being cut short.
    begin, end = lines[0].index("name"), lines[0].index("series")
    assert "".join(line[begin:end].strip() for line in lines[lines.index(row) :]) == name


def test_import_a_european_export_and_errors_keep_bracketed_headers(
    db_url: str, tmp_path: Path
) -> None:
    f = tmp_path / "export.csv"
    f.write_text("Zeitstempel;Leistung [kW]\n31.12.2024 23:00;1,5\n01.01.2025 00:00;2,5\n")
    base = ["import", str(f), "--db", db_url, "--timestamp-column", "Zeitstempel"]
    # Its decimal commas read unasked (fields separated by ';'), and the note says so.
    result = runner.invoke(app, [*base, "--time-format", "%d.%m.%Y %H:%M", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["points"] == 2
    assert "numbers read with a decimal comma ('1,5' is 1.5)" in json.dumps(
        json.loads(result.stdout)["notes"]
    )
    # A comma-separated export quotes its decimal commas: --decimal is named for those.
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('Zeitstempel,Leistung [kW]\n31.12.2024 23:00,"1,5"\n01.01.2025 00:00,"2,5"\n')
    wrong = runner.invoke(app, ["import", str(quoted), "--db", db_url, "--name", "q"])
    # The header's unit in brackets is printed as written, not eaten as console markup.
    assert wrong.exit_code == 2 and "column 'Leistung [kW]'" in wrong.stderr
    assert "(--decimal ,)" in wrong.stderr
    options = ["--decimal", ",", "--time-format", "%d.%m.%Y %H:%M", "--json", "--name", "q"]
    fixed = runner.invoke(app, ["import", str(quoted), "--db", db_url, *options])
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout)["points"] == 2
    dst = tmp_path / "dst.csv"
    dst.write_text("timestamp,v\n2024-03-31 01:30,1\n2024-03-31 02:30,2\n")
    skipped = runner.invoke(
        app, ["import", str(dst), "--db", db_url, "--timezone", "Europe/Berlin"]
    )
    assert skipped.exit_code == 2
    assert "do not exist in Europe/Berlin (the clocks skipped them) at line 3" in skipped.stderr
    bad = runner.invoke(app, ["import", str(f), "--db", db_url, "--decimal", ";"])
    assert bad.exit_code == 2 and "--decimal: expected '.' or ','" in bad.stderr


def test_import_leaves_out_the_columns_not_named(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "logger.csv"
    rows = "".join(
        f"2024-01-01T{h:02d}:00Z,{h},{'OK' if h % 2 else 'CHECK'},{h * 2}\n" for h in range(6)
    )
    f.write_text("time,temp,status,hum\n" + rows)
    # A status column of words is left out unasked, with a note; codes with digits are refused.
    words = runner.invoke(app, ["import", str(f), "--db", db_url, "--json"])
    assert words.exit_code == 0, words.output
    said = json.loads(words.stdout)
    assert said["missing_cells"] == {"temp": 0, "hum": 0}
    assert any("column(s) of words, not readings, left out: 'status'" in n for n in said["notes"])
    coded = tmp_path / "coded.csv"
    coded.write_text(f.read_text().replace("CHECK", "E42"))
    refused = runner.invoke(app, ["import", str(coded), "--db", db_url])
    assert refused.exit_code == 2 and "naming the columns to import (--columns" in refused.stderr
    result = runner.invoke(
        app, ["import", str(coded), "--db", db_url, "--columns", "temp,hum", "--json"]
    )
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["points"] == 12 and imported["missing_cells"] == {"temp": 0, "hum": 0}


def test_import_a_file_excel_saved_on_windows_by_its_encoding(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes("Datum;Uhrzeit;Temperatur [°C]\n31.12.2024;23:00;1,5\n".encode("cp1252"))
    options = ["--decimal", ",", "--time-format", "%d.%m.%Y %H:%M", "--db", db_url]
    refused = runner.invoke(app, ["import", str(f), *options])
    assert refused.exit_code == 2 and "--encoding cp1252" in " ".join(refused.stderr.split())
    # 'Datum' and 'Uhrzeit' (German for date and time of day) are found by name and joined.
    options += ["--encoding", "cp1252"]
    result = runner.invoke(app, ["import", str(f), *options, "--json"])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert [(s["name"], s["unit"]) for s in imported["series"]] == [("Temperatur", "°C")]
    assert imported["start"].startswith("2024-12-31T23:00")
    assert (
        "times read from the columns 'Datum' (date) and 'Uhrzeit' (time of day)"
        in (imported["notes"])
    )
    bad = runner.invoke(app, ["import", str(f), *options, "--encoding", "klingon"])
    assert bad.exit_code == 2 and "'klingon' is not a text encoding" in bad.stderr


def test_import_append_adds_a_newer_export(db_url: str, tmp_path: Path) -> None:
    first, newer = tmp_path / "first.csv", tmp_path / "newer.csv"
    first.write_text("time,kw\n" + "".join(f"2024-01-01T{h:02d}:00Z,{h}\n" for h in range(6)))
    newer.write_text("time,kw\n" + "".join(f"2024-01-01T{h:02d}:00Z,{h}\n" for h in range(4, 9)))
    assert runner.invoke(app, ["import", str(first), "-n", "meter", "--db", db_url]).exit_code == 0
    taken = runner.invoke(app, ["import", str(newer), "-n", "meter", "--db", db_url])
    assert taken.exit_code == 2 and "--append" in taken.stderr
    result = runner.invoke(app, ["import", str(newer), "-n", "meter", "--append", "--db", db_url])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert said.startswith("appended to meter (id 1): 9 points in 1 series")
    assert "appended 3 new point(s) to dataset 'meter'; 2 already stored" in said
    both = runner.invoke(app, ["import", str(newer), "-n", "meter", "--append", "--replace"])
    assert both.exit_code == 2 and "--append and --replace exclude each other" in both.stderr


def test_import_a_long_format_export_by_its_series_column(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "readings.csv"
    rows = "".join(
        f"2024-01-01T{h:02d}:00Z,{s},{h + k}\n" for h in range(6) for k, s in enumerate("ab")
    )
    f.write_text("time,sensor,value\n" + rows)
    refused = runner.invoke(app, ["import", str(f), "--db", db_url])
    assert refused.exit_code == 2 and "--series-column 'sensor'" in refused.stderr
    result = runner.invoke(
        app, ["import", str(f), "--db", db_url, "--series-column", "sensor", "--json"]
    )
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["points"] == 12 and imported["missing_cells"] == {"a": 0, "b": 0}


def test_import_a_noaa_buoy_file_as_published(db_url: str, tmp_path: Path) -> None:
    # NDBC's historical standard meteorological file, lines as the agency writes them.
    f = tmp_path / "41001h2023.txt"
    rows = [
        f"2023 01 01 {h:02d} 50 {200 + h:3d}  5.{h % 10}  {0.7 + h / 100:.2f}  14.{h % 10}  "
        f"{'9999.0' if h in (3, 4) else f'{1013 + h / 10:.1f}'} 99.0 99.00"
        for h in range(12)
    ]
    f.write_text(
        "#YY  MM DD hh mm WDIR WSPD  WVHT  WTMP   PRES  VIS  TIDE\n"
        "#yr  mo dy hr mn degT  m/s     m  degC    hPa  nmi    ft\n" + "\n".join(rows) + "\n"
    )
    result = runner.invoke(app, ["import", str(f), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert [(s["name"], s["unit"]) for s in imported["series"]] == [
        ("WDIR", "degT"),
        ("WSPD", "m/s"),
        ("WVHT", "m"),
        ("WTMP", "degC"),
        ("PRES", "hPa"),
    ]
    assert imported["start"].startswith("2023-01-01T00:50")
    assert imported["missing_cells"]["PRES"] == 2
    notes = " ".join(imported["notes"])
    assert "times read from the columns '#YY', 'MM', 'DD', 'hh' and 'mm'" in notes
    assert "column(s) 'VIS', 'TIDE' left out" in notes


def test_import_an_excel_workbook(db_url: str, tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Plant 3, hourly"])
    sheet.append(["Zeit", "Last [MW]"])
    for h in range(48):
        sheet.append([datetime(2024, 1, 1) + timedelta(hours=h), 40 + h % 24])
    f = tmp_path / "plant.xlsx"
    book.save(f)
    result = runner.invoke(app, ["import", str(f), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["name"] == "plant" and imported["points"] == 48
    assert [(s["name"], s["unit"]) for s in imported["series"]] == [("Last", "MW")]
    assert imported["start"].startswith("2024-01-01T00:00")
    assert imported["notes"] == ["above the header, read as titles: 'Plant 3, hourly'"]
    # Another sheet first: named with --sheet.
    book.move_sheet(book.create_sheet("Cover"), offset=-1)
    book.save(f)
    refused = runner.invoke(app, ["import", str(f), "-n", "again", "--db", db_url])
    assert refused.exit_code == 2 and "its other sheets: 'Sheet' (--sheet)" in refused.stderr
    named = ["import", str(f), "-n", "again", "--sheet", "Sheet", "--db", db_url, "--json"]
    result = runner.invoke(app, named)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["points"] == 48


def test_import_several_files_as_one_dataset_or_none(db_url: str, tmp_path: Path) -> None:
    """A logger's daily files: read first, stored together; a refused one stores none."""
    days = []
    for day in (1, 2, 3):
        f = tmp_path / f"2024-01-0{day}.csv"
        f.write_text(
            "time,temp\n" + "".join(f"2024-01-0{day}T{h:02d}:00Z,{day + h}\n" for h in (0, 6, 12))
        )
        days.append(f)
    names = [str(d) for d in days]
    unnamed = runner.invoke(app, ["import", *names, "--db", db_url])
    assert unnamed.exit_code == 2 and "3 files make one dataset: name it with --name" in (
        unnamed.stderr
    )
    # The second day's file repeats a time of the third with another value: refused by name.
    with days[1].open("a") as f:
        f.write("2024-01-03T12:00Z,99\n")
    clash = runner.invoke(app, ["import", *names, "-n", "logger", "--db", db_url])
    assert clash.exit_code == 2
    assert " ".join(clash.stderr.split()).startswith(
        "error: 2024-01-03.csv: series 'temp': 1 time(s) already stored with another value"
    )
    listed = runner.invoke(app, ["datasets", "--db", db_url, "--json"])
    assert json.loads(listed.stdout) == []  # the first two files were not kept either
    result = runner.invoke(
        app, ["import", *names, "-n", "logger", "--on-duplicate", "last", "--db", db_url, "--json"]
    )
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["files"] == 3 and imported["points"] == 9
    assert imported["end"].startswith("2024-01-03T12:00")
    assert imported["notes"] == [
        "2024-01-03.csv: appended 2 new point(s) to dataset 'logger'; 1 stored with another "
        "value merged into it"
    ]
    # An older file appended later fills the days before: the order of files does not matter.
    later = runner.invoke(app, ["import", names[2], names[0], "-n", "again", "--db", db_url])
    assert later.exit_code == 0, later.output
    assert "imported again from 2 files" in " ".join(later.stdout.split())


def test_import_a_meter_register_as_its_increase(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "meter.csv"
    f.write_text(
        "time,energy [kWh]\n"
        + "".join(f"2024-01-01T{h:02d}:00Z,{1000 + 2.5 * h}\n" for h in range(6))
    )
    result = runner.invoke(app, ["import", str(f), "--counter", "energy", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["points"] == 5 and imported["missing_cells"] == {"energy": 1}
    assert imported["notes"] == ["'energy [kWh]' read as a running total: its increase per reading"]
    refused = runner.invoke(app, ["import", str(f), "--counter", "kwh", "--db", db_url])
    assert refused.exit_code == 2 and "counter: 'kwh' is not a value column" in refused.stderr


def _points(db_url: str, name: str) -> dict[str, float]:
    from gapcast.cli.common import database
    from gapcast.db.repository import load_dataset_frame

    with database(db_url) as sessions, sessions() as session:
        frame = load_dataset_frame(session, name)
    df = frame.to_pandas().set_index("timestamp").iloc[:, 0].dropna()
    return {t.strftime("%dT%H"): float(v) for t, v in df.items()}


def test_a_running_total_continues_across_files_and_appends(db_url: str, tmp_path: Path) -> None:
    """A meter's daily exports: each file's first increase is measured from the file before
    (listed in any order), and from the stored total when a later export is appended."""

    def export(day: int, hours: range, start: float) -> Path:
        f = tmp_path / f"meter-{day}.csv"
        rows = "".join(
            f"2024-01-{day:02d}T{h:02d}:00Z,{start + 2 * i}\n" for i, h in enumerate(hours)
        )
        f.write_text("time,energy [kWh]\n" + rows)
        return f

    # 1 Jan 20:00-23:00 reads 100..106; 2 Jan 00:00-03:00 108..114; 3 Jan restarts from 1 at
    # 00:00 after a gap of 20 hours (an outage: left missing).
    first, second = export(1, range(20, 24), 100.0), export(2, range(4), 108.0)
    args = ["--counter", "energy", "-n", "meter", "--db", db_url, "--json"]
    result = runner.invoke(app, ["import", str(second), str(first), *args])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["points"] == 7  # 3 + 1 across midnight + 3
    assert json.loads(result.stdout)["series"][0]["running_total"] is True
    assert _points(db_url, "meter")["02T00"] == 2.0
    later = tmp_path / "meter-2b.csv"
    later.write_text("time,energy [kWh]\n2024-01-02T04:00Z,117\n2024-01-02T05:00Z,1.5\n")
    appended = runner.invoke(app, ["import", str(later), "--append", *args])
    assert appended.exit_code == 0, appended.output
    out = json.loads(appended.stdout)
    assert out["points"] == 9 and "measured from the stored running total" in out["notes"][-1]
    points = _points(db_url, "meter")
    assert points["02T04"] == 3.0 and points["02T05"] == 1.5  # then the meter restarted
    # An older export appended after (as the page and --server send files in the order
    # chosen): the stored first reading's increase (1 Jan 20:00 opened the first file) is
    # measured from the older file's last total.
    older = tmp_path / "meter-0.csv"
    older.write_text("time,energy [kWh]\n2024-01-01T18:00Z,95\n2024-01-01T19:00Z,98\n")
    back = runner.invoke(app, ["import", str(older), "--append", *args])
    assert back.exit_code == 0, back.output
    assert "measured from the file's last (an older export)" in json.loads(back.stdout)["notes"][-1]
    assert {k: v for k, v in _points(db_url, "meter").items() if k < "01T21"} == {
        "01T19": 3.0,
        "01T20": 2.0,
    }
    gap = runner.invoke(app, ["import", str(export(3, range(2), 1.0)), "--append", *args])
    assert gap.exit_code == 0 and json.loads(gap.stdout)["points"] == 12  # 03T00 left missing
    assert "03T00" not in _points(db_url, "meter")
    # The same series appended as raw readings, or a plain series as increases: refused.
    raw = runner.invoke(app, ["import", str(later), "--append", "-n", "meter", "--db", db_url])
    assert raw.exit_code == 2 and "append the file's column the same way: --counter energy" in (
        " ".join(raw.stderr.split())
    )
    plain = runner.invoke(app, ["import", str(first), "-n", "plain", "--db", db_url])
    assert plain.exit_code == 0, plain.output
    mixed = runner.invoke(
        app, ["import", str(second), "--append", *args[:2], "-n", "plain", "--db", db_url]
    )
    assert mixed.exit_code == 2 and "was imported as it was read, not as a running total" in (
        " ".join(mixed.stderr.split())
    )


def test_a_dataset_remembers_the_zone_it_was_imported_in(db_url: str, tmp_path: Path) -> None:
    # A logger writing Berlin wall-clock times, exported twice; the newer export repeats an hour.
    first, newer = tmp_path / "first.csv", tmp_path / "newer.csv"
    first.write_text("time,kw\n" + "".join(f"2024-07-01 {h:02d}:00,{h}\n" for h in range(6)))
    newer.write_text("time,kw\n" + "".join(f"2024-07-01 {h:02d}:00,{h}\n" for h in range(5, 9)))
    zone = ("--timezone", "Europe/Berlin")
    result = runner.invoke(app, ["import", str(first), "-n", "m", *zone, "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["timezone"] == "Europe/Berlin"
    assert imported["start"].startswith("2024-06-30T22:00:00")  # 00:00 in Berlin, summer time
    # The newer export, without being told the zone again, lands on the stored times.
    result = runner.invoke(app, ["import", str(newer), "-n", "m", "--append", "--db", db_url])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    read = "times without an offset read in Europe/Berlin, the zone dataset 'm' was imported in"
    assert read in said
    assert "appended 3 new point(s) to dataset 'm'; 1 already stored with the same value" in said
    listed = runner.invoke(app, ["datasets", "--db", db_url])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if line.startswith("1 "))
    # Its times as the file wrote them, with the zone named.
    assert "2024-07-01" in row and "2024-07-01 08:00" in row and "Europe/Berlin" in row, row
    assert "zone" in listed.stdout.splitlines()[0]
    stored = json.loads(runner.invoke(app, ["datasets", "--db", db_url, "--json"]).stdout)
    assert stored[0]["points"] == 9 and stored[0]["end"].startswith("2024-07-01T06:00:00")
    # Told another zone, the append reads in it, says so, and the dataset keeps it from then on.
    later = tmp_path / "later.csv"
    later.write_text("time,kw\n2024-07-01 07:00,9\n")  # 09:00 in Berlin
    result = runner.invoke(
        app, ["import", str(later), "-n", "m", "--append", "--timezone", "UTC", "--db", db_url]
    )
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "read in UTC from now on (they were in Europe/Berlin)" in said, said
    assert "the zone dataset" not in said
    stored = json.loads(runner.invoke(app, ["datasets", "--db", db_url, "--json"]).stdout)
    assert stored[0]["timezone"] == "UTC" and stored[0]["end"].startswith("2024-07-01T07:00:00")


def test_a_dataset_imported_without_a_zone_has_none(db_url: str, tmp_path: Path) -> None:
    f = tmp_path / "utc.csv"
    f.write_text("time,kw\n" + "".join(f"2024-07-01 {h:02d}:00,{h}\n" for h in range(4)))
    result = runner.invoke(app, ["import", str(f), "-n", "u", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["timezone"] is None
    more = tmp_path / "more.csv"
    more.write_text("time,kw\n2024-07-01 04:00,4\n")
    result = runner.invoke(app, ["import", str(more), "-n", "u", "--append", "--db", db_url])
    assert result.exit_code == 0 and "read in" not in result.stdout, result.output
    listed = runner.invoke(app, ["datasets", "--db", db_url])
    assert "zone" not in listed.stdout.splitlines()[0]  # no column for a zone nobody gave


def test_import_a_query_s_answer_from_a_database(db_url: str, tmp_path: Path) -> None:
    """--sql/--from read where the readings already live (here the test's own database, of
    each kind): NUMERIC as numbers, a time without a zone in --timezone, refusals named."""
    from sqlalchemy import text

    from gapcast.db.session import make_engine

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE plant_readings (ts TIMESTAMP, kw NUMERIC(8, 2), note TEXT)")
        )
        for h in range(24):
            conn.execute(
                text("INSERT INTO plant_readings VALUES (:ts, :kw, 'ok')"),
                {"ts": f"2024-07-01 {h:02d}:00:00", "kw": f"{10 + h / 4:.2f}"},
            )
    engine.dispose()
    query = ["--sql", "SELECT ts, kw FROM plant_readings ORDER BY ts", "--from", db_url]
    args = ["import", *query, "--name", "plant", "--timezone", "Europe/Berlin", "--db", db_url]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert imported["points"] == 24 and [s["name"] for s in imported["series"]] == ["kw"]
    assert imported["start"].startswith("2024-06-30T22:00:00")  # 00:00 in Berlin
    assert imported["timezone"] == "Europe/Berlin"
    listed = json.loads(runner.invoke(app, ["datasets", "--db", db_url, "--json"]).stdout)
    assert [d["name"] for d in listed] == ["plant"]
    # Refusals name the option, and the database's own words.
    wrong = runner.invoke(
        app, ["import", "--sql", "SELECT tss FROM plant_readings", "--from", db_url, "-n", "x"]
    )
    assert wrong.exit_code == 2 and "--sql: the database refused the query:" in wrong.stderr
    assert "tss" in wrong.stderr
    # A column of words in the answer ('ok') is left out, as a file's would be.
    everything = ["--sql", "SELECT * FROM plant_readings", "--from", db_url]
    text_too = runner.invoke(app, ["import", *everything, "-n", "noted", "--db", db_url, "--json"])
    assert text_too.exit_code == 0, text_too.output
    answer = json.loads(text_too.stdout)
    assert [s["name"] for s in answer["series"]] == ["kw"]
    assert any("left out: 'note' ('ok')" in n for n in answer["notes"]), answer["notes"]
    for bad, said in (
        (["--sql", "SELECT 1"], "--sql needs --from"),
        (["--from", db_url], "--from names the database --sql runs on"),
        ([*query, str(tmp_path / "f.csv")], "give it without files"),
        (query, "needs a dataset name: --name"),
        ([], "give a file to import, or --sql and --from"),
        (
            [
                "--sql",
                "SELECT ts, kw FROM plant_readings WHERE kw < 0",
                "--from",
                db_url,
                "-n",
                "y",
            ],
            "the query returned no rows",
        ),
        (["--sql", "SELECT 1", "--from", "nonsense", "-n", "y"], "nonsense is not a database URL"),
    ):
        refused = runner.invoke(app, ["import", *bad, "--db", db_url])
        assert refused.exit_code == 2 and said in " ".join(refused.stderr.split()), refused.output
    # Nothing stored by any refusal.
    listed = json.loads(runner.invoke(app, ["datasets", "--db", db_url, "--json"]).stdout)
    assert [d["name"] for d in listed] == ["plant", "noted"]


def test_import_a_folder_of_daily_exports_as_one_dataset(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "logger-7"
    folder.mkdir()
    for day in (3, 1, 2):  # written in any order: read in name order, stored by time
        rows = "".join(f"2024-01-0{day}T{h:02d}:00:00Z,{day * 10 + h}\n" for h in range(3))
        (folder / f"2024-01-0{day}.csv").write_text("time,kw\n" + rows)
    (folder / "README.md").write_text("exported by the logger\n")
    (folder / "archive").mkdir()  # not read: subfolders are left alone
    (folder / "archive" / "old.csv").write_text("time,kw\n2023-01-01T00:00:00Z,1\n")
    result = runner.invoke(app, ["import", str(folder), "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    imported = json.loads(result.stdout)
    assert (imported["name"], imported["points"], imported["files"]) == ("logger-7", 9, 3)
    assert imported["start"].startswith("2024-01-01T00:00:00")
    assert imported["notes"][0] == (
        "folder logger-7: 3 file(s) read, in name order; left out: README.md"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = runner.invoke(app, ["import", str(empty), "--db", db_url])
    assert refused.exit_code == 2 and "holds no data file (.csv" in refused.stderr
