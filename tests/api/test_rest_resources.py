"""REST resources without training: datasets, configs, runs, errors, OpenAPI, health."""

from __future__ import annotations

import gzip
import io

import pandas as pd

from gapcast.api.testing import LiveServer


def test_healthz_and_openapi(live_server: LiveServer) -> None:
    with live_server.http() as http:
        health = http.get("/healthz").json()
        assert health["status"] == "ok" and health["workers_max"] == 1
        paths = http.get("/openapi.json").json()["paths"]
        for path in (
            "/datasets",
            "/configs/{ref}",
            "/runs/{run_id}/model",
            "/runs/{run_id}/predict",
        ):
            assert path in paths
        assert http.get("/docs").status_code == 200


def test_dataset_list_and_show_with_gap_summary(live_server: LiveServer) -> None:
    with live_server.http() as http:
        names = [d["name"] for d in http.get("/datasets").json()]
        assert "co2" in names
        shown = http.get("/datasets/co2").json()
        assert shown["series"][0]["name"] == "co2_ppm"
        assert shown["frequency"] == "7 days 00:00:00"
        gaps = shown["gaps"]
        assert gaps["n_gaps"] > 0 and gaps["n_large"] > 0
        assert 0.9 < gaps["observed_fraction"] < 1.0
        by_id = http.get(f"/datasets/{shown['id']}").json()
        assert by_id["name"] == "co2"
        # Times say their zone on every database (SQLite's came without one: a browser read
        # them as its own local time).
        for when in (shown["start"], shown["end"], shown["created_at"]):
            assert when.endswith("Z"), when
        listed = http.get("/datasets").json()[0]
        assert listed["created_at"].endswith("Z")


