"""import → train → runs list/show → export → predict through the real typer entry point, and the
exit codes of bad input (2) against a live server."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

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
    assert {"mae", "rmse", "mase", "seasonal_naive"} <= set(trained["metrics"])

    code, out = invoke("runs", "list", "--db", db_url, "--json")
    assert code == 0, out
    assert [r["id"] for r in json.loads(out)] == [run_id]

    code, out = invoke("runs", "show", run_id[:8], "--db", db_url)
    assert code == 0 and run_id in out and "MASE" in out, out

    code, out = invoke("runs", "export", run_id[:8], "--out", "exported", "--db", db_url, "--json")
    assert code == 0, out
    files = {kind: Path(path) for kind, path in json.loads(out).items()}
    assert {"model", "plot", "pipeline", "record"} <= set(files)
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
