"""import → train → runs list/show → export → predict through the real typer entry point, and the
exit codes of bad input (2) against a live server."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from gapcast.api.testing import LiveServer, running_server
from gapcast.cli import app
from gapcast.config import Settings

from .conftest import TINY

pytestmark = pytest.mark.slow
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_import_train_export_predict_round_trip(workdir: Path, sample_csv: Path) -> None:
    # SQLite only: the commands are the same on PostgreSQL, whose storage is tested in tests/db.
    db_url = f"sqlite:///{workdir / 'gapcast.db'}"
    code, out = invoke("import", str(sample_csv), "--name", "co2", "--db", db_url)
    assert code == 0, out

    code, out = invoke("train", "--dataset", "co2", *TINY, "--db", db_url, "--json")
    assert code == 0, out
    trained = json.loads(out)
    run_id = trained["run_id"]
    assert trained["status"] == "succeeded" and trained["epochs"] == 2
    metrics = trained["metrics"]
    assert {"mae", "rmse", "mase", "leaderboard", "verdict", "warnings"} <= set(metrics)
    assert {r["method"] for r in metrics["leaderboard"]} >= {"model", "naive"}
    assert trained["verdict"] == metrics["verdict"] and trained["warnings"] == metrics["warnings"]

    code, out = invoke("runs", "list", "--db", db_url, "--json")
    assert code == 0, out
    assert [r["id"] for r in json.loads(out)] == [run_id]

    code, out = invoke("runs", "show", run_id[:8], "--db", db_url)
    assert code == 0 and run_id in out and "MASE" in out, out

    code, out = invoke("runs", "export", run_id[:8], "--out", "exported", "--db", db_url, "--json")
    assert code == 0, out
    files = {kind: Path(path) for kind, path in json.loads(out).items()}
    assert {"model", "plot", "pipeline", "backtest", "record"} <= set(files)
    with zipfile.ZipFile(workdir / files["model"]) as archive:
        assert "config.json" in archive.namelist()
    with Image.open(workdir / files["plot"]) as image:
        assert image.format == "PNG"
    assert json.loads((workdir / files["record"]).read_text())["id"] == run_id

    code, out = invoke("predict", run_id, "--db", db_url, "--json")
    assert code == 0, out
    forecast = json.loads(out)
    assert forecast["horizon"] == 4 and len(forecast["forecast"]) == 4
    assert all(row["co2_ppm"] > 300 for row in forecast["forecast"])
    # The sample's outages train a gap classifier: its window-level answer comes with the rows.
    assert 0 <= forecast["outage"]["probability"] <= 1
    assert list(forecast["lookback_observed"]) == ["co2_ppm"]
    assert 0.5 <= forecast["lookback_observed"]["co2_ppm"] <= 1
    code, out = invoke("predict", run_id, "--db", db_url)
    assert code == 0 and "outage of" in out and "steps within the horizon" in out, out
    # At 80 columns every time is printed whole, and every quantile column's number too.
    first = forecast["forecast"][0]
    assert first["timestamp"][:10] + " 00:00" in out, out
    assert f"{first['co2_ppm_p90']:.4g}" in out, out
    # Headers a reader can take in: P10 for the only target's quantile, P(gap) and yes/no.
    assert "times in UTC" in out and " P10 " in out and "P(gap)" in out, out
    assert "co2_ppm_p10" not in out and "gap_expected" not in out, out

    # With --timezone the table's times are wall-clock times there, and so is --start.
    local = pd.Timestamp(first["timestamp"]).tz_convert("America/New_York")
    code, out = invoke("predict", run_id, "--db", db_url, "--timezone", "America/New_York")
    assert code == 0 and "times in America/New_York" in out, out
    assert local.strftime("%Y-%m-%d %H:%M") in out, out
    wall = local.strftime("%Y-%m-%dT%H:%M")
    code, out = invoke(
        "predict",
        run_id,
        "--db",
        db_url,
        "--start",
        wall,
        "--timezone",
        "America/New_York",
        "--json",
    )
    assert code == 0, out
    assert json.loads(out)["forecast"] == forecast["forecast"]
    for when, why in (
        ("2024-03-10T02:30", "does not exist in America/New_York (the clocks skipped it)"),
        ("2024-11-03T01:30", "2024-11-03T01:30:00-04:00 or 2024-11-03T01:30:00-05:00"),
    ):
        code, out = invoke(
            "predict", run_id, "--db", db_url, "--start", when, "--timezone", "America/New_York"
        )
        assert code == 2 and why in " ".join(out.split()), out

    # Recent rows from a CSV, once as exported by a European spreadsheet: the same forecast.
    lines = sample_csv.read_text().splitlines()
    recent = workdir / "recent.csv"
    recent.write_text("\n".join(lines[:1] + lines[-300:]) + "\n")
    european = workdir / "recent-eu.csv"
    rows = [line.split(",") for line in lines[-300:]]
    european.write_bytes(  # as Excel saves it on Windows: Windows-1252, a unit with a 'µ'
        (
            "Datum;co2_ppm [µmol/mol]\n"
            + "".join(
                f"{t[8:10]}.{t[5:7]}.{t[:4]};{v.replace('.', ',')}\n"
                for t, v in (r[:2] for r in rows)
            )
        ).encode("cp1252")
    )
    code, out = invoke("predict", run_id, "--csv", str(recent), "--db", db_url, "--json")
    assert code == 0, out
    plain = json.loads(out)["forecast"]
    plain_notes = json.loads(out)["notes"]
    options = ("--timestamp-column", "Datum", "--decimal", ",", "--time-format", "%d.%m.%Y")
    options += ("--encoding", "cp1252")
    code, out = invoke(
        "predict", run_id, "--csv", str(european), *options, "--db", db_url, "--json"
    )
    assert code == 0, out
    assert json.loads(out)["forecast"] == plain
    # The same rows in long format (a column naming the series): the same forecast.
    long = workdir / "recent-long.csv"
    long.write_text("time,series,value\n" + "".join(f"{r[0]},co2_ppm,{r[1]}\n" for r in rows))
    code, out = invoke(
        "predict", run_id, "--csv", str(long), "--series-column", "series", "--db", db_url, "--json"
    )
    assert code == 0, out
    assert json.loads(out)["forecast"] == plain
    # With a column of status words: left out, as import leaves it out; status codes with
    # digits are refused with the option that reads past them.
    flagged = workdir / "recent-flagged.csv"
    flagged.write_text("time,co2_ppm,status\n" + "".join(f"{r[0]},{r[1]},OK\n" for r in rows))
    code, out = invoke("predict", run_id, "--csv", str(flagged), "--db", db_url, "--json")
    assert code == 0, out
    assert json.loads(out)["forecast"] == plain
    flagged.write_text("time,co2_ppm,status\n" + "".join(f"{r[0]},{r[1]},E42\n" for r in rows))
    code, out = invoke("predict", run_id, "--csv", str(flagged), "--db", db_url)
    assert code == 2 and "--columns" in out
    code, out = invoke(
        "predict", run_id, "--csv", str(flagged), "--columns", "co2_ppm", "--db", db_url, "--json"
    )
    assert code == 0, out
    assert json.loads(out)["forecast"] == plain
    # A logger's word for no reading, named: read as missing, as import reads it.
    marked = workdir / "recent-marked.csv"
    marked.write_text(recent.read_text() + "2001-12-30T00:00:00Z,ERR\n")
    code, out = invoke("predict", run_id, "--csv", str(marked), "--db", db_url)
    assert code == 2 and "--missing 'ERR'" in " ".join(out.split())
    code, out = invoke(
        "predict", run_id, "--csv", str(marked), "--missing", "ERR", "--db", db_url, "--json"
    )
    assert code == 0, out
    # A station's -9999 among the numbers: read as missing, as blank cells are, and said so
    # (in the table's notes and in the JSON); nothing to say of a plain file.
    assert json.loads(out)["notes"] == [] and plain_notes == []
    blanked, sentinel = workdir / "recent-blank.csv", workdir / "recent-9999.csv"
    cut = [f"{r[0]},{'' if i in (-5, -3) else r[1]}" for i, r in enumerate(rows, -len(rows))]
    blanked.write_text("time,co2_ppm\n" + "\n".join(cut) + "\n")
    sentinel.write_text(blanked.read_text().replace(",\n", ",-9999\n"))
    code, out = invoke("predict", run_id, "--csv", str(blanked), "--db", db_url, "--json")
    assert code == 0, out
    expected = json.loads(out)["forecast"]
    code, out = invoke("predict", run_id, "--csv", str(sentinel), "--db", db_url, "--json")
    assert code == 0, out
    answer = json.loads(out)
    assert answer["forecast"] == expected
    said = "'co2_ppm': 2 cells of -9999 read as missing"
    assert len(answer["notes"]) == 1 and answer["notes"][0].startswith(said), answer["notes"]
    code, out = invoke("predict", run_id, "--csv", str(sentinel), "--db", db_url)
    assert code == 0 and said in " ".join(out.split()), out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from gapcast.db.migrate import upgrade

    base = tmp_path_factory.mktemp("cli-server")
    url = f"sqlite:///{base / 'gapcast.db'}"
    upgrade(url)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, data_dir=base / "data", workers_max=1, api_token=None
    )
    with running_server(settings) as live, live.http() as http:
        sample = Path(__file__).parents[2] / "src/gapcast/data/mauna_loa_co2_weekly.csv"
        response = http.post("/datasets", files={"file": ("co2.csv", sample.read_bytes())})
        assert response.status_code == 201, response.text
        yield live


def test_unknown_dataset_exits_2(server: LiveServer, workdir: Path) -> None:
    code, out = invoke("train", "--dataset", "nope", *TINY, "--server", server.url)
    assert code == 2 and "nope" in out, out


def test_bad_override_exits_2(server: LiveServer, workdir: Path) -> None:
    code, out = invoke("configs", "create", "tiny", "--set", "epochs=2", "--server", server.url)
    assert code == 0, out
    code, out = invoke(
        "train", "-d", "co2", "--config", "tiny", "--set", "nope=1", "--server", server.url
    )
    assert code == 2 and "nope" in out, out
    code, out = invoke("train", "--dataset", "co2", "--epochs", "0", "--server", server.url)
    assert code == 2, out
    code, out = invoke("configs", "create", "bad", "--set", "lookback=-3", "--server", server.url)
    assert code == 2 and "lookback" in out, out
    code, out = invoke("runs", "show", "no-such-run", "--server", server.url)
    assert code == 2, out


def test_configs_list_and_show(server: LiveServer, workdir: Path) -> None:
    code, out = invoke("configs", "create", "weekly", "--model", "mlp", "--server", server.url)
    assert code == 0, out
    code, out = invoke("configs", "list", "--server", server.url, "--json")
    assert "weekly" in [c["name"] for c in json.loads(out)]
    code, out = invoke("configs", "show", "weekly", "--server", server.url, "--json")
    assert code == 0 and json.loads(out)["config"]["model"] == "mlp", out


def test_help_lists_every_command() -> None:
    code, out = invoke("--help")
    assert code == 0
    for command in ("demo", "serve", "import", "datasets", "configs", "train", "runs", "predict"):
        assert command in out


def random_walk_csv(path: Path, n: int = 600) -> Path:
    """A random walk: the last value is the best forecast there is, so a plain model (no naive
    correction, which on a walk learns to stay close to the last value) trained for one epoch
    cannot beat naive."""
    rng = np.random.default_rng(3)
    values = 100 + np.cumsum(rng.normal(size=n))
    stamps = np.datetime64("2024-01-01T00:00") + np.arange(n).astype("timedelta64[h]")
    rows = [f"{s}Z,{v:.4f}" for s, v in zip(stamps.astype(str), values, strict=True)]
    path.write_text("timestamp,level\n" + "\n".join(rows) + "\n")
    return path


def test_a_model_worse_than_naive_is_reported_worse(workdir: Path) -> None:
    db_url = f"sqlite:///{workdir / 'gapcast.db'}"
    code, out = invoke(
        "import", str(random_walk_csv(workdir / "walk.csv")), "--name", "walk", "--db", db_url
    )
    assert code == 0, out
    code, out = invoke(
        "train",
        "--dataset",
        "walk",
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--set",
        "correction=off",
        "--db",
        db_url,
    )
    assert code == 0, out
    assert "✗" in out and "✓" not in out, out
    assert "worse than the best baseline (naive)" in out
    assert "warning:" in out
    code, out = invoke("runs", "list", "--db", db_url, "--json")
    (run,) = json.loads(out)
    assert run["verdict"]["better"] is False
    assert "worse_than_baseline" in {w["code"] for w in run["warnings"]}


def test_the_verdict_line_has_a_tick_only_when_better() -> None:
    from gapcast.cli.progress import verdict_line

    def result(better: bool, text: str, ratio: float) -> dict[str, object]:
        verdict = {"better": better, "ratio": ratio, "baseline": "naive", "text": text}
        return {"metrics": {"verdict": verdict, "model_label": "mlp"}}

    better = verdict_line(result(True, "better than the best baseline (naive) by 20%", 0.8))
    worse = verdict_line(result(False, "worse than the best baseline (naive) by 14x", 14))
    level = verdict_line(result(False, "no better than the best baseline (naive): 1% lower", 0.99))
    assert better == "[green]✓[/] mlp: better than the best baseline (naive) by 20%"
    assert worse is not None and "✓" not in worse and "✗" in worse and "14x" in worse
    assert level == "[yellow]≈[/] mlp: no better than the best baseline (naive): 1% lower"


def test_the_hour_the_ranges_held_least_is_the_datasets_own(workdir: Path) -> None:
    """A dataset imported in Europe/Berlin: its run names that hour on Berlin's wall clock, in
    the stored figures and in the summary the CLI prints."""
    db_url = f"sqlite:///{workdir / 'gapcast.db'}"
    hours = pd.date_range("2024-04-01", periods=24 * 100, freq="h")  # summer time throughout
    rng = np.random.default_rng(0)
    level = 20 + 5 * np.sin(2 * np.pi * hours.hour / 24) + rng.normal(size=hours.size)
    export = workdir / "logger.csv"
    export.write_text(
        "time,temp\n"
        + "".join(f"{t:%Y-%m-%d %H:%M},{v:.3f}\n" for t, v in zip(hours, level, strict=True))
    )
    code, out = invoke("import", str(export), "-n", "room", "--timezone", "Europe/Berlin")
    assert code == 0, out
    stride = ["--set", "origin_stride=1"]  # enough test points at every hour to judge it
    code, out = invoke("train", "--dataset", "room", *TINY, *stride, "--db", db_url)
    assert code == 0, out
    said = re.search(r"(\d+)% at (\d\d:00 \S+), its lowest", " ".join(out.split()))
    assert said is not None and said.group(2).endswith(" Europe/Berlin"), out
    code, out = invoke("runs", "list", "--db", db_url, "--json")
    run_id = json.loads(out)[0]["id"]
    code, out = invoke("runs", "show", run_id, "--db", db_url, "--json")
    ranges = json.loads(out)["metrics"]["intervals"]
    assert ranges["coverage_worst_phase_at"] == said.group(2), ranges


def test_predict_reads_and_shows_times_in_the_datasets_zone(workdir: Path) -> None:
    # A Berlin logger's hourly export, wall-clock times without an offset.
    db_url = f"sqlite:///{workdir / 'gapcast.db'}"
    hours = pd.date_range("2024-06-01", periods=24 * 21, freq="h")
    level = 20 + 5 * np.sin(2 * np.pi * hours.hour / 24)
    walls = [t.strftime("%Y-%m-%d %H:%M") for t in hours]

    def rows(times: list[str]) -> str:
        return "time,temp\n" + "".join(
            f"{t},{v:.3f}\n" for t, v in zip(times, level[-len(times) :], strict=True)
        )

    export = workdir / "logger.csv"
    export.write_text(rows(walls))
    code, out = invoke("import", str(export), "-n", "room", "--timezone", "Europe/Berlin")
    assert code == 0, out
    code, out = invoke("train", "--dataset", "room", *TINY, "--db", db_url, "--json")
    assert code == 0, out
    run_id = json.loads(out)["run_id"]
    code, out = invoke("runs", "show", run_id, "--db", db_url, "--json")
    assert code == 0 and json.loads(out)["timezone"] == "Europe/Berlin", out
    # The last days again as the logger writes them, and as UTC with offsets: the same forecast.
    recent, utc = workdir / "recent.csv", workdir / "recent-utc.csv"
    recent.write_text(rows(walls[-72:]))
    aware = hours[-72:].tz_localize("Europe/Berlin").tz_convert("UTC")
    utc.write_text(rows([t.isoformat() for t in aware]))
    code, out = invoke("predict", run_id, "--csv", str(utc), "--db", db_url, "--json")
    assert code == 0, out
    expected = json.loads(out)
    assert expected["notes"] == []
    code, out = invoke("predict", run_id, "--csv", str(recent), "--db", db_url, "--json")
    assert code == 0, out
    answer = json.loads(out)
    assert answer["forecast"] == expected["forecast"]  # JSON times stay UTC
    assert answer["notes"] == [
        "times without an offset read in Europe/Berlin, the zone dataset 'room' was imported "
        "in (--timezone reads them in another)"
    ]
    # Told UTC, the same file is read an hour or two later: another forecast start.
    code, out = invoke(
        "predict", run_id, "--csv", str(recent), "--timezone", "UTC", "--db", db_url, "--json"
    )
    assert code == 0, out
    assert json.loads(out)["forecast"][0]["timestamp"] != expected["forecast"][0]["timestamp"]
    # The table shows Berlin's wall clock: the hour after the export's last line.
    code, out = invoke("predict", run_id, "--db", db_url)
    assert code == 0 and "times in Europe/Berlin" in " ".join(out.split()), out
    assert "2024-06-22 00:00" in out, out
    # --start without an offset is Berlin's time too.
    code, out = invoke("predict", run_id, "--db", db_url, "--start", "2024-06-22T00:00", "--json")
    assert code == 0, out
    assert json.loads(out)["forecast"][0]["timestamp"].startswith("2024-06-21T22:00:00")


def test_a_sensor_that_stopped_is_said_at_import_and_forecast_from_the_files_end(
    workdir: Path,
) -> None:
    """The logger wrote rows for two days after its sensor stopped: the import says so, and
    predict from the dataset starts after the file's last row, where it refuses (no reading in
    its lookback) naming the start that forecasts from the last reading, which works."""
    db_url = f"sqlite:///{workdir / 'gapcast.db'}"
    hours = pd.date_range("2024-06-01", periods=24 * 16, freq="h", tz="UTC")
    level = 20 + 5 * np.sin(2 * np.pi * hours.hour / 24)
    cells = [f"{v:.3f}" if i < 24 * 14 else "" for i, v in enumerate(level)]
    export = workdir / "pump.csv"
    export.write_text(
        "time,flow\n" + "".join(f"{t.isoformat()},{c}\n" for t, c in zip(hours, cells, strict=True))
    )
    code, out = invoke("import", str(export))
    said = " ".join(out.split())
    assert code == 0 and "'flow' has no reading in the file's last 2 days" in said, out
    assert "(its last at 2024-06-14 23:00 UTC; the rows go on to 2024-06-16 23:00 UTC)" in said
    code, out = invoke("train", "--dataset", "pump", *TINY, "--db", db_url, "--json")
    assert code == 0, out
    run_id = json.loads(out)["run_id"]
    code, out = invoke("predict", run_id, "--db", db_url)
    said = " ".join(out.split())
    assert code == 2 and "before 2024-06-17T00:00:00Z have 0% of their points observed" in said
    assert "start at 2024-06-15T00:00:00Z" in said, out
    code, out = invoke("predict", run_id, "--db", db_url, "--start", "2024-06-15T00:00Z", "--json")
    assert code == 0, out
    assert json.loads(out)["forecast"][0]["timestamp"].startswith("2024-06-15T00:00:00")


def test_train_names_its_target_and_covariates(workdir: Path) -> None:
    db_url = f"sqlite:///{workdir / 'gapcast.db'}"
    hours = pd.date_range("2024-06-01", periods=24 * 14, freq="h", tz="UTC")
    cycle = np.sin(2 * np.pi * hours.hour / 24)
    meters = workdir / "meters.csv"
    meters.write_text(
        "time,hall,office\n"
        + "".join(
            f"{t.isoformat()},{10 + c:.3f},{20 + 2 * c:.3f}\n"
            for t, c in zip(hours, cycle, strict=True)
        )
    )
    code, out = invoke("import", str(meters), "--db", db_url)
    assert code == 0, out
    base = ("train", "-d", "meters", *TINY, "--db", db_url, "--json")

    def config_of(out: str) -> dict[str, Any]:
        run_id = json.loads(out)["run_id"]
        code, shown = invoke("runs", "show", run_id, "--db", db_url, "--json")
        assert code == 0, shown
        config: dict[str, Any] = json.loads(shown)["config"]
        return config

    code, out = invoke(*base)
    assert code == 0, out
    assert config_of(out)["target"] is None  # the first series, 'hall'
    code, out = invoke(*base, "--target", "office", "--covariates", "hall")
    assert code == 0, out
    config = config_of(out)
    assert (config["target"], config["covariates"]) == (["office"], ["hall"])
    code, out = invoke(*base, "--target", "kitchen")
    assert code == 2 and "kitchen" in out, out
