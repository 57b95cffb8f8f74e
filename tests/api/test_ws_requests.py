"""Every bad request on /ws/train gets one ``error`` naming the problem, then the right close code,
and creates no run."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gapcast.api.testing import LiveServer, converse

TINY = {"model": "linear", "epochs": 1, "lookback": 16, "horizon": 4}


def train(**fields: Any) -> dict[str, Any]:
    return {"type": "train", "dataset": "co2", "overrides": TINY, **fields}


CASES: list[tuple[str, Any, str, int, str | None, str]] = [
    ("malformed json", "{not json", "invalid_input", 1008, "message", "not valid JSON"),
    ("not an object", "[1, 2]", "invalid_input", 1008, "message", "expected a JSON object"),
    ("unknown type", {"type": "fit"}, "invalid_input", 1008, "type", "received type='fit'"),
    ("cancel first", {"type": "cancel"}, "invalid_input", 1008, "type", "must be a train"),
    ("no dataset", {"type": "train"}, "invalid_input", 1008, "dataset", "field required"),
    ("extra field", train(bogus=1), "invalid_input", 1008, "bogus", "unknown field"),
    ("unknown dataset", train(dataset="nope"), "not_found", 1008, "dataset", "no dataset 'nope'"),
    ("unknown config", train(config="nope"), "not_found", 1008, "config", "no training config"),
    # Ids no database column can hold (issue 17: SQLite overflowed and the socket dropped).
    (
        "dataset id of 23 digits as text",
        train(dataset="99999999999999999999999"),
        "not_found",
        1008,
        "dataset",
        "no dataset '99999999999999999999999'",
    ),
    ("dataset id 10**30", train(dataset=10**30), "not_found", 1008, "dataset", "no dataset 1000"),
    ("dataset id 2**63", train(dataset=2**63), "not_found", 1008, "dataset", "no dataset 9223"),
    ("dataset id 2**31", train(dataset=2**31), "not_found", 1008, "dataset", "no dataset 2147"),
    ("config id 10**30", train(config=10**30), "not_found", 1008, "config", "no training config"),
    (
        "unknown model inline",
        train(config={"model": "nope"}, overrides={}),
        "invalid_input",
        1008,
        "config.model",
        "unknown model 'nope'; expected one of",
    ),
    (
        "unknown model override",
        train(overrides={**TINY, "model": "nope"}),
        "invalid_input",
        1008,
        "config.model",
        "unknown model 'nope'",
    ),
    (
        "invalid hyperparameter",
        train(config={"model": "mlp", "hyperparameters": {"units": -1}}, overrides={}),
        "invalid_input",
        1008,
        "config.hyperparameters.units",
        "greater than or equal to 1",
    ),
    (
        "invalid nested step",
        train(config={"preprocessing": [{"step": "window", "lookback": 0}]}, overrides={}),
        "invalid_input",
        1008,
        "config.preprocessing[0].lookback",
        "received 0",
    ),
    (
        "unknown override",
        train(overrides={"epochz": 3}),
        "invalid_input",
        1008,
        "overrides.epochz",
        "unknown override 'epochz'",
    ),
    (
        "invalid override value",
        train(overrides={**TINY, "epochs": 0}),
        "invalid_input",
        1008,
        "config.training.epochs",
        "greater than or equal to 1",
    ),
    (
        "unknown target channel",
        train(dataset="tiny", overrides={"target": "load"}),
        "invalid_input",
        1008,
        "config.target[0]",
        "dataset 'tiny' has no channel 'load'; its channels are 'value'",
    ),
    (
        "series too short",
        train(dataset="tiny", overrides={"model": "linear", "lookback": 48, "horizon": 24}),
        "invalid_input",
        1008,
        "config.preprocessing",
        "too short: 20 time steps; its training part (14 steps) cannot hold one window of "
        "lookback 48, horizon 24. Use a smaller lookback/horizon (at most lookback 11 with "
        "horizon 3) or more data",
    ),
]


@pytest.fixture(scope="module")
def tiny_dataset(live_server: LiveServer) -> str:
    rows = "\n".join(f"2024-01-{d:02d},{d}.5" for d in range(1, 21))
    with live_server.http() as http:
        response = http.post(
            "/datasets",
            files={"file": ("tiny.csv", f"timestamp,value\n{rows}\n".encode())},
            data={"name": "tiny"},
        )
        assert response.status_code == 201, response.text
    return "tiny"


@pytest.mark.parametrize(
    ("send", "code", "close", "field", "text"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_train_request(
    live_server: LiveServer,
    tiny_dataset: str,
    send: Any,
    code: str,
    close: int,
    field: str | None,
    text: str,
) -> None:
    talk = asyncio.run(converse(f"{live_server.ws_url}/ws/train", [send]))
    assert len(talk.messages) == 1, talk.messages
    error = talk.messages[0]
    assert error["type"] == "error"
    assert error["run_id"] is None and error["seq"] == 0
    assert error["code"] == code
    assert error.get("field") == field
    assert text in error["message"], error["message"]
    assert talk.close_code == close


def test_message_over_the_limit_closes_1009(live_server: LiveServer) -> None:
    big = json.dumps(train(padding="x" * (live_server.settings.max_message_bytes + 10)))
    talk = asyncio.run(converse(f"{live_server.ws_url}/ws/train", [big]))
    assert talk.close_code == 1009


def test_bad_requests_create_no_run(live_server: LiveServer, tiny_dataset: str) -> None:
    """Each case, sent here (so this holds whatever ran before it), refused before a run exists."""
    with live_server.http() as http:
        before = http.get("/runs").json()
        for case in CASES:
            talk = asyncio.run(converse(f"{live_server.ws_url}/ws/train", [case[1]]))
            assert [m["type"] for m in talk.messages] == ["error"], (case[0], talk.messages)
        assert http.get("/runs").json() == before


def test_watch_unknown_run(live_server: LiveServer) -> None:
    talk = asyncio.run(converse(f"{live_server.ws_url}/ws/runs/nope"))
    assert [m["code"] for m in talk.messages] == ["not_found"]
    assert talk.messages[0]["run_id"] == "nope"
    assert talk.close_code == 1008


# %C2%B9: "¹", a digit to str.isdigit; then numbers beyond the sequence column (issue 17).
@pytest.mark.parametrize("after", ["-1", "%C2%B9", "1.5", "2147483648", "9" * 23, "9" * 5000])
def test_watch_bad_after(live_server: LiveServer, after: str) -> None:
    talk = asyncio.run(converse(f"{live_server.ws_url}/ws/runs/x?after={after}"))
    assert talk.messages[0]["field"] == "after"
    assert talk.close_code == 1008