def test_dataset_upload_errors_and_replace_and_delete(live_server: LiveServer) -> None:
    csv = b"timestamp,value\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n"
    with live_server.http() as http:
        first = http.post("/datasets", files={"file": ("d.csv", csv)}, data={"name": "d"})
        assert first.status_code == 201
        again = http.post("/datasets", files={"file": ("d.csv", csv)}, data={"name": "d"})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "conflict"
        replaced = http.post(
            "/datasets", files={"file": ("d.csv", csv)}, data={"name": "d", "replace": "true"}
        )
        assert replaced.status_code == 201

        bad = http.post(
            "/datasets",
            files={"file": ("e.csv", b"timestamp,value\n2024-01-01,1\nnot a date,2\n")},
        )
        assert bad.status_code == 422
        error = bad.json()["error"]
        assert error["code"] == "invalid_input" and "line 3" in error["message"]

        # A long-format export (one row per sensor and time): one series per sensor.
        long = b"time,sensor,v\n2024-01-01,a,1\n2024-01-01,b,5\n2024-01-02,a,2\n2024-01-02,b,6\n"
        pivoted = http.post(
            "/datasets", files={"file": ("long.csv", long)}, data={"series_column": "sensor"}
        )
        assert pivoted.status_code == 201, pivoted.text
        assert [s["name"] for s in pivoted.json()["series"]] == ["a", "b"]
        assert pivoted.json()["points"] == 4

        parquet = io.BytesIO()
        frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=5, freq="h")})
        frame["v"] = range(5)
        frame.to_parquet(parquet)
        pq = http.post("/datasets", files={"file": ("p.parquet", parquet.getvalue())})
        assert pq.status_code == 201 and pq.json()["name"] == "p" and pq.json()["notes"] == []

        # A gzipped export whose station wrote -9999 for "no reading": read, and said so.
        rows = "".join(
            f"2024-01-01T{h:02d}:00Z,{-9999 if h in (4, 9) else 10 + h % 5}\n" for h in range(24)
        )
        station = gzip.compress(f"timestamp,temp\n{rows}".encode())
        marked = http.post("/datasets", files={"file": ("station.csv.gz", station)})
        assert marked.status_code == 201, marked.text
        assert marked.json()["name"] == "station" and marked.json()["points"] == 22
        assert marked.json()["notes"] == [
            "'temp': 2 cells of -9999 read as missing (a missing-value marker far outside the "
            "other values)"
        ]

        # A workbook's second sheet, and a meter's running total, by the form's fields.
        from openpyxl import Workbook

        book = Workbook()
        book.create_sheet("Meter").append(["time", "kwh"])
        for h in range(5):
            book["Meter"].append([f"2024-01-01T{h:02d}:00Z", 100 + 3 * h])
        workbook = io.BytesIO()
        book.save(workbook)
        sheet = http.post(
            "/datasets",
            files={"file": ("meter.xlsx", workbook.getvalue())},
            data={"sheet": "Meter", "counter": "kwh"},
        )
        assert sheet.status_code == 201, sheet.text
        assert sheet.json()["points"] == 4  # four increases of 3 kWh
        # The next export: its first increase is measured from the stored total (112 at 04:00).
        later = "time,kwh\n" + "".join(f"2024-01-01T{h:02d}:00Z,{100 + 3 * h}\n" for h in (5, 6))
        more = http.post(
            "/datasets",
            files={"file": ("meter.csv", later.encode())},
            data={"name": "meter", "append": "true", "counter": "kwh"},
        )
        assert more.status_code == 200, more.text
        assert more.json()["points"] == 6
        assert more.json()["series"][0]["running_total"] is True
        assert (
            "the increase at the first reading of 'kwh' measured from the stored"
            in (more.json()["notes"][-1])
        )
        raw = http.post(
            "/datasets",
            files={"file": ("meter.csv", b"time,kwh\n2024-01-01T07:00Z,121\n")},
            data={"name": "meter", "append": "true"},
        )
        assert raw.status_code == 422 and raw.json()["error"]["field"] == "counter"
        assert http.get("/datasets/meter").json()["points"] == 6  # nothing of it stored
        # An API's JSON export: records, a reading missing as null.
        api = b'[{"time": "2024-01-01T00:00Z", "load": 5}, ' + (
            b'{"time": "2024-01-01T01:00Z", "load": null}]'
        )
        posted = http.post("/datasets", files={"file": ("load.json", api)})
        assert posted.status_code == 201, posted.text
        assert posted.json()["name"] == "load" and posted.json()["points"] == 1
        # An older export sent after (the page sends files in the order chosen): the stored
        # first reading's increase (00:00, lost when the workbook opened with it) is measured
        # from the older file's last total.
        older = "time,kwh\n2023-12-31T22:00Z,94\n2023-12-31T23:00Z,97\n"
        back = http.post(
            "/datasets",
            files={"file": ("meter-0.csv", older.encode())},
            data={"name": "meter", "append": "true", "counter": "kwh"},
        )
        assert back.status_code == 200, back.text
        assert back.json()["points"] == 8  # 23:00 (3 since 22:00) and 00:00 (3 since 23:00)
        assert "measured from the file's last (an older export)" in back.json()["notes"][-1]
        unknown = http.post(
            "/datasets",
            files={"file": ("meter.xlsx", workbook.getvalue())},
            data={"sheet": "Zähler", "name": "other"},
        )
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "sheet"

        # Read, not stored: the columns a predict request takes, from the same reader.
        stored = len(http.get("/datasets").json())
        read = http.post(
            "/files/read",
            files={"file": ("recent.csv", b"Zeit;temp [degC]\n31.12.2024 24:00;1,5\n")},
            data={"decimal": ","},
        )
        assert read.status_code == 200, read.text
        assert read.json()["data"] == {"timestamp": ["2025-01-01T00:00:00+00:00"], "temp": [1.5]}
        assert read.json()["units"] == {"temp": "degC"}
        assert len(http.get("/datasets").json()) == stored
        refused = http.post("/files/read", files={"file": ("x.csv", b"time,v\nsoon,1\n")})
        assert refused.status_code == 422 and "line 2" in refused.json()["error"]["message"]

        big = b"timestamp,value\n" + b"2024-01-01,1\n" * 200_000
        too_large = http.post("/datasets", files={"file": ("big.csv", big)})
        assert too_large.status_code == 413
        assert too_large.json()["error"]["code"] == "too_large"

        assert http.delete("/datasets/d").status_code == 204
        missing = http.get("/datasets/d")
        assert missing.status_code == 404
        assert "no dataset 'd'" in missing.json()["error"]["message"]
        # "²" is a digit to str.isdigit but no number to int(): a name, not a crash
        assert http.get("/datasets/²").status_code == 404


