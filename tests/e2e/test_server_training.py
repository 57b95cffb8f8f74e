"""One real run over /ws/train, shared by the tests of this module: the message sequence, the
artifacts, predictions, the run's REST views and replaying it to a late watcher."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gapcast.api.testing import Conversation, LiveServer, converse
from gapcast.client import Client

STAGES = ["queued", "loading", "preparing", "gap_classifier", "training", "evaluating", "saving"]
SAMPLE = pd.read_csv(Path(__file__).parents[2] / "src/gapcast/data/mauna_loa_co2_weekly.csv")


@pytest.fixture(scope="module")
def run(live_server: LiveServer) -> Conversation:
    request = {
        "type": "train",
        "dataset": "co2",
        "config": {"model": "linear"},
        "overrides": {
            "epochs": 2,
            "lookback": 16,
            "horizon": 4,
            "gap_classifier": "always",
            "gap_classifier_epochs": 1,
        },
    }
    return asyncio.run(converse(f"{live_server.ws_url}/ws/train", [request]))


def test_messages_in_order_with_run_id_and_seq(run: Conversation) -> None:
    accepted = run.messages[0]
    assert accepted["type"] == "accepted" and accepted["seq"] == 0
    run_id = accepted["run_id"]
    events = run.messages[1:]
    assert [m["seq"] for m in events] == list(range(1, len(events) + 1))
    assert all(m["run_id"] == run_id and isinstance(m["time"], float) for m in run.messages)
    assert [m["stage"] for m in run.of_type("status")] == STAGES
    gaps = run.of_type("gaps")[0]
    assert gaps["large"] > 0 and gaps["gap_classifier"] is True
    progress = [m for m in run.of_type("progress") if m["model"] == "forecaster"]
    # The refit's five copies (the default seed ensemble) count on as one stage of 5 x 2.
    assert {(m["phase"], m["epoch"]) for m in progress} == {
        *(("candidate", epoch) for epoch in (1, 2)),
        *(("refit", epoch) for epoch in range(1, 11)),
    }
    end_of_epoch = [m for m in progress if m.get("batch") is None]
    assert all(
        m["epochs"] == (2 if m["phase"] == "candidate" else 10) and m["loss"] > 0
        for m in end_of_epoch
    )
    # Validation loss while a candidate trains; the refit trains on the validation part too.
    assert all((m.get("val_loss") is not None) == (m["phase"] == "candidate") for m in end_of_epoch)
    assert len(run.of_type("candidate")) == 1
    assert all("samples_per_s" in m for m in progress)
    # An ETA once batches after the compiling first one were timed; always at an epoch's end.
    assert all("eta_s" in m for m in end_of_epoch)

    done = run.last
    assert done["type"] == "done" and done["status"] == "succeeded"
    assert done["epochs"] == 2 and done["runtime_s"] > 0 and done["loss"] > 0
    assert {"mae", "rmse", "mase", "leaderboard", "verdict"} <= set(done["metrics"])
    assert done["verdict"] == done["metrics"]["verdict"]
    kinds = {a["kind"] for a in done["artifacts"]}
    assert kinds == {"model", "gap_model", "plot", "pipeline", "backtest"}
    assert run.close_code == 1000


def _artifact(run: Conversation, kind: str) -> dict[str, Any]:
    return next(a for a in run.last["artifacts"] if a["kind"] == kind)


def test_artifacts_download(live_server: LiveServer, run: Conversation) -> None:
    with live_server.http() as http:
        model = http.get(_artifact(run, "model")["url"])
        assert model.status_code == 200
        assert model.headers["content-type"] == "application/x-keras"
        assert model.content[:2] == b"PK"  # a .keras archive is a zip
        assert hashlib.sha256(model.content).hexdigest() == _artifact(run, "model")["sha256"]

        encoded = http.get(_artifact(run, "model")["url"], params={"encoding": "base64"}).json()
        assert encoded["encoding"] == "base64"
        assert base64.b64decode(encoded["data"]) == model.content

        plot = http.get(_artifact(run, "plot")["url"])
        assert plot.content.startswith(b"\x89PNG") and plot.headers["content-type"] == "image/png"
        gap_model = http.get(_artifact(run, "gap_model")["url"])
        assert gap_model.content[:2] == b"PK"
        pipeline = http.get(_artifact(run, "pipeline")["url"]).json()
        assert pipeline["lookback"] == 16 and pipeline["horizon"] == 4
        listed = http.get(f"/runs/{run.last['run_id']}/artifacts").json()
        assert len(listed) == 5
        backtest = http.get(_artifact(run, "backtest")["url"]).json()
        assert (
            backtest["horizon"] == 4 and len(backtest["origins"]) == run.last["metrics"]["origins"]
        )
        assert set(backtest["forecasts"]) >= {"model", "naive"}
        # The weekly grid step, and the gap classifier's track over the test span.
        assert backtest["step_ns"] == 7 * 86400 * 10**9
        track = backtest["gap_probability"]
        assert len(track["times"]) == len(track["values"]) > 0
        assert all(0.0 <= p <= 1.0 for p in track["values"])
        assert track["times"][0] <= backtest["origins"][0] <= track["times"][-1]


def test_predict_from_dataset_and_from_posted_points(
    live_server: LiveServer, run: Conversation
) -> None:
    run_id = run.last["run_id"]
    with live_server.http() as http:
        from_dataset = http.post(f"/runs/{run_id}/predict")
        assert from_dataset.status_code == 200, from_dataset.text
        body = from_dataset.json()
        assert body["source"] == "dataset" and body["horizon"] == 4
        rows = body["forecast"]
        assert len(rows) == 4 and all(300 < r["co2_ppm"] < 500 for r in rows)
        assert all(0.0 <= r["p_gap"] <= 1.0 for r in rows)
        assert all(isinstance(r["gap_expected"], bool) for r in rows)
        assert 0.0 <= body["outage"]["probability"] <= 1.0 and body["outage"]["min_steps"] >= 1
        assert list(body["lookback_observed"]) == ["co2_ppm"]
        assert 0.5 <= body["lookback_observed"]["co2_ppm"] <= 1.0
        assert pd.Timestamp(rows[0]["timestamp"]) > pd.Timestamp(
            SAMPLE["timestamp"].iloc[-1], tz="UTC"
        )

        recent = SAMPLE.iloc[1000:1100].dropna()
        posted = http.post(
            f"/runs/{run_id}/predict",
            json={
                "data": {"timestamp": list(recent["timestamp"]), "co2_ppm": list(recent["co2_ppm"])}
            },
        )
        assert posted.status_code == 200, posted.text
        first = pd.Timestamp(posted.json()["forecast"][0]["timestamp"])
        assert first > pd.Timestamp(recent["timestamp"].iloc[-1], tz="UTC")

        too_few = http.post(
            f"/runs/{run_id}/predict",
            json={"data": {"timestamp": ["2020-01-01", "2020-01-08"], "co2_ppm": [400.0, 401.0]}},
        )
        assert too_few.status_code == 422
        assert "lookback" in too_few.json()["error"]["message"] or "16" in too_few.text

        # One time on two rows that disagree (a second sensor's rows) is refused by row, not
        # averaged into a forecast.
        times, values = list(recent["timestamp"]), list(recent["co2_ppm"])
        clash = http.post(
            f"/runs/{run_id}/predict",
            json={"data": {"timestamp": [*times, times[-1]], "co2_ppm": [*values, 0.0]}},
        )
        assert clash.status_code == 422, clash.text
        error = clash.json()["error"]
        assert error["field"] == "timestamp"
        last = len(times) - 1
        assert "1 repeated time(s) with different values" in error["message"]
        assert f"rows {last}, {last + 1}" in error["message"]

        # A marker among the numbers is refused naming its cell and row, not read as a number.
        marked = http.post(
            f"/runs/{run_id}/predict",
            json={"data": {"timestamp": times, "co2_ppm": [*values[:-1], "n/a"]}},
        )
        assert marked.status_code == 422, marked.text
        error = marked.json()["error"]
        assert error["field"] == "columns.co2_ppm"
        assert f"1 cell(s) that are not numbers, first 'n/a' at row {last}:" in error["message"]

        # A logger's rows as they come: a status field the model does not read is left out, and
        # its missing-value marker (-9999, repeated) is a missing reading, as null is.
        # The answer's notes say so: the client reads nothing of the server's log.
        def forecast(co2: list[Any], **extra: list[Any]) -> tuple[list[float], list[str]]:
            data = {"timestamp": times, "co2_ppm": co2, **extra}
            answer = http.post(f"/runs/{run_id}/predict", json={"data": data})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            return [row["co2_ppm"] for row in body["forecast"]], body["notes"]

        holes = [*values[:-12], None, None, *values[-10:]]
        marked_holes = [*values[:-12], -9999.0, -9999.0, *values[-10:]]
        expected, quiet = forecast(holes)
        assert quiet == []
        got, notes = forecast(marked_holes, status=["OK"] * len(times))
        assert got == pytest.approx(expected)
        assert notes == [
            "'co2_ppm': 2 cells of -9999 read as missing (a missing-value marker far outside "
            "the other values), as gapcast import reads it"
        ]

    # A file of recent points, read by the server as an import reads it (a European export),
    # then predicted from by the Python client.
    european = "Datum;co2_ppm [ppm]\n" + "".join(
        f"{pd.Timestamp(t).strftime('%d.%m.%Y')};{str(v).replace('.', ',')}\n"
        for t, v in zip(recent["timestamp"], recent["co2_ppm"], strict=True)
    )

    async def by_client() -> tuple[dict[str, Any], dict[str, Any]]:
        async with Client(live_server.url) as client:
            read = await client.read_file(european.encode(), filename="recent.csv", decimal=",")
            return read, await client.predict(run_id, read["data"])

    read, forecast = asyncio.run(by_client())
    assert read["units"] == {"co2_ppm": "ppm"} and len(read["data"]["timestamp"]) == len(recent)
    assert read["notes"] == [
        "timestamp column 'Datum': times read as '%d.%m.%Y', the one common format that reads "
        "them all"
    ]
    assert forecast["forecast"] == posted.json()["forecast"]


def test_run_rest_views(live_server: LiveServer, run: Conversation) -> None:
    run_id = run.last["run_id"]
    with live_server.http() as http:
        shown = http.get(f"/runs/{run_id}").json()
        assert shown["status"] == "succeeded" and shown["attempts"] == 1
        assert len(shown["history"]) == 2 and shown["metrics"] == run.last["metrics"]
        assert shown["config"]["model"] == "linear" and shown["executor"]["kind"] == "local"
        assert shown["gap_report"]["large"] > 0 and shown["gap_metrics"] is not None
        assert [r["id"] for r in http.get("/runs", params={"status": "succeeded"}).json()] == [
            run_id
        ]
        assert http.get("/runs", params={"status": "failed"}).json() == []
        assert len(http.get("/runs", params={"dataset": "co2"}).json()) == 1
        assert http.get("/runs", params={"dataset": "other"}).json() == []
        events = http.get(f"/runs/{run_id}/events").json()
        assert events == run.messages[1:]


def test_late_watcher_replays_exactly_the_rest(live_server: LiveServer, run: Conversation) -> None:
    run_id = run.last["run_id"]
    replay = asyncio.run(converse(f"{live_server.ws_url}/ws/runs/{run_id}?after=5"))
    assert replay.messages == run.messages[6:]
    assert replay.close_code == 1000
    whole = asyncio.run(converse(f"{live_server.ws_url}/ws/runs/{run_id}"))
    assert whole.messages == run.messages[1:]


def test_label_a_run_by_rest_and_client(live_server: LiveServer, run: Conversation) -> None:
    run_id = run.last["run_id"]
    with live_server.http() as http:
        listed = http.get("/runs").json()[0]
        assert (listed["lookback"], listed["horizon"]) == (16, 4)
        assert listed["mase"] is not None and listed["mase"] > 0 and listed["tags"] == []
        patched = http.patch(
            f"/runs/{run_id}", json={"name": " weekly linear ", "tags": ["co2", "co2", "tiny"]}
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        # Trimmed, repeats dropped, the note untouched; the full run comes back.
        assert (body["name"], body["tags"], body["note"]) == (
            "weekly linear",
            ["co2", "tiny"],
            None,
        )
        assert body["artifacts"]
        for bad, field in (
            ({"tags": ["a,b"]}, "tags[0]"),
            ({"tags": [""]}, "tags[0]"),
            ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
            ({"name": "x" * 201}, "name"),
            ({"colour": "red"}, "colour"),
            ({}, "body"),
        ):
            refused = http.patch(f"/runs/{run_id}", json=bad)
            assert refused.status_code == 422, (bad, refused.text)
            assert refused.json()["error"]["field"] == field, refused.text
        assert http.patch("/runs/nope", json={"name": "x"}).status_code == 404

    async def by_client() -> dict[str, Any]:
        async with Client(live_server.url) as client:
            await client.label_run(run_id, note="two epochs only", name=None)
            return await client.run(run_id)

    shown = asyncio.run(by_client())
    assert (shown["name"], shown["tags"], shown["note"]) == (
        None,
        ["co2", "tiny"],
        "two epochs only",
    )


def test_delete_finished_run(live_server: LiveServer, run: Conversation) -> None:
    run_id = run.last["run_id"]
    with live_server.http() as http:
        assert http.delete(f"/runs/{run_id}").status_code == 204
        assert http.get(f"/runs/{run_id}").status_code == 404
        assert http.get(f"/runs/{run_id}/model").status_code == 404
