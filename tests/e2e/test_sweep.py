"""Hyperparameter sweeps on a real server: trials are ordinary runs (stored, watchable), the sweep
finishes with the best trial marked; a bad search space is refused naming the field; a cancelled
sweep queues nothing more and cancels its trials."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from gapcast.api.testing import (
    TINY,
    LiveServer,
    converse,
    running_server,
    server_settings,
    temporary_database,
    upload_sample,
)

SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
    "hyperparameters.l2": {"type": "categorical", "choices": [0.0, 0.01]},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("sweeps")
    with temporary_database("sqlite", tmp_dir=tmp) as url:
        settings = server_settings(url, tmp / "data", workers_max=2)
        with running_server(settings) as live:
            upload_sample(live)
            yield live


def start(live: LiveServer, **body: Any) -> dict[str, Any]:
    request = {"dataset": "co2", "overrides": TINY, "space": SPACE, **body}
    with live.http() as http:
        response = http.post("/sweeps", json=request)
        assert response.status_code == 202, response.text
        return dict(response.json())


def wait_for(live: LiveServer, sweep_id: str, done: Any, timeout_s: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    with live.http() as http:
        while True:
            sweep = http.get(f"/sweeps/{sweep_id}").json()
            if done(sweep):
                return dict(sweep)
            assert time.monotonic() < deadline, sweep
            time.sleep(0.3)


def test_a_sweep_runs_its_trials_as_runs_and_marks_the_best(server: LiveServer) -> None:
    sweep = start(server, trials=4, parallel=2, seed=7, name="lr-l2")
    assert sweep["status"] == "running" and sweep["seed"] == 7

    # A trial is an ordinary run: follow the first one on its socket.
    first = wait_for(server, sweep["id"], lambda s: len(s["trial_runs"]) >= 1)["trial_runs"][0]
    watched = asyncio.run(converse(f"{server.ws_url}/ws/runs/{first['run_id']}")).messages
    assert watched[0]["stage"] == "queued" and f"sweep {sweep['id']}" in watched[0]["message"]
    assert watched[-1]["type"] == "done" and watched[-1]["status"] == "succeeded"

    final = wait_for(server, sweep["id"], lambda s: s["status"] != "running")

    assert final["status"] == "succeeded", final
    trials = final["trial_runs"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    assert {t["status"] for t in trials} == {"succeeded"}
    assert len({tuple(sorted(t["params"].items())) for t in trials}) == 4  # no repeated draw
    for trial in trials:
        assert 1e-3 <= trial["params"]["learning_rate"] <= 1e-1
        assert trial["params"]["hyperparameters.l2"] in (0.0, 0.01)
    best = min(trials, key=lambda t: t["value"])
    assert [t["run_id"] for t in trials if t["best"]] == [best["run_id"]]
    assert final["best_run_id"] == best["run_id"] and final["best_value"] == best["value"]
    with server.http() as http:
        run = http.get(f"/runs/{best['run_id']}").json()
    # The trial's parameters are in the run's own config snapshot.
    assert run["config"]["training"]["learning_rate"] == best["params"]["learning_rate"]
    assert run["config"]["hyperparameters"]["l2"] == best["params"]["hyperparameters.l2"]
    assert run["val_loss"] == best["value"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"space": {"units": {"type": "int", "low": 1, "high": 4}}}, "space.units", "cannot tune"),
        (
            {"space": {"hyperparameters.l2": {"type": "float", "low": 0.0, "high": 99.0}}},
            "space.hyperparameters.l2",
            "hyperparameters.l2=99.0",
        ),
        (
            {"space": {"lookback": {"type": "int", "low": 8, "high": 4000}}},
            "config.preprocessing",
            "too short",
        ),
        ({"sampler": "grid", "trials": 3}, "space.learning_rate", "categorical"),
        ({"objective": "accuracy"}, "objective", "unknown objective"),
    ],
)
def test_a_bad_sweep_is_refused_naming_the_field(
    server: LiveServer, change: dict[str, Any], field: str, words: str
) -> None:
    request = {"dataset": "co2", "overrides": TINY, "space": SPACE, **change}
    with server.http() as http:
        before = len(http.get("/sweeps").json())
        response = http.post("/sweeps", json=request)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["field"] == field and words in error["message"]
        assert len(http.get("/sweeps").json()) == before  # nothing stored


def test_a_cancelled_sweep_cancels_its_trials(server: LiveServer) -> None:
    sweep = start(server, trials=5, parallel=2, overrides={**TINY, "epochs": 400, "batch_size": 8})
    wait_for(server, sweep["id"], lambda s: len(s["trial_runs"]) == 2)

    with server.http() as http:
        response = http.post(f"/sweeps/{sweep['id']}/cancel")
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "cancelled"
        assert http.post(f"/sweeps/{sweep['id']}/cancel").status_code == 409

    final = wait_for(
        server,
        sweep["id"],
        lambda s: all(t["status"] == "cancelled" for t in s["trial_runs"]),
        timeout_s=60,
    )
    assert final["status"] == "cancelled" and final["best_run_id"] is None
    assert len(final["trial_runs"]) == 2  # nothing queued after the cancel


def test_the_sweep_command_follows_a_sweep_to_its_best_run(server: LiveServer) -> None:
    from typer.testing import CliRunner

    from gapcast.cli import app

    overrides = [f"--set={key}={json.dumps(value)}" for key, value in TINY.items()]
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            "--dataset=co2",
            "--param=learning_rate=float:1e-3:1e-1:log",
            "--param=hyperparameters.l2=choice:0.0,0.01",
            *overrides,
            "--trials=2",
            "--parallel=2",
            "--seed=3",
            f"--server={server.url}",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    sweep = json.loads(result.stdout)
    assert sweep["status"] == "succeeded" and len(sweep["trial_runs"]) == 2
    assert sweep["space"]["learning_rate"]["log"] is True
    assert sweep["space"]["hyperparameters.l2"]["choices"] == [0.0, 0.01]
    assert [t["best"] for t in sweep["trial_runs"]].count(True) == 1


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("lr", "expected PATH=SPEC"),
        ("epochs=int:1", "expected float:LOW:HIGH"),
        ("x=float:a:b", "x"),
    ],
)
def test_the_sweep_command_refuses_a_bad_param(text: str, words: str) -> None:
    from typer.testing import CliRunner

    from gapcast.cli import app

    result = CliRunner().invoke(app, ["sweep", "--dataset=co2", f"--param={text}"])

    assert result.exit_code == 2
    assert words in result.output