def test_config_crud_with_field_errors(live_server: LiveServer) -> None:
    body = {"name": "weekly", "config": {"model": "mlp", "training": {"epochs": 3}}}
    with live_server.http() as http:
        created = http.post("/configs", json=body)
        assert created.status_code == 201, created.text
        stored = created.json()
        assert stored["config"]["hyperparameters"]["units"] >= 1  # defaults filled in
        assert http.post("/configs", json=body).status_code == 409

        steps = [{"step": "scale"}] * 6 + [{"step": "window", "lookback": 0}]
        bad = http.put("/configs/weekly", json={"config": {"preprocessing": steps}})
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "config.preprocessing[6].lookback"

        bad_hp = http.post(
            "/configs",
            json={"name": "x", "config": {"model": "mlp", "hyperparameters": {"units": 0}}},
        )
        assert bad_hp.status_code == 422
        assert bad_hp.json()["error"]["field"] == "config.hyperparameters.units"

        no_name = http.post("/configs", json={"config": {}})
        assert no_name.status_code == 422
        assert no_name.json()["error"]["field"] == "name"

        updated = http.put("/configs/weekly", json={"config": {"model": "linear"}})
        assert updated.json()["model"] == "linear"
        assert [c["name"] for c in http.get("/configs").json()] == ["weekly"]
        assert http.get(f"/configs/{stored['id']}").json()["name"] == "weekly"
        assert http.delete("/configs/weekly").status_code == 204
        assert http.get("/configs/weekly").status_code == 404


def test_run_routes_errors(live_server: LiveServer) -> None:
    with live_server.http() as http:
        assert http.get("/runs/nope").status_code == 404
        assert http.post("/runs/nope/cancel").status_code == 404
        assert http.get("/runs/nope/model").status_code == 404
        bad_filter = http.get("/runs", params={"status": "sleeping"})
        assert bad_filter.status_code == 422
        assert bad_filter.json()["error"]["field"] == "status"
        bad = http.post("/runs", json={"dataset": "nope"})
        assert bad.status_code == 404
        assert bad.json()["error"]["field"] == "dataset"


def test_series_buckets_its_gaps_like_its_values(live_server: LiveServer) -> None:
    with live_server.http() as http:
        full = http.get("/datasets/co2/series", params={"max_points": 4000}).json()
        coarse = http.get("/datasets/co2/series", params={"max_points": 40}).json()
    assert full["bucket"] == 1 and len(full["gaps"]) == 22
    assert all(g["count"] == 1 for g in full["gaps"])
    assert full["gap_counts"] == coarse["gap_counts"] == {"small": 18, "large": 4}
    # 58-point buckets: gaps of one kind within a bucket of each other become one span, and the
    # spans still hold every gap and every missing point.
    assert coarse["bucket"] == 58 and len(coarse["gaps"]) < 22
    for key in ("count", "length"):
        for kind in ("small", "large"):
            assert sum(g[key] for g in coarse["gaps"] if g["kind"] == kind) == sum(
                g[key] for g in full["gaps"] if g["kind"] == kind
            )
    starts = [g["start"] for g in coarse["gaps"]]
    assert starts == sorted(starts)


