"""A covariate known in advance through the server: uploaded with the data, named in the run's
config over /ws/train, and given for the forecast steps to POST /runs/{id}/predict."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from gapcast.api.testing import LiveServer, converse


def as_json(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """A predict request's ``data``: ISO times, and null where a value is not known."""
    data: dict[str, list[Any]] = {"timestamp": [t.isoformat() for t in frame["timestamp"]]}
    for column in ("load", "shutdown"):
        data[column] = [None if np.isnan(v) else float(v) for v in frame[column]]
    return data


def test_a_run_with_a_covariate_known_in_advance_predicts_from_its_future_rows(
    live_server: LiveServer, shutdown_load: Callable[..., pd.DataFrame]
) -> None:
    df = shutdown_load(24 * 60).round({"load": 3})
    with live_server.http() as http:
        upload = http.post(
            "/datasets",
            files={"file": ("shutdowns.csv", df.to_csv(index=False).encode())},
            data={"name": "shutdowns"},
        )
        assert upload.status_code == 201, upload.text
    request = {
        "type": "train",
        "dataset": "shutdowns",
        "config": {
            "model": "linear",
            "future_covariates": ["shutdown"],
            "training": {"epochs": 2, "ensemble": 1, "gap_classifier": "never"},
        },
        "overrides": {"lookback": 24, "horizon": 12},
    }
    run = asyncio.run(converse(f"{live_server.ws_url}/ws/train", [request], timeout_s=300))
    done = run.messages[-1]
    assert done["type"] == "done" and done["status"] == "succeeded", done
    run_id = done["run_id"]

    history = df.iloc[-240:-12]
    ahead = df.iloc[-12:].assign(load=np.nan)
    with live_server.http() as http:
        run_row = http.get(f"/runs/{run_id}").json()
        assert run_row["config"]["future_covariates"] == ["shutdown"]

        posted = http.post(
            f"/runs/{run_id}/predict", json={"data": as_json(pd.concat([history, ahead]))}
        )
        assert posted.status_code == 200, posted.text
        rows = posted.json()["forecast"]
        # The rows holding only the shutdown flag are the forecast's steps, not its history.
        assert [pd.Timestamp(r["timestamp"]) for r in rows] == list(ahead["timestamp"])

        # Without them, nothing says whether a shutdown is planned: refused, naming the flag.
        missing = http.post(f"/runs/{run_id}/predict", json={"data": as_json(history)})
        assert missing.status_code == 422, missing.text
        assert "covariate 'shutdown' (known in advance)" in missing.json()["error"]["message"]
        # The dataset holds no row after its last load reading either.
        from_dataset = http.post(f"/runs/{run_id}/predict")
        assert from_dataset.status_code == 422, from_dataset.text
        assert "'shutdown'" in from_dataset.json()["error"]["message"]
