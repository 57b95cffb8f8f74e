"""``gapcast demo`` as a newcomer runs it: a subprocess in an empty directory, with the default
database (./gapcast.db), only the epochs shortened through GAPCAST_DEMO_EPOCHS."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from gapcast.cli.demo import CONFIG_NAME, SAMPLE_NAME, prepare

pytestmark = pytest.mark.slow
GAPCAST = Path(sys.executable).with_name("gapcast")


def test_demo_trains_and_writes_the_model_and_plot(tmp_path: Path) -> None:
    # A newcomer's shell: no GAPCAST_* settings, so the default ./gapcast.db is used.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAPCAST_")}
    env.update({"GAPCAST_DEMO_EPOCHS": "2", "COLUMNS": "120", "NO_COLOR": "1"})
    done = subprocess.run(
        [str(GAPCAST), "demo"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"imported the sample series as dataset {SAMPLE_NAME}" in out
    assert "gaps found: 22 (19 small; 3 large)" in out
    for label in ("MAE", "RMSE", "MASE", "seasonal naive, 1 year", "naive", "epochs", "runtime"):
        assert label in out
    assert "candidate" in out and "backtest:" in out
    # One verdict on the model (the gap classifier has its own line), a tick only when better.
    (verdict,) = [
        line
        for line in out.splitlines()
        if line.startswith(("✓", "✗", "≈")) and "gap classifier" not in line
    ]
    assert (verdict[0] == "✓") == (": better than the best baseline" in verdict), verdict
    assert "gap classifier" in out
    # The sample's outages all lie before 1986, outside the test part: scored by blocked CV.
    assert "blocked cross-validation" in out and "gap steps scored" in out
    assert (tmp_path / "gapcast.db").exists()

    [run_dir] = (tmp_path / "gapcast-out").iterdir()
    model, plot = run_dir / "model.keras", run_dir / "forecast.png"
    assert str(model.relative_to(tmp_path)) in out and str(plot.relative_to(tmp_path)) in out
    with zipfile.ZipFile(model) as archive:
        assert {"config.json", "model.weights.h5"} <= set(archive.namelist())
    with Image.open(plot) as image:
        image.verify()
        assert image.format == "PNG" and image.size[0] >= 600


def test_demo_prepares_the_sample_and_config_once(db_url: str) -> None:
    first = prepare(db_url)
    assert len(first) == 2 and SAMPLE_NAME in first[0] and CONFIG_NAME in first[1]
    assert prepare(db_url) == []


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_serve_points_at_the_demo_runs_page(tmp_path: Path) -> None:
    """With --serve the last line opens the run's own page (#/runs/<id>), where the page shows
    the demo run: the bare address shows the form for a new run."""
    import re
    import signal

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("GAPCAST_")}
    env.update(
        {"GAPCAST_DEMO_EPOCHS": "1", "COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    )
    proc = subprocess.Popen(
        [str(GAPCAST), "demo", "--serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "the server keeps running" in line:
                break
        found = re.search(r"(http://\S+)/#/runs/([0-9a-f-]{36})", "".join(seen))
        assert found, "".join(seen)
        run = httpx.get(f"{found.group(1)}/runs/{found.group(2)}", timeout=30).json()
        assert run["status"] == "succeeded" and run["dataset"] == SAMPLE_NAME
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