def test_a_series_read_on_a_step_of_its_own_has_its_gaps_counted_there(
    live_server: LiveServer,
) -> None:
    """A logger's 1-minute temperatures with a voltage every 10 minutes: the voltage's 9 empty
    minutes in 10 are not gaps; its one lost reading (an hour's worth of minutes) is."""
    minutes = 6 * 60
    rows = []
    for m in range(minutes):
        volts = "12.5" if m % 10 == 0 and m != 120 else ""
        rows.append(f"2025-01-01T{m // 60:02d}:{m % 60:02d}:00Z,{20 + m / 100},{volts}\n")
    data = ("timestamp,temp,volts\n" + "".join(rows)).encode()
    with live_server.http() as http:
        assert http.post("/datasets", files={"file": ("mixed.csv", data)}).status_code == 201
        gaps = http.get("/datasets/mixed").json()["gaps"]
        series = http.get("/datasets/mixed/series").json()
        http.delete("/datasets/mixed")
    assert gaps["n_gaps"] == 1 and gaps["missing_points"] == 1
    assert gaps["steps_ns"] == {"temp": 60 * 10**9, "volts": 600 * 10**9}
    assert series["gap_counts"] == {"small": 1, "large": 0}
    assert series["own_steps_s"] == {"volts": 600.0}  # the page joins its line across its nulls
    assert [(g["channel"], g["start"], g["length"]) for g in series["gaps"]] == [
        ("volts", 1735696800.0, 1)  # 02:00, the reading that never came
    ]


def test_merge_gaps_joins_only_near_gaps_of_one_channel_and_kind() -> None:
    import numpy as np

    from gapcast.api.routes.series import merge_gaps

    s = 10**9  # times in ns in, unix seconds out
    gaps = {  # (channel, start, end, large) — given out of order
        "channel_index": np.array([0, 0, 0, 0, 1]),
        "start": np.array([30, 0, 5, 3, 2]) * s,
        "end": np.array([31, 1, 5, 3, 2]) * s,
        "length": np.array([2, 2, 1, 1, 1]),
        "large": np.array([False, False, False, True, False]),
    }
    merged = merge_gaps(channels=["a", "b"], reach_ns=10 * s, **gaps)
    assert [(g.channel, g.kind, g.start, g.end, g.count, g.length) for g in merged] == [
        ("a", "small", 0, 5, 2, 3),
        ("b", "small", 2, 2, 1, 1),
        ("a", "large", 3, 3, 1, 1),
        ("a", "small", 30, 31, 1, 2),
    ]
    every = merge_gaps(channels=["a", "b"], reach_ns=0, **gaps)
    assert [(g.start, g.count) for g in every] == [(0, 1), (2, 1), (3, 1), (5, 1), (30, 1)]


HUGE_IDS = [2**31, 2**63, 3584247239885692338176, 10**30]


def test_ids_beyond_every_integer_column_are_not_found(live_server: LiveServer) -> None:
    """Issue 17: SQLite raised OverflowError (a 500) where PostgreSQL answered a DataError."""
    with live_server.http() as http:
        before = http.get("/runs").json()
        for huge in HUGE_IDS:
            for path in (f"/datasets/{huge}", f"/configs/{huge}", f"/datasets/{huge}/series"):
                response = http.get(path)
                assert response.status_code == 404, (path, response.text)
            for body in (
                {"dataset": huge},
                {"dataset": str(huge)},
                {"dataset": "co2", "config": huge},
            ):
                response = http.post("/runs", json=body)
                assert response.status_code == 404, (body, response.text)
                assert response.json()["error"]["field"] in ("dataset", "config")
            sweep = {
                "dataset": huge,
                "space": {"learning_rate": {"type": "float", "low": 0.001, "high": 0.01}},
            }
            response = http.post("/sweeps", json=sweep)
            assert response.status_code == 404, response.text
            events = http.get(f"/runs/x/events?after={huge}")
            assert events.status_code == 422 and events.json()["error"]["field"] == "after"
        assert http.get("/runs").json() == before
        assert http.get("/sweeps").json() == []


