"""``import --server``, ``runs list`` (MAE, verdict, sort, filters), ``runs compare``,
``runs label``, ``runs delete`` and the exit code of a refused token, against a live server that
has a token (and ``runs label``/``list``/``delete`` on the database without one).

The compared and listed runs are written into the server's database as a finished worker leaves
them (figures, an artifact, events ending in ``done``), so these tests take seconds; a real
training run through ``train`` is tested in test_train_commands.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from gapcast.api.testing import SAMPLE_CSV, LiveServer, running_server, server_settings
from gapcast.cli import app
from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.session import make_engine, make_sessionmaker, transaction
from gapcast.db.tables import FINISHED_STATUSES, utcnow
from gapcast.training_config import TrainingConfig

from .conftest import TINY

TOKEN = "s3cret-token"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from gapcast.db.migrate import upgrade

    base = tmp_path_factory.mktemp("cli-runs")
    url = f"sqlite:///{base / 'gapcast.db'}"
    upgrade(url)
    with running_server(server_settings(url, base / "data", api_token=TOKEN)) as live:
        with live.http() as http:
            response = http.post("/datasets", files={"file": ("co2.csv", SAMPLE_CSV.read_bytes())})
            assert response.status_code == 201, response.text
        yield live


@pytest.fixture(scope="module")
def sessions(server: LiveServer) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(server.settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def seed(
    sessions: sessionmaker[Session],
    *,
    model: str,
    lookback: int,
    status: str = "succeeded",
    mae: float | None = None,
    ratio: float | None = None,
    claimed_by: str | None = None,
) -> str:
    """A run as its worker and server leave it, written in one transaction (the scheduler never
    sees it queued)."""
    config = TrainingConfig().with_overrides(
        {"model": model, "lookback": lookback, "horizon": 4, "epochs": 2}
    )
    with transaction(sessions) as session:
        dataset = repository.get_dataset(session, "co2")
        run = run_store.create_run(session, dataset=dataset, config=config, max_queued=100)
        run.status, run.claimed_by = status, claimed_by
        if status != "queued":
            run.started_at = run.heartbeat_at = utcnow()
        events: list[dict[str, Any]] = [{"type": "status", "stage": "queued"}]
        if status in FINISHED_STATUSES:
            run.finished_at, run.runtime_s, run.epochs = utcnow(), 3.5, 2
            events.append({"type": "done", "status": status})
        if mae is not None and ratio is not None:
            verdict = {
                "better": ratio < 1,
                "ratio": ratio,
                "baseline": "naive",
                "text": f"{'better' if ratio < 1 else 'worse'} than the best baseline (naive)",
            }
            run.metrics = {"mae": mae, "rmse": mae * 1.2, "mase": mae / 2, "verdict": verdict}
            run.metrics["lookback"], run.metrics["horizon"] = lookback, 4
        session.flush()
        run_store.append_events(session, run.id, events)
        if status == "succeeded":
            run_store.save_artifact(
                session, run.id, kind="model", media_type="application/x-keras", data=b"PK.."
            )
        return run.id


@pytest.fixture(scope="module")
def runs(sessions: sessionmaker[Session]) -> dict[str, str]:
    return {
        "worse": seed(sessions, model="linear", lookback=16, mae=2.0, ratio=1.6),
        "better": seed(sessions, model="mlp", lookback=32, mae=1.0, ratio=0.25),
        "failed": seed(sessions, model="linear", lookback=16, status="failed"),
    }


def on(server: LiveServer) -> list[str]:
    return ["--server", server.url, "--token", TOKEN]


# --- exit codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [["--token", "wrong"], []], ids=["wrong", "missing"])
@pytest.mark.parametrize(
    "command",
    [["runs", "list"], ["train", "--dataset", "co2", *TINY], ["import", str(SAMPLE_CSV)]],
    ids=["rest", "websocket", "upload"],
)
def test_a_refused_token_exits_2_and_says_how_to_give_one(
    server: LiveServer, workdir: Path, command: list[str], token: list[str]
) -> None:
    code, out, err = invoke(*command, "--server", server.url, *token)
    assert code == 2, out + err
    assert "pass --token TOKEN or set GAPCAST_API_TOKEN" in err
    assert ("the token is wrong" if token else "a token is required") in err


# --- import --server ----------------------------------------------------------------------------


def test_import_uploads_to_the_server(server: LiveServer, workdir: Path) -> None:
    code, out, err = invoke("import", str(SAMPLE_CSV), "--name", "co2-up", *on(server), "--json")
    assert code == 0, err
    assert json.loads(out)["points"] == 2225
    with server.http() as http:
        assert http.get("/datasets/co2-up").json()["points"] == 2225

    code, out, err = invoke("import", str(SAMPLE_CSV), "--name", "co2-up", *on(server))
    assert code == 2 and "already exists" in err, out + err
    code, out, err = invoke("import", str(SAMPLE_CSV), "-n", "co2-up", "--replace", *on(server))
    assert code == 0, err
    assert "imported co2-up" in out and "frequency 7 days" in out
    code, out, err = invoke("import", str(workdir / "nope.csv"), *on(server))
    assert code == 2 and "no such file" in err
    # Several files: the first imported, the later ones appended, on the server too.
    parts = []
    for day in (1, 2):
        part = workdir / f"part{day}.csv"
        part.write_text(f"time,v\n2025-01-0{day}T00:00Z,{day}\n2025-01-0{day}T12:00Z,{day}.5\n")
        parts.append(str(part))
    code, out, err = invoke("import", *parts, "-n", "parts", *on(server), "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["points"] == 4 and answer["files"] == 2
    assert answer["notes"] == ["part2.csv: appended 2 new point(s) to dataset 'parts'"]
    # A European export separated by ';' reads its decimal commas unasked, on the server too.
    semicolons = workdir / "semicolons.csv"
    semicolons.write_text("time;v\n31.12.2024 23:00;1,5\n01.01.2025 00:00;2,5\n")
    code, out, err = invoke("import", str(semicolons), *on(server), "--json")
    assert code == 0, err
    assert "numbers read with a decimal comma ('1,5' is 1.5)" in json.loads(out)["notes"][0]
    # Decimal comma and day-first times travel as form fields: commas between the fields and
    # quoted decimal commas need --decimal.
    euro = workdir / "euro.csv"
    euro.write_text('time,v\n31.12.2024 23:00,"1,5"\n01.01.2025 00:00,"2,5"\n')
    code, out, err = invoke("import", str(euro), *on(server), "--json")
    assert code == 2 and "--decimal ," in err
    # The day-first times read unasked (the one common format that reads them all).
    code, out, err = invoke("import", str(euro), "--decimal", ",", *on(server), "--json")
    assert code == 0, err
    assert json.loads(out)["start"].startswith("2024-12-31T23:00")
    options = ("--decimal", ",", "--time-format", "%d.%m.%Y %H:%M")
    zone = ("--timezone", "Europe/Berlin", "--replace")
    code, out, err = invoke("import", str(euro), *options, *zone, *on(server), "--json")
    assert code == 0, err
    assert json.loads(out)["start"].startswith("2024-12-31T22:00")  # 23:00 in Berlin
    code, out, err = invoke("import", str(euro), *options, "--timezone", "Berlin", *on(server))
    assert code == 2 and "'Berlin' is not an IANA time zone" in err
    # The columns to import travel as a form field too; the rest (status flags) stay out.
    logger = workdir / "logger.csv"
    logger.write_text("time,v,status\n2025-01-01T00:00Z,1.5,OK\n2025-01-01T01:00Z,2.5,E42\n")
    code, out, err = invoke("import", str(logger), *on(server))
    assert code == 2 and "column 'status'" in err
    code, out, err = invoke("import", str(logger), "--columns", "status2", *on(server))
    assert code == 2 and "'status2' not in the file" in err
    code, out, err = invoke("import", str(logger), "--columns", "v", *on(server), "--json")
    assert code == 0, err
    assert [s["name"] for s in json.loads(out)["series"]] == ["v"]
    # Told what the page would say of its gaps, from the server's own count.
    code, out, err = invoke("import", str(logger), "--columns", "v", "-n", "logger-2", *on(server))
    assert code == 0 and "gaps: none, every step observed" in out, err
    # So does the encoding of a file Excel saved on Windows; the refusal names the option.
    excel = workdir / "excel.csv"
    excel.write_bytes("time;Temperatur [°C]\n2025-01-01T00:00Z;1,5\n".encode("cp1252"))
    code, out, err = invoke("import", str(excel), "--decimal", ",", *on(server))
    assert code == 2 and "--encoding cp1252" in " ".join(err.split()), err
    encoded = ("--encoding", "cp1252", "--decimal", ",", "--json")
    code, out, err = invoke("import", str(excel), *encoded, *on(server))
    assert code == 0, err
    assert [(s["name"], s["unit"]) for s in json.loads(out)["series"]] == [("Temperatur", "°C")]
    # A logger's word for no reading travels as a form field too.
    marked = workdir / "marked.csv"
    marked.write_text("time,v\n" + "".join(f"2025-02-01T{h:02d}:00Z,{h}\n" for h in range(9)))
    marked.write_text(marked.read_text() + "2025-02-01T09:00Z,ERR\n")
    code, out, err = invoke("import", str(marked), *on(server))
    assert code == 2 and "--missing 'ERR'" in " ".join(err.split()), err
    code, out, err = invoke("import", str(marked), "--missing", "ERR", *on(server), "--json")
    assert code == 0, err
    assert json.loads(out)["points"] == 9
    # A newer export appends to the dataset on the server (200: nothing new was created).
    later = workdir / "later.csv"
    later.write_text("time,v\n2025-01-01T01:00Z,2.5\n2025-01-01T02:00Z,3.5\n")
    code, out, err = invoke("import", str(later), "-n", "logger", "--append", *on(server))
    assert code == 0, err
    assert "appended to logger" in out and "appended 1 new point(s)" in " ".join(out.split())
    with server.http() as http:
        assert http.get("/datasets/logger").json()["points"] == 3


# --- runs list ----------------------------------------------------------------------------------


def test_runs_list_sorts_and_filters(
    server: LiveServer, runs: dict[str, str], workdir: Path
) -> None:
    def listed(*options: str) -> list[str]:
        code, out, err = invoke("runs", "list", *on(server), "--json", *options)
        assert code == 0, err
        return [r["id"] for r in json.loads(out) if r["id"] in runs.values()]

    newest_first = [runs["failed"], runs["better"], runs["worse"]]
    assert listed() == newest_first
    # Lowest MAE first; a run without one (failed) last.
    assert listed("--sort", "mae") == [runs["better"], runs["worse"], runs["failed"]]
    assert listed("--model", "mlp") == [runs["better"]]
    assert listed("--status", "failed") == [runs["failed"]]
    assert listed("--model", "linear", "--status", "succeeded") == [runs["worse"]]
    code, _, err = invoke("runs", "list", *on(server), "--sort", "speed")
    assert code == 2 and "--sort: expected one of created, mae" in err


def test_the_verdict_cell_marks_a_gain_within_the_noise_as_level() -> None:
    from gapcast.cli.runs import verdict_cell

    def cell(better: bool, ratio: float) -> str:
        return verdict_cell({"better": better, "ratio": ratio, "baseline": "naive", "text": ""})

    assert cell(True, 0.25) == "[green]✓[/] 75% better"
    assert cell(False, 0.99) == "[yellow]≈[/] baseline"
    assert cell(False, 1.0) == "= baseline"
    assert cell(False, 1.6) == "[red]✗[/] 60% worse"


def test_runs_list_table_shows_mae_and_verdict_within_80_columns(
    server: LiveServer, runs: dict[str, str], workdir: Path
) -> None:
    code, out, err = invoke("runs", "list", *on(server), "--sort", "mae")
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    better = next(line for line in lines if line.startswith(runs["better"][:8]))
    worse = next(line for line in lines if line.startswith(runs["worse"][:8]))
    failed = next(line for line in lines if line.startswith(runs["failed"][:8]))
    assert "mlp" in better and " 1 " in better and "✓ 75% better" in better
    assert " 2 " in worse and "✗ 60% worse" in worse
    assert failed.rstrip().endswith("failed")
    assert lines.index(better) < lines.index(worse) < lines.index(failed)


# --- runs compare -------------------------------------------------------------------------------


def test_runs_compare_marks_the_differences_and_the_best(
    server: LiveServer, runs: dict[str, str], workdir: Path
) -> None:
    ids = [runs["worse"][:8], runs["better"][:8]]
    code, out, err = invoke("runs", "compare", *ids, *on(server), "--json")
    assert code == 0, err
    compared = json.loads(out)
    params = {p["name"]: p for p in compared["parameters"]}
    assert params["window.lookback"] == {
        "name": "window.lookback",
        "values": [16, 32],
        "differs": True,
    }
    assert params["model"]["differs"] and not params["dataset"]["differs"]
    assert not params["training.epochs"]["differs"]  # a key parameter: shown though equal
    assert "split.val" not in params  # equal and not a key parameter
    figures = {f["name"]: f for f in compared["figures"]}
    assert figures["MAE"] == {"name": "MAE", "values": [2.0, 1.0], "best": runs["better"]}

    code, out, err = invoke("runs", "compare", *ids, *on(server), "--all")
    assert code == 0, err
    assert "≠ window.lookback" in out and "≠ model" in out and "≠ dataset" not in out
    assert "split.val" in out and "▲ 1" in out

    code, _, err = invoke("runs", "compare", ids[0], *on(server))
    assert code == 2 and "two or more runs" in err


# --- runs label ---------------------------------------------------------------------------------


def labels_of(out: str) -> tuple[str | None, list[str], str | None]:
    record = json.loads(out)
    return record["name"], record["tags"], record["note"]


def check_labelling(target: list[str], run_id: str) -> None:
    """The label options against ``target`` (``--server URL --token T`` or ``--db URL``)."""

    def label(*options: str) -> tuple[str | None, list[str], str | None]:
        code, out, err = invoke("runs", "label", run_id[:8], *options, *target, "--json")
        assert code == 0, out + err
        return labels_of(out)

    first = label("--name", "[exp] lstm 2", "--tag", "weekly", "--tag", "co2", "--note", "lr 3e-3")
    assert first == ("[exp] lstm 2", ["weekly", "co2"], "lr 3e-3")
    # --tag adds (a repeat is dropped); the labels not given stay.
    assert label("--tag", "keep", "--tag", "co2") == (
        "[exp] lstm 2",
        ["weekly", "co2", "keep"],
        "lr 3e-3",
    )
    assert label("--clear-tags", "--tag", "only") == ("[exp] lstm 2", ["only"], "lr 3e-3")
    assert label("--name", "", "--clear-tags") == (None, [], "lr 3e-3")
    assert label("--note", "", "--name", "lstm 2", "--tag", "best") == ("lstm 2", ["best"], None)

    # Refused, naming the field; nothing changed.
    for options, words in [
        (["--tag", "a,b"], "tags[1]: String should match pattern"),
        (["--name", "x" * 201], "name: String should have at most 200 characters"),
        (["--name", "bad\x01name"], "name: String should match pattern"),
        (["--note", "n" * 10_001], "note: String should have at most 10000 characters"),
        ([], "expected at least one of --name, --tag, --clear-tags, --note"),
    ]:
        code, out, err = invoke("runs", "label", run_id, *options, *target)
        assert code == 2, out + err
        assert words in " ".join(err.split()), err
    code, out, err = invoke("runs", "show", run_id, *target, "--json")
    assert code == 0, err
    assert labels_of(out) == ("lstm 2", ["best"], None)

    for unknown in ("0" * 36, "fffffff"):  # a full id the store lacks, a prefix no run has
        code, out, err = invoke("runs", "label", unknown, "--name", "x", *target)
        assert code == 2 and "no run" in err, out + err


def test_runs_label_names_tags_and_notes_a_run_on_the_server(
    server: LiveServer, sessions: sessionmaker[Session], workdir: Path
) -> None:
    run_id = seed(sessions, model="mlp", lookback=16, mae=1.25, ratio=0.5)
    check_labelling(on(server), run_id)
    with server.http() as http:
        stored = http.get(f"/runs/{run_id}").json()
    assert (stored["name"], stored["tags"], stored["note"]) == ("lstm 2", ["best"], None)


def test_runs_list_and_show_carry_the_labels_within_80_columns(
    server: LiveServer, sessions: sessionmaker[Session], runs: dict[str, str], workdir: Path
) -> None:
    labelled = seed(sessions, model="linear", lookback=16, mae=1.5, ratio=0.8)
    code, out, err = invoke(
        "runs", "label", labelled, "--name", "[exp] a rather long run name for the list",
        "--tag", "weekly", "--tag", "candidate", "--note", "first line\nsecond line", *on(server),
    )  # fmt: skip
    assert code == 0, out + err
    assert "name  [exp] a rather long run name for the list" in out
    assert "tags  weekly, candidate" in out

    code, out, err = invoke("runs", "list", *on(server))
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, out
    # The runs as before, then the labelled ones' names and tags in a table of their own.
    rows = [i for i, line in enumerate(lines) if line.startswith(labelled[:8])]
    assert len(rows) == 2, out
    assert "✓ 20% better" in lines[rows[0]] and " 1.5 " in lines[rows[0]]
    assert lines[rows[1] - 3] == ""  # a blank line between the two tables
    assert lines[rows[1] - 2].split() == ["run", "name", "tags"]
    assert lines[rows[1]].split(maxsplit=1)[1].startswith("[exp] a rather long run name")
    assert "weekly, candidate" in lines[rows[1]]
    assert not any(line.startswith(runs["better"][:8]) for line in lines[rows[1] :])

    code, out, err = invoke("runs", "show", labelled[:8], *on(server))
    assert code == 0, err
    assert "name  [exp] a rather long run name for the list" in out
    assert "tags  weekly, candidate" in out
    assert "note  first line\n        second line\n" in out


# --- runs delete --------------------------------------------------------------------------------


def test_runs_delete_removes_the_run_with_its_files(
    server: LiveServer, sessions: sessionmaker[Session], workdir: Path
) -> None:
    doomed = seed(sessions, model="linear", lookback=16, mae=1.5, ratio=0.9)
    code, out, err = invoke("runs", "delete", doomed[:8], *on(server))
    assert code == 2 and "pass --yes" in err  # CliRunner's stdin is no terminal
    code, out, err = invoke("runs", "delete", doomed[:8], "--yes", *on(server))
    assert code == 0, err
    assert f"deleted run {doomed}" in out
    with server.http() as http:
        assert http.get(f"/runs/{doomed}").status_code == 404
        assert http.get(f"/runs/{doomed}/artifacts/model").status_code == 404
    code, out, err = invoke("runs", "delete", doomed, "--yes", *on(server))
    assert code == 2 and "no run" in err


def test_delete_route_refuses_a_running_run_and_an_unknown_one(
    server: LiveServer, sessions: sessionmaker[Session], workdir: Path
) -> None:
    # Claimed by a live replica on another machine: this server leaves it alone.
    running = seed(
        sessions, model="linear", lookback=16, status="running", claimed_by="elsewhere:41:ab12"
    )
    with server.http() as http:
        refused = http.delete(f"/runs/{running}")
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["field"] == "run_id" and "is running; cancel it first" in error["message"]
        assert http.get(f"/runs/{running}").json()["status"] == "running"
        assert len(http.get(f"/runs/{running}/events").json()) == 1
        assert http.delete("/runs/no-such-run").status_code == 404
    code, _, err = invoke("runs", "delete", running, "--yes", *on(server))
    assert code == 2 and "cancel it first" in err


# --- train without --out ------------------------------------------------------------------------


@pytest.mark.slow
def test_train_without_out_says_where_the_files_are_and_how_to_export_them(
    server: LiveServer, workdir: Path
) -> None:
    quick = ["--gap-classifier", "never", "--set", "refit=false", "--set", "patience=0"]
    code, out, err = invoke("train", "--dataset", "co2", *TINY, *quick, *on(server))
    assert code == 0, out + err
    assert f"stored on the server {server.url}; write them to a directory with" in out
    command = next(line.split() for line in out.splitlines() if "gapcast runs export" in line)
    assert command[:3] == ["gapcast", "runs", "export"] and command[4:6] == ["--out", "DIR"]
    # The printed command works as printed (with the token, which it never prints).
    code, out, err = invoke(*command[1:], "--token", TOKEN)
    assert code == 0, out + err
    assert (workdir / "DIR" / "model.keras").is_file() and (workdir / "DIR" / "run.json").is_file()


def test_runs_delete_and_list_on_the_database_without_a_server(db_url: str, workdir: Path) -> None:
    from gapcast.ingest import read_table

    engine = make_engine(db_url)
    try:
        local = make_sessionmaker(engine)
        table = read_table(SAMPLE_CSV.read_bytes(), filename="co2.csv")
        with transaction(local) as session:
            repository.import_dataset(session, table=table, name="co2")
        done = seed(local, model="linear", lookback=16, status="failed")
        queued = seed(local, model="mlp", lookback=16, status="queued")
    finally:
        engine.dispose()

    code, out, err = invoke("runs", "list", "--db", db_url, "--model", "mlp", "--json")
    assert code == 0, err
    assert [r["id"] for r in json.loads(out)] == [queued]
    code, _, err = invoke("runs", "delete", queued, "--yes", "--db", db_url)
    assert code == 2 and "is queued; cancel it first" in err
    code, out, err = invoke("runs", "delete", done[:8], "--yes", "--db", db_url, "--json")
    assert code == 0, err
    assert json.loads(out) == {"deleted": [done]}
    code, out, _ = invoke("runs", "list", "--db", db_url, "--json")
    assert [r["id"] for r in json.loads(out)] == [queued]

    # A queued run can be labelled: labels never touch its figures.
    check_labelling(["--db", db_url], queued)
    code, out, err = invoke("runs", "list", "--db", db_url)
    assert code == 0, err
    label_row = [line.split() for line in out.splitlines() if line.startswith(queued[:8])][-1]
    assert label_row == [queued[:8], "lstm", "2", "best"]


def test_a_window_the_outages_leave_no_room_for_is_refused_before_a_run_exists(
    server: LiveServer, workdir: Path
) -> None:
    base = pd.Timestamp("2020-01-01", tz="UTC")
    # 400 hours observed only in the first 10 and the last 125: no 24-hour lookback of the
    # training part (its first 280 hours) has half its points and a target observed.
    hours = [h for h in range(400) if h < 10 or h >= 275]
    rows = [f"{(base + pd.Timedelta(hours=h)).isoformat()},{h % 24}" for h in hours]
    csv = "timestamp,level\n" + "\n".join(rows) + "\n"
    with server.http() as http:
        uploaded = http.post("/datasets", files={"file": ("holey.csv", csv.encode())})
        assert uploaded.status_code == 201, uploaded.text
    code, out, err = invoke(
        "train", "-d", "holey", "--model", "linear", "--lookback", "24", "--horizon", "4",
        *on(server),
    )  # fmt: skip
    assert code == 2, out + err
    assert "cannot fill one training window of lookback 24 + horizon 4" in err
    assert "accepted" not in out  # refused in the request, not by a worker seconds later
    with server.http() as http:
        assert http.get("/runs", params={"dataset": "holey"}).json() == []