def test_a_dataset_keeps_its_zone_for_appends_and_its_runs(live_server: LiveServer) -> None:
    # A Berlin logger's export, then a newer one sent without its zone: it lands on Berlin time.
    first = "time,kw\n" + "".join(f"2024-01-15 {h:02d}:00,{h}\n" for h in range(6))
    newer = "time,kw\n2024-01-15 05:00,5\n2024-01-15 06:00,6\n"
    with live_server.http() as http:
        made = http.post(
            "/datasets",
            files={"file": ("berlin.csv", first.encode())},
            data={"name": "berlin", "timezone": "Europe/Berlin"},
        )
        assert made.status_code == 201, made.text
        assert made.json()["timezone"] == "Europe/Berlin"
        assert made.json()["start"] == "2024-01-14T23:00:00Z"  # winter: UTC+1
        appended = http.post(
            "/datasets",
            files={"file": ("newer.csv", newer.encode())},
            data={"name": "berlin", "append": "true"},
        )
        assert appended.status_code == 200, appended.text
        body = appended.json()
        assert body["end"] == "2024-01-15T05:00:00Z" and body["points"] == 7
        assert body["notes"][0] == (
            "times without an offset read in Europe/Berlin, the zone dataset 'berlin' was "
            "imported in (the timezone option, --timezone, reads them in another)"
        )
        assert "1 already stored with the same value(s) kept once" in body["notes"][-1]
        assert http.get("/datasets/berlin").json()["timezone"] == "Europe/Berlin"
        assert http.get("/datasets/co2").json()["timezone"] is None


def test_a_series_added_later_has_no_gap_before_its_first_reading(
    live_server: LiveServer,
) -> None:
    """Two meters in one file, the second installed after two days: the rows before its first
    reading are no outage of it; its one lost reading is."""
    rows = []
    for h in range(24 * 4):
        second = "" if h < 48 or h == 60 else f"{h / 10}"
        rows.append(f"2025-01-{1 + h // 24:02d}T{h % 24:02d}:00:00Z,{h},{second}\n")
    data = ("timestamp,first,second\n" + "".join(rows)).encode()
    with live_server.http() as http:
        assert http.post("/datasets", files={"file": ("later.csv", data)}).status_code == 201
        gaps = http.get("/datasets/later").json()["gaps"]
        series = http.get("/datasets/later/series").json()
        http.delete("/datasets/later")
    assert gaps["n_gaps"] == 1 and gaps["missing_points"] == 1
    assert series["gap_counts"] == {"small": 1, "large": 0}


def test_the_client_uploads_a_table_in_memory(live_server: LiveServer) -> None:
    """A notebook's frame goes to the server as it is (Parquet on the wire): a pandas frame or
    Series on its time index, or any table speaking Arrow's stream protocol (pyarrow's; polars'
    and DuckDB's too) with a time column."""
    import pyarrow as pa
    import pytest

    from gapcast.client import SyncClient

    times = pd.date_range("2024-03-01", periods=48, freq="h", tz="UTC", name="time")
    frame = pd.DataFrame({"load": [float(h % 24) for h in range(48)]}, index=times)
    client = SyncClient(live_server.url)
    tables = {
        "from-pandas": frame,
        "from-series": frame["load"],
        "from-arrow": pa.Table.from_pandas(frame.reset_index()),
        "from-arrow-stream": pa.RecordBatchReader.from_batches(
            pa.Table.from_pandas(frame.reset_index()).schema,
            pa.Table.from_pandas(frame.reset_index()).to_batches(),
        ),
    }
    try:
        for name, table in tables.items():
            made = client.upload_dataset(table, name=name)
            assert (made["points"], made["start"]) == (48, "2024-03-01T00:00:00Z"), name
            assert [s["name"] for s in made["series"]] == ["load"], name
        with pytest.raises(TypeError, match="a pandas, polars or pyarrow table; received dict"):
            client.upload_dataset({"load": [1.0]}, name="from-dict")
    finally:
        for name in tables:
            client.delete_dataset(name)
