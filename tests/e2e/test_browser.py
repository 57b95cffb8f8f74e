"""The web page in a real headless Chromium against a real server: upload a CSV, see its gaps,
train with live progress and loss chart, see the results and PNG, reload and reattach to a running
run, and errors shown next to their field. Each state is saved as a screenshot in the test's tmp
dir (and in ``GAPCAST_SCREENSHOTS_DIR`` when set, which is how docs/screenshots/ is made)."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from gapcast.api.testing import (
    SAMPLE_CSV,
    TINY,
    LiveServer,
    running_server,
    server_settings,
    temporary_database,
)
from gapcast.api.testing import upload_sample as upload_sample_by_rest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# A run's first epoch waits for a worker process to start and JAX to compile: tens of seconds on a
# busy 2-core machine.
TIMEOUT_MS = 90_000
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("browser")
    with (
        temporary_database("sqlite", tmp_dir=base) as url,
        running_server(server_settings(url, base / "data")) as live,
    ):
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(server.url + "/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    yield page
    context.close()


def shot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    docs = os.environ.get("GAPCAST_SCREENSHOTS_DIR")
    if docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(docs) / path.name)
    return path


def set_config(page: Page, **values: str) -> None:
    for field, value in values.items():
        locator = page.locator(f"#{field}")
        if locator.evaluate("e => e.tagName") == "SELECT":
            locator.select_option(value)
        else:
            locator.fill(value)


def upload_sample(page: Page) -> None:
    if page.locator("#dataset option[value='co2']").count():
        page.select_option("#dataset", "co2")
        return
    page.set_input_files("#file", str(SAMPLE_CSV))
    page.fill("#dataset-name", "co2")
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("co2")


def test_upload_train_and_see_the_results(page: Page, tmp_path: Path) -> None:
    upload_sample(page)
    chart = page.locator("#series-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    assert int(chart.get_attribute("data-points") or 0) > 2000
    assert int(chart.get_attribute("data-gaps") or 0) == 22
    # Gaps of up to 3 weeks are small by default: 4 of the 22 are large.
    expect(page.locator("#dataset-info")).to_contain_text("22 gaps (4 large)")
    # The step as people say it, not pandas' "7 days 00:00:00".
    expect(page.locator("#dataset-info")).to_contain_text("every 7 days ·")
    shot(page, tmp_path, "1-dataset")

    set_config(
        page, model="mlp", epochs="12", patience="0", lookback="52", horizon="13", max_fill="4"
    )
    # Record every width the progress bar takes and every size of the loss chart as they change.
    page.evaluate(
        """() => {
        const bar = document.getElementById('progress-bar');
        const chart = document.getElementById('loss-chart');
        window.widths = []; window.points = [];
        new MutationObserver(() => window.widths.push(bar.style.width))
          .observe(bar, {attributes: true});
        new MutationObserver(() => window.points.push(chart.dataset.points))
          .observe(chart, {attributes: true});
    }"""
    )
    page.click("#train-button")
    expect(page.locator("#run-card")).to_be_visible()
    page.wait_for_function("Number(document.getElementById('loss-chart').dataset.points) > 0")
    shot(page, tmp_path, "2-training")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=180_000)
    widths = page.evaluate("window.widths")
    points = [int(p) for p in page.evaluate("window.points")]
    # Workers send events in small batches, so the page moves in steps, never backwards.
    assert len(set(widths)) >= 3 and widths[-1] == "100%"
    assert points == sorted(points) and len(set(points) - {0}) >= 2 and points[-1] == 12

    expect(page.locator("#metrics-table")).to_contain_text("MASE")
    expect(page.locator("#metrics-table")).to_contain_text("seasonal naive, 1 year")
    verdict = page.locator("#verdict").inner_text()
    assert "the best baseline" in verdict and (verdict[0] == "✓") == ("better" in verdict)
    expect(page.locator("#intervals")).to_contain_text("P10–P90")
    # The interactive backtest, with the gap classifier's track (this run trained one).
    expect(page.locator("#backtest-chart")).to_have_attribute("data-gap-track", "true")
    expect(page.locator("#backtest-legend")).to_contain_text("p(no data)")
    plot = page.locator("#plot")
    expect(plot).to_have_js_property("complete", True)
    assert plot.evaluate("img => img.naturalWidth") >= 600
    model = page.request.get(page.locator("#model-link").evaluate("a => a.href"))
    assert model.ok and model.body()[:2] == b"PK"  # a .keras archive is a zip
    expect(page.locator("#runs-table tbody tr")).not_to_have_count(0)
    plot.scroll_into_view_if_needed()
    shot(page, tmp_path, "3-result")


def test_reload_reattaches_to_a_running_run(page: Page, tmp_path: Path) -> None:
    upload_sample(page)
    set_config(
        page,
        model="linear",
        epochs="400",
        batch_size="8",
        patience="0",
        lookback="16",
        horizon="4",
        gap_classifier="never",
    )
    page.click("#train-button")
    expect(page.locator("#run-status")).to_have_text("running")
    run_id = page.locator("#run-id").inner_text()
    expect(page.locator("#loss-chart")).not_to_have_attribute("data-points", "0")

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#run-id")).to_have_text(run_id)
    expect(page.locator("#runs-table tr.current")).to_contain_text(run_id)
    # The replay rebuilds the chart, and live epochs keep coming after it.
    replayed = int(page.locator("#loss-chart").get_attribute("data-points") or 0)
    page.wait_for_function(
        f"Number(document.getElementById('loss-chart').dataset.points) > {replayed + 2}"
    )
    shot(page, tmp_path, "4-reattached")
    page.click("#cancel-button")
    expect(page.locator("#run-status")).to_have_text("cancelled", timeout=60_000)
    # A stopped run says where it stopped, and the table keeps its epochs.
    expect(page.locator("#stage-text")).to_contain_text("cancelled during training after")
    expect(page.locator("#stage-text")).to_contain_text("of 400 epochs")
    row = page.locator(f"#runs-table tr[data-run^='{run_id}']")
    expect(row.locator("td").nth(9)).not_to_have_text("–")
    # Its configuration stays readable (it is not part of a succeeded run's result).
    page.click("#config-details summary")
    expect(page.locator("#run-config")).to_contain_text('"lookback": 16')


def test_a_survivor_of_the_rung_keeps_its_loss_curve(page: Page, tmp_path: Path) -> None:
    """Model auto trains all four candidates for a 3-epoch rung, then the better two on to the
    last epoch: a survivor's curve goes on from its rung's epochs instead of starting over."""
    upload_sample(page)
    set_config(page, model="auto", epochs="6", patience="0", gap_classifier="never")
    page.evaluate(
        """() => {
        const chart = document.getElementById('loss-chart');
        window.seen = [];
        new MutationObserver(() => window.seen.push([chart.dataset.curve, chart.dataset.points]))
          .observe(chart, {attributes: true});
    }"""
    )
    page.click("#train-button")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=180_000)
    most: dict[str, int] = {}
    for curve, points in page.evaluate("window.seen"):
        if curve:
            # Never back to fewer points on the same curve, and none lost on switching.
            assert int(points) >= most.get(curve, 0), (curve, points)
            most[curve] = int(points)
    assert len(most) == 4
    assert sorted(most.values()) == [3, 3, 6, 6]
    expect(page.locator("#loss-chart")).to_have_attribute("data-points", "6")
    expect(page.locator("#stage-text")).to_contain_text("finished")


def test_a_dataset_of_several_series_chooses_what_to_forecast_and_read(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    meters = tmp_path / "meters.csv"
    rows = "".join(
        f"2025-02-{1 + h // 24:02d}T{h % 24:02d}:00:00Z,{10 + h % 24},{20 + 2 * (h % 24)}\n"
        for h in range(24 * 10)
    )
    meters.write_text("timestamp,hall,office\n" + rows)
    page.set_input_files("#file", str(meters))
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("meters")
    expect(page.locator("#series-choice")).to_be_visible()
    expect(page.locator("#target")).to_have_value("hall")
    # The forecast series is offered to read beside itself only when it is not the target.
    expect(page.locator("#covariates input[value='hall']")).to_be_hidden()
    page.select_option("#target", "office")
    expect(page.locator("#covariates input[value='office']")).to_be_hidden()
    page.check("#covariates input[value='hall']")
    set_config(page, model="linear", epochs="1", lookback="24", horizon="6")
    page.click("#train-button")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=180_000)
    run_id = page.locator("#run-card").get_attribute("data-run")
    with server.http() as http:
        config = http.get(f"/runs/{run_id}").json()["config"]
    assert (config["target"], config["covariates"]) == (["office"], ["hall"])
    # A dataset of one series has nothing to choose.
    page.click("#new-run-link")
    upload_sample(page)
    expect(page.locator("#series-choice")).to_be_hidden()


def test_a_sensor_sending_on_change_only_is_trained_holding_its_readings(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    """The upload's note names the page's choice; choosing it sends resample's hold with its
    limit (which only then can be typed), and a limit that is no duration is refused next to
    its field before any run starts."""
    rng = np.random.default_rng(2)
    minutes = np.cumsum(rng.integers(3, 40, 600))
    start = pd.Timestamp("2025-03-01T00:00Z")
    # A reading is sent when the temperature moved by 0.1 to 0.3 degrees: never a repeat.
    moves = rng.choice([-1, 1], minutes.size) * rng.integers(1, 4, minutes.size)
    level = 20 + np.cumsum(moves) / 10
    rows = "".join(
        f"{(start + pd.Timedelta(minutes=int(m))).isoformat()},{v:.1f}\n"
        for m, v in zip(minutes, level, strict=True)
    )
    (tmp_path / "thermostat.csv").write_text("time,temperature\n" + rows)
    page.set_input_files("#file", str(tmp_path / "thermostat.csv"))
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("thermostat")
    expect(page.locator("#import-notes")).to_contain_text(
        "'Between readings': the last reading holds"
    )
    expect(page.locator("#between")).to_have_value("missing")
    expect(page.locator("#max_hold")).to_be_disabled()
    page.select_option("#between", "hold")
    set_config(page, model="linear", epochs="1", lookback="12", horizon="4", max_hold="soon")
    page.click("#train-button")
    expect(page.locator("[data-error-for='max_hold']")).to_contain_text("soon")
    set_config(page, max_hold="3h")
    page.click("#train-button")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=180_000)
    run_id = page.locator("#run-card").get_attribute("data-run")
    with server.http() as http:
        config = http.get(f"/runs/{run_id}").json()["config"]
    resample = next(s for s in config["preprocessing"] if s["step"] == "resample")
    assert (resample["agg"], resample["max_hold"]) == ("hold", "3h")
    page.click("#new-run-link")  # the form keeps the last run's choices, as for every field
    expect(page.locator("#between")).to_have_value("hold")
    page.select_option("#between", "missing")
    expect(page.locator("#max_hold")).to_be_disabled()


def test_a_sensor_that_stopped_is_forecast_from_a_start_the_refusal_names(
    page: Page, tmp_path: Path
) -> None:
    """The logger wrote two days of rows after its sensor stopped: the upload says so, the
    forecast after the dataset's end is refused naming the start that forecasts from the last
    reading, and given that start in "From" the page forecasts from it."""
    hours = pd.date_range("2025-04-01", periods=24 * 16, freq="h", tz="UTC")
    level = 20 + 5 * np.sin(2 * np.pi * hours.hour / 24)
    cells = [f"{v:.3f}" if i < 24 * 14 else "" for i, v in enumerate(level)]
    (tmp_path / "pump.csv").write_text(
        "time,flow\n" + "".join(f"{t.isoformat()},{c}\n" for t, c in zip(hours, cells, strict=True))
    )
    page.set_input_files("#file", str(tmp_path / "pump.csv"))
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("pump")
    expect(page.locator("#import-notes")).to_contain_text(
        "has no reading in the file's last 2 days"
    )
    set_config(page, model="linear", epochs="1", lookback="12", horizon="4", between="missing")
    page.click("#train-button")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=180_000)
    page.click("#predict-dataset")
    refusal = page.locator("[data-error-for='predict']")
    expect(refusal).to_contain_text("start at 2025-04-15T00:00:00Z")
    page.fill("#predict-start", "2025-04-15T00:00:00Z")
    page.click("#predict-dataset")
    expect(page.locator("#predict-table tbody tr")).to_have_count(4)
    expect(page.locator("#predict-table caption")).to_contain_text("from 2025-04-15T00:00:00Z")
    expect(refusal).to_have_text("")


def test_server_errors_appear_next_to_their_field(page: Page, tmp_path: Path) -> None:
    upload_sample(page)
    set_config(page, lookback="0")
    page.click("#train-button")
    error = page.locator('[data-error-for="lookback"]')
    expect(error).to_contain_text("lookback")
    expect(page.locator("#lookback")).to_have_class("invalid")
    set_config(page, lookback="16", model="lstm")  # model "auto" takes no hyperparameters
    set_config(page, hyperparameters='{"units": "many"}')
    page.click("#train-button")
    expect(page.locator('[data-error-for="hyperparameters"]')).to_contain_text("units")
    shot(page, tmp_path, "5-field-error")


def test_the_verdict_has_a_tick_only_when_better(page: Page) -> None:
    shown = page.evaluate(
        """async () => {
        const { verdictText } = await import('/web/js/format.js');
        const v = (better, ratio, text) =>
          ({ model_label: 'mlp', verdict: { better, ratio, text } });
        return [
          verdictText(v(true, 0.77, 'better than the best baseline (naive) by 23%')),
          verdictText(v(false, 14, 'worse than the best baseline (naive) by 14x')),
          verdictText(v(false, 0.99, 'no better than the best baseline (naive): 1% lower MAE')),
        ];
    }"""
    )
    assert shown[0] == {
        "text": "✓ mlp: better than the best baseline (naive) by 23%",
        "better": True,
        "tone": "better",
    }
    assert shown[1]["text"] == "✗ mlp: worse than the best baseline (naive) by 14x"
    assert "✓" not in shown[1]["text"] and shown[1]["better"] is False
    assert shown[1]["tone"] == "worse"
    # Ahead by less than the noise: neither a tick nor a cross.
    assert shown[2] == {
        "text": "≈ mlp: no better than the best baseline (naive): 1% lower MAE",
        "better": False,
        "tone": "level",
    }


def test_the_forecast_range_names_the_hour_it_held_least(page: Page) -> None:
    """A range right on average can be wrong at every busy hour: the page says where it held
    least, as the CLI does; a weekly series' figures have no such hour and say nothing of it."""
    shown = page.evaluate(
        """async () => {
        const { intervalText } = await import('/web/js/format.js');
        const iv = { quantiles: [0.1, 0.5, 0.9], level: 0.8, coverage: 0.81, width: 3.2,
          coverage_gappy_history: null, pinball_ratio: 0.62, pinball_reference: 'naive',
          coverage_worst_phase: 0.66, coverage_worst_phase_at: '12:00 UTC', baselines: [] };
        return [intervalText(iv), intervalText({ ...iv, coverage_worst_phase: null })];
    }"""
    )
    assert shown[0] == (
        "forecast range P10–P90: covers 81% of the test points (nominal 80%; 66% at 12:00 UTC, "
        "its lowest), mean width 3.200, pinball loss 0.62x the naive's"
    )
    assert "lowest" not in shown[1] and shown[1].startswith("forecast range P10–P90: covers 81%")


def test_several_targets_show_each_ones_mae_and_their_mean_mase(page: Page) -> None:
    """Watts beside degrees: a column per target's MAE and the mean MASE the rows are ranked by;
    no pooled MAE, RMSE or bias (they would be the watts' alone). A target's name is text."""
    page.evaluate(
        """async () => {
        const { showLeaderboard } = await import('/web/js/leaderboard.js');
        const row = (method, label, kind, power, temp, mase) => ({
          method, label, kind, mae: (power + temp) / 2, rmse: 1, mase, smape: 1, bias: 0,
          mae_by_lead: [], mae_by_target: { 'power <W>': power, temp } });
        const text = 'better than the best baseline (naive) by 95%';
        const candidate = (key, val_mae, selected) => ({
          key, label: key, val_mae, epochs: 3, selected });
        showLeaderboard({ epochs: 3, runtime_s: 1.5, metrics: {
          model_label: 'mlp', origins: 5, origin_stride: 24, points: 240,
          verdict: { better: true, ratio: 0.05, baseline: 'naive', text },
          leaderboard: [row('model', 'mlp', 'model', 100, 0, 0.01),
                        row('naive', 'naive', 'baseline', 0, 2, 0.2)],
          candidates: [candidate('mlp', 0.02, true), candidate('linear', 0.03, false)] } });
    }"""
    )
    table = page.locator("#metrics-table")
    header = table.locator("thead").inner_text()
    assert "MAE power <W>" in header and "MAE temp" in header and "MASE (mean)" in header
    assert "RMSE" not in header and "bias" not in header
    first = table.locator("tbody tr").first.inner_text()
    assert first.startswith("▶ mlp") and "100" in first
    expect(page.locator("#candidates-table")).to_contain_text("val MASE (mean)")
    live = page.evaluate(
        """async () => {
        const { candidateScoreText } = await import('/web/js/format.js');
        return [candidateScoreText({ score: 'mean_mase' }), candidateScoreText({ score: 'mae' }),
                candidateScoreText({})];
    }"""
    )
    assert live == ["validation MASE (mean)", "validation MAE", "validation MAE"]


def test_a_lag_candidate_within_the_noise_says_so_beside_its_lower_score(page: Page) -> None:
    """The chosen row can have a higher validation MAE than a candidate with the week's lag whose
    gain was within the noise: that row says why it was not chosen."""
    page.evaluate(
        """async () => {
        const { showLeaderboard } = await import('/web/js/leaderboard.js');
        const candidate = (key, val_mae, selected, within_noise) => ({
          key, label: key, val_mae, epochs: 3, selected, within_noise });
        showLeaderboard({ epochs: 3, runtime_s: 1.5, metrics: {
          model_label: 'mlp', mae: 1, origins: 5, origin_stride: 24, points: 240,
          leaderboard: [], candidates: [candidate('mlp', 0.52, true, false),
                                        candidate('mlp + 1 week lag', 0.5, false, true)] } });
    }"""
    )
    rows = page.locator("#candidates-table tbody tr")
    expect(rows.nth(1)).to_contain_text("mlp + 1 week lag (lag within noise)")
    expect(rows.nth(0)).not_to_contain_text("within noise")
    assert "less than chance" in (rows.nth(1).locator("span").get_attribute("title") or "")


# -- the experiment tracker: runs table, a run's page, compare, sweeps ---------------------------


def wait_finished(server: LiveServer, run_ids: list[str]) -> None:
    deadline = time.monotonic() + 240
    with server.http() as http:
        while time.monotonic() < deadline:
            runs = [http.get(f"/runs/{i}").json() for i in run_ids]
            if all(r["status"] not in ("queued", "running") for r in runs):
                assert all(r["status"] == "succeeded" for r in runs), runs
                return
            time.sleep(0.5)
    raise AssertionError(f"runs {run_ids} did not finish")


@pytest.fixture(scope="module")
def tracked(server: LiveServer) -> dict[str, str]:
    """Tiny finished runs: linear with lookback 16 and 24, an mlp, and a sweep of three trials."""
    with server.http() as http:
        if not any(d["name"] == "co2" for d in http.get("/datasets").json()):
            upload_sample_by_rest(server, "co2")

        def submit(**change: Any) -> str:
            body = {"dataset": "co2", "overrides": {**TINY, **change}}
            response = http.post("/runs", json=body)
            assert response.status_code == 202, response.text
            return str(response.json()["run_id"])

        runs = {"lb16": submit(), "lb24": submit(lookback=24), "mlp": submit(model="mlp")}
        sweep = http.post(
            "/sweeps",
            json={
                "dataset": "co2",
                "overrides": TINY,
                "space": {
                    "learning_rate": {"type": "float", "low": 0.001, "high": 0.1, "log": True}
                },
                "trials": 3,
                "sampler": "random",
                "seed": 7,
                "name": "learning rates",
            },
        )
        assert sweep.status_code == 202, sweep.text
        sweep_id = sweep.json()["id"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            shown = http.get(f"/sweeps/{sweep_id}").json()
            if shown["status"] != "running":
                break
            time.sleep(0.5)
        assert shown["status"] == "succeeded", shown
    wait_finished(server, list(runs.values()))
    return {**runs, "sweep": sweep_id, "best": shown["best_run_id"]}


def open_page(page: Page, server: LiveServer, fragment: str) -> None:
    page.goto(f"{server.url}/{fragment}")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def run_row(page: Page, run_id: str) -> Any:
    return page.locator(f"#runs-table tr[data-run='{run_id}']")


def test_runs_table_sorts_filters_and_groups_a_sweep(
    page: Page, server: LiveServer, tracked: dict[str, str], tmp_path: Path
) -> None:
    open_page(page, server, "#/")
    for key in ("lb16", "lb24", "mlp"):
        expect(run_row(page, tracked[key])).to_be_visible()
    # The sweep's trials under its heading, the best one starred.
    head = page.locator(f"#runs-table tr.sweep-head[data-sweep='{tracked['sweep']}']")
    expect(head).to_contain_text("learning rates")
    expect(head).to_contain_text("3 trials")
    expect(run_row(page, tracked["best"]).locator(".star")).to_have_count(1)
    expect(page.locator("#runs-table .star")).to_have_count(1)
    expect(run_row(page, tracked["lb24"])).to_contain_text("24 / 4")

    page.select_option("#filter-model", "mlp")
    expect(run_row(page, tracked["lb16"])).to_have_count(0)
    expect(run_row(page, tracked["mlp"])).to_be_visible()
    models = page.locator("#runs-table tbody tr[data-run] td:nth-child(5)").all_inner_texts()
    assert models and set(models) == {"mlp"}
    page.select_option("#filter-model", "")

    def maes_by_group() -> dict[str, list[float]]:
        """MAE down the table, per group: the runs outside sweeps, and each sweep's trials."""
        groups: dict[str, list[float]] = {}
        for tr in page.locator("#runs-table tbody tr[data-run]").all():
            mae = tr.locator("td").nth(6).inner_text()
            if mae != "–":
                key = "trial" if "trial" in (tr.get_attribute("class") or "") else "plain"
                groups.setdefault(key, []).append(float(mae))
        return groups

    page.click("#runs-table th[data-sort='mae']")  # a new column sorts ascending
    expect(page.locator("#runs-table th[data-sort='mae']")).to_have_attribute("data-dir", "asc")
    assert all(v == sorted(v) for v in maes_by_group().values())
    page.click("#runs-table th[data-sort='mae']")
    expect(page.locator("#runs-table th[data-sort='mae']")).to_have_attribute("data-dir", "desc")
    groups = maes_by_group()
    assert all(v == sorted(v, reverse=True) for v in groups.values())
    assert len(groups["trial"]) == 3 and len(groups["plain"]) >= 2
    # From the keyboard too.
    page.locator("#runs-table th[data-sort='epochs']").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#runs-table th[data-sort='epochs']")).to_have_attribute(
        "aria-sort", "ascending"
    )
    page.select_option("#filter-status", "succeeded")
    page.fill("#filter-text", "no such run")
    expect(page.locator("#runs-table tbody")).to_contain_text("no run matches")
    page.fill("#filter-text", "")
    shot(page, tmp_path, "6-runs-table")


def test_tag_a_run_on_its_page_and_find_it(
    page: Page, server: LiveServer, tracked: dict[str, str]
) -> None:
    open_page(page, server, "#/")
    run_row(page, tracked["mlp"]).locator("td").nth(2).click()
    expect(page).to_have_url(f"{server.url}/#/runs/{tracked['mlp']}")
    page.fill("#run-name", "tiny mlp")
    page.fill("#run-tags", "smoke, mlp, smoke")
    page.fill("#run-note", "two epochs")
    page.click("#labels-save")
    expect(page.locator("#labels-saved")).to_have_text("saved")
    expect(page.locator("#run-tags")).to_have_value("smoke, mlp")
    expect(run_row(page, tracked["mlp"])).to_contain_text("tiny mlp")
    page.fill("#filter-text", "smoke")
    expect(page.locator("#runs-table tbody tr[data-run]")).to_have_count(1)
    # A tag the server refuses: the message names it, next to the tags input.
    page.fill("#run-tags", "x" * 41)
    page.click("#labels-save")
    expect(page.locator('[data-error-for="run-tags"]')).to_contain_text("tags[0]")
    with server.http() as http:
        stored = http.get(f"/runs/{tracked['mlp']}").json()
    assert (stored["name"], stored["tags"], stored["note"]) == (
        "tiny mlp",
        ["smoke", "mlp"],
        "two epochs",
    )


def test_labels_typed_while_the_run_loads_are_kept(
    page: Page, server: LiveServer, tracked: dict[str, str]
) -> None:
    run_id = tracked["lb16"]
    open_page(page, server, "#/")
    held: list[Any] = []
    # The run's GET is held until the user has typed: the page must not overwrite the typing.
    pattern = re.compile(rf".*/runs/{run_id}$")

    def hold(route: Any) -> None:
        held.append(route)

    page.route(pattern, hold)
    page.evaluate(f"location.hash = '#/runs/{run_id}'")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page never asked for the run"
    page.fill("#run-note", "typed while it loaded")
    held[0].continue_()
    page.unroute(pattern)
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#run-note")).to_have_value("typed while it loaded")
    page.click("#labels-save")
    expect(page.locator("#labels-saved")).to_have_text("saved")
    with server.http() as http:
        assert http.get(f"/runs/{run_id}").json()["note"] == "typed while it loaded"


def test_a_runs_url_opens_after_reload_with_an_interactive_chart(
    page: Page, server: LiveServer, tracked: dict[str, str], tmp_path: Path
) -> None:
    run_id = tracked["lb24"]
    open_page(page, server, f"#/runs/{run_id}")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#run-card")).to_have_attribute("data-run", run_id)
    expect(page.locator("#data-card")).to_be_hidden()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("#metrics-table")).to_contain_text("MASE")
    expect(page.locator("#run-config")).to_contain_text('"lookback": 24')
    kinds = page.locator("#artifacts a").all_inner_texts()
    assert any("forecaster" in k for k in kinds) and any("backtest" in k for k in kinds)
    expect(page.locator("#plot-link")).to_have_attribute("target", "_blank")
    # The loss chart: a legend of names (not empty value slots) and a log scale on request.
    expect(page.locator("#loss-chart .u-legend")).to_contain_text("val loss")
    page.check("#loss-log")
    expect(page.locator("#loss-chart")).to_have_attribute("data-log", "true")

    chart = page.locator("#backtest-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    origins = int(chart.get_attribute("data-origins") or 0)
    assert origins > 1
    # Scored from every step of the test part, drawn a horizon (4 steps) apart: one path never
    # hides the next.
    with server.http() as http:
        scored = len(http.get(f"/runs/{run_id}/backtest.json").json()["origins"])
    assert int(chart.get_attribute("data-scored") or 0) == scored
    assert origins < scored <= 4 * origins
    # The run's P10-P90 interval: a shaded range around every drawn origin's forecast path.
    assert int(chart.get_attribute("data-bands") or 0) == origins
    before = float(chart.get_attribute("data-xmax") or 0) - float(
        chart.get_attribute("data-xmin") or 0
    )
    chart.scroll_into_view_if_needed()
    box = chart.locator(".u-over").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "([el, before]) => el.dataset.xmax - el.dataset.xmin < before * 0.5",
        arg=[chart.element_handle(), before],
        timeout=10_000,
    )
    chart.scroll_into_view_if_needed()
    shot(page, tmp_path, "7-run-page")


def test_predict_from_the_run_page(
    page: Page, server: LiveServer, tracked: dict[str, str], tmp_path: Path
) -> None:
    open_page(page, server, f"#/runs/{tracked['lb16']}")
    page.click("#predict-dataset")
    rows = page.locator("#predict-table tbody tr")
    expect(rows).to_have_count(4)  # the horizon
    expect(page.locator("#predict-table")).to_contain_text("dataset's end")
    expect(page.locator("#predict-chart canvas")).to_have_count(1)
    # The one target's quantiles are headed P10/P50/P90; the API's names are their titles.
    headers = page.locator("#predict-table thead th")
    expect(headers.filter(has_text=re.compile(r"^P10$"))).to_have_count(1)
    expect(headers.filter(has_text=re.compile(r"^P90$"))).to_have_attribute(
        "title", re.compile(r"_p90$")
    )
    # From posted rows: a file of recent points, read by the server as an import reads it.
    recent = tmp_path / "recent.csv"
    lines = SAMPLE_CSV.read_text().splitlines()
    recent.write_text("\n".join([lines[0], *lines[1000:1060]]) + "\n")
    page.set_input_files("#predict-file", str(recent))
    expect(page.locator("#predict-table")).to_contain_text("posted rows")
    expect(rows).to_have_count(4)
    expect(page.locator("#predict-notes li")).to_have_count(0)
    # A station's -9999 among them: read as missing, and said beside the forecast.
    marked = tmp_path / "recent-marked.csv"
    head, *cells = recent.read_text().splitlines()
    cells[-4] = cells[-4].split(",")[0] + ",-9999"
    cells[-2] = cells[-2].split(",")[0] + ",-9999"
    marked.write_text("\n".join([head, *cells]) + "\n")
    page.set_input_files("#predict-file", str(marked))
    expect(page.locator("#predict-notes li")).to_have_text(
        [re.compile(r"'co2_ppm': 2 cells of -9999 read as missing")]
    )
    expect(rows).to_have_count(4)
    # Another export of them (';', day-first dates, a unit in the header): read as an import
    # reads it; a refusal names the line.
    other = tmp_path / "recent-eu.csv"
    _, *body = recent.read_text().splitlines()
    days = [(line.split(",")[0].split("-"), line.split(",")[1]) for line in body]
    # 100 ppm higher, so that its forecast (and so the table) is another.
    other.write_text(
        "Datum;co2_ppm [ppm]\n"
        + "".join(f"{d[2]}.{d[1]}.{d[0]};{float(v) + 100:.1f}\n" for d, v in days if v)
    )
    before = page.locator("#predict-table tbody").inner_text()
    page.set_input_files("#predict-file", str(other))
    expect(page.locator("#predict-table tbody")).not_to_have_text(before)
    expect(page.locator('[data-error-for="predict"]')).to_have_text("")
    bad = tmp_path / "recent-bad.csv"
    lines = other.read_text().splitlines(keepends=True)
    bad.write_text("".join([*lines[:4], lines[4].split(";")[0] + ";n/a?\n", *lines[5:]]))
    page.set_input_files("#predict-file", str(bad))
    expect(page.locator('[data-error-for="predict"]')).to_contain_text(
        "column 'co2_ppm [ppm]': 1 non-numeric value(s) at line 5"
    )
    page.locator("#predict-table").scroll_into_view_if_needed()
    shot(page, tmp_path, "8-predict")


def test_predict_from_a_file_reads_its_times_in_the_datasets_zone(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    """A Berlin logger's dataset: the page reads the next export of it in Berlin time, as the
    import did, and says so; the same rows written with offsets give the same forecast."""
    hours = pd.date_range("2025-06-01", periods=24 * 14, freq="h")
    rows = [(t, 20 + 5 * np.sin(2 * np.pi * t.hour / 24)) for t in hours]
    export = "time,temp\n" + "".join(f"{t:%Y-%m-%d %H:%M},{v:.3f}\n" for t, v in rows)
    with server.http() as http:
        made = http.post(
            "/datasets",
            files={"file": ("room.csv", export.encode())},
            data={"name": "room", "timezone": "Europe/Berlin"},
        )
        assert made.status_code == 201, made.text
        queued = http.post("/runs", json={"dataset": "room", "overrides": TINY})
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["run_id"]
    wait_finished(server, [run_id])
    open_page(page, server, f"#/runs/{run_id}")
    recent = rows[-72:]
    local = tmp_path / "recent.csv"
    local.write_text("time,temp\n" + "".join(f"{t:%Y-%m-%d %H:%M},{v:.3f}\n" for t, v in recent))
    aware = tmp_path / "recent-utc.csv"
    aware.write_text(
        "time,temp\n"
        + "".join(
            f"{t.tz_localize('Europe/Berlin').tz_convert('UTC').isoformat()},{v:.3f}\n"
            for t, v in recent
        )
    )
    page.set_input_files("#predict-file", str(aware))
    expect(page.locator("#predict-table")).to_contain_text("posted rows")
    expect(page.locator("#predict-notes li")).to_have_count(0)
    table = page.locator("#predict-table tbody").text_content() or ""
    page.set_input_files("#predict-file", str(local))
    expect(page.locator("#predict-notes li")).to_have_text(
        ["times without an offset read in Europe/Berlin, the zone dataset 'room' was imported in"]
    )
    expect(page.locator("#predict-table tbody")).to_have_text(table)
    # The REST API reads posted rows the same way: without an offset, in the dataset's zone.
    with server.http() as http:

        def posted(times: list[str]) -> dict[str, Any]:
            body = {"data": {"timestamp": times, "temp": [round(v, 3) for _, v in recent]}}
            response = http.post(f"/runs/{run_id}/predict", json=body)
            assert response.status_code == 200, response.text
            answer: dict[str, Any] = response.json()
            return answer

        walls = posted([f"{t:%Y-%m-%dT%H:%M}" for t, _ in recent])
        instants = posted(
            [t.tz_localize("Europe/Berlin").tz_convert("UTC").isoformat() for t, _ in recent]
        )
    assert walls["forecast"] == instants["forecast"] and instants["notes"] == []
    assert walls["notes"][0].startswith(
        "times without an offset read in Europe/Berlin, the zone dataset 'room' was imported in"
    )


def test_compare_two_runs(
    page: Page, server: LiveServer, tracked: dict[str, str], tmp_path: Path
) -> None:
    open_page(page, server, "#/")
    for key in ("lb16", "lb24"):
        run_row(page, tracked[key]).locator("input.pick").check()
    page.click("#compare-button")
    expect(page).to_have_url(re.compile(r"#/compare/"))
    expect(page.locator("#compare-loss")).to_have_attribute("data-curves", "2")
    expect(page.locator("#compare-loss canvas")).to_have_count(1)
    # The parameter that differs is highlighted; one they share is not.
    expect(page.locator("#compare-table tr[data-key='window.lookback']")).to_have_class(
        re.compile(r"\bdiff\b")
    )
    expect(page.locator("#compare-table tr[data-key='model']")).not_to_have_class(
        re.compile(r"\bdiff\b")
    )
    expect(page.locator("#compare-forecast")).to_have_attribute("data-series", "2")
    page.check("#compare-log")
    expect(page.locator("#compare-loss")).to_have_attribute("data-log", "true")
    shot(page, tmp_path, "9-compare")


def test_a_sweep_plots_its_objective_against_its_parameter(
    page: Page, server: LiveServer, tracked: dict[str, str], tmp_path: Path
) -> None:
    open_page(page, server, f"#/sweeps/{tracked['sweep']}")
    chart = page.locator("#sweep-charts .sweep-chart[data-param='learning_rate']")
    expect(chart).to_have_attribute("data-points", "3")
    expect(page.locator("#sweep-info")).to_contain_text("3 of 3 trials")
    shot(page, tmp_path, "10-sweep")


def test_delete_a_run_from_its_page(page: Page, server: LiveServer) -> None:
    with server.http() as http:
        run_id = http.post("/runs", json={"dataset": "co2", "overrides": TINY}).json()["run_id"]
    wait_finished(server, [run_id])
    open_page(page, server, f"#/runs/{run_id}")
    expect(page.locator("#delete-button")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-button")
    expect(page).to_have_url(f"{server.url}/#/")
    expect(run_row(page, run_id)).to_have_count(0)
    with server.http() as http:
        assert http.get(f"/runs/{run_id}").status_code == 404


def test_a_taken_dataset_name_offers_replace(page: Page, tmp_path: Path) -> None:
    upload_sample(page)
    page.set_input_files("#file", str(SAMPLE_CSV))
    page.fill("#dataset-name", "co2")
    page.click("#upload-button")
    expect(page.locator('[data-error-for="name"]')).to_contain_text("already exists")
    expect(page.locator('[data-error-for="name"]')).not_to_contain_text("--replace")
    page.click("#replace-button")
    expect(page.locator('[data-error-for="name"]')).to_have_text("")
    expect(page.locator("#replace-button")).to_be_hidden()
    expect(page.locator("#dataset")).to_have_value("co2")


def test_a_slower_series_is_drawn_joined_with_only_its_missing_readings_shaded(
    page: Page, tmp_path: Path
) -> None:
    mixed = tmp_path / "mixed.csv"
    rows = "".join(
        f"2025-01-01T{m // 60:02d}:{m % 60:02d}:00Z,{20 + m / 100},"
        f"{'12.5' if m % 10 == 0 and m != 120 else ''}\n"
        for m in range(360)
    )
    mixed.write_text("timestamp,temp,volts\n" + rows)
    page.set_input_files("#file", str(mixed))
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("mixed")
    chart = page.locator("#series-chart")
    expect(chart).to_have_attribute("data-joined", "volts")
    expect(chart).to_have_attribute("data-gaps", "1")
    expect(page.locator("#dataset-info")).to_contain_text("1 gaps (0 large)")


def test_the_run_log_says_a_slower_covariate_is_held(page: Page, tmp_path: Path) -> None:
    """Power every 5 minutes, an outdoor temperature every 30: the run's log lines (here, that
    the temperature is held between its readings) are listed on the run card as they come, as
    the CLI prints them, and not left in the event stream alone."""
    meter = tmp_path / "heating.csv"
    rows = "".join(
        f"2025-01-{1 + m // 1440:02d}T{m // 60 % 24:02d}:{m % 60:02d}:00Z,{50 + m % 7},"
        f"{f'{5 + m % 11}.5' if m % 30 == 0 else ''}\n"
        for m in range(0, 4 * 1440, 5)
    )
    meter.write_text("timestamp,power,outdoor\n" + rows)
    page.set_input_files("#file", str(meter))
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("heating")
    page.check("#covariates input[value='outdoor']")
    set_config(page, model="linear", epochs="1", lookback="24", horizon="6")
    page.click("#train-button")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=180_000)
    expect(page.locator("#run-log li.info").first).to_contain_text(
        "read less often than the grid's 5min step: 'outdoor' (up to 5 steps)"
    )
    expect(page.locator("#stage-text")).to_contain_text("finished")
    shot(page, tmp_path, "run-log")


def test_a_newer_export_under_a_taken_name_appends_to_it(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    first, newer = tmp_path / "first.csv", tmp_path / "newer.csv"
    first.write_text("timestamp,kw\n" + "".join(f"2025-03-01T{h:02d}:00Z,{h}\n" for h in range(6)))
    newer.write_text(
        "timestamp,kw\n" + "".join(f"2025-03-01T{h:02d}:00Z,{h}\n" for h in range(4, 9))
    )
    for file in (first, newer):
        page.set_input_files("#file", str(file))
        page.fill("#dataset-name", "meter")
        page.click("#upload-button")
    expect(page.locator('[data-error-for="name"]')).to_contain_text("or append this file's")
    page.click("#append-button")
    expect(page.locator("#import-notes")).to_contain_text(
        "appended 3 new point(s) to dataset 'meter'; 2 already stored"
    )
    expect(page.locator("#append-button")).to_be_hidden()
    with server.http() as http:
        assert http.get("/datasets/meter").json()["points"] == 9


def test_several_daily_files_upload_as_one_dataset(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    days = []
    for day in (1, 2, 3):
        f = tmp_path / f"day{day}.csv"
        f.write_text(
            "timestamp,kw\n" + "".join(f"2025-04-0{day}T{h:02d}:00Z,{h}\n" for h in (0, 12))
        )
        days.append(str(f))
    # The third day's file has a time of the second's with another value.
    Path(days[2]).write_text("timestamp,kw\n2025-04-02T12:00Z,99\n2025-04-03T00:00Z,1\n")
    page.set_input_files("#file", days)
    page.click("#upload-button")
    expect(page.locator('[data-error-for="name"]')).to_have_text(
        "3 files make one dataset: name it"
    )
    page.fill("#dataset-name", "daily")
    page.click("#upload-button")
    # Refused by its file's name; the two before it are stored, and the page says so.
    expect(page.locator('[data-error-for="file"]')).to_contain_text(
        "day3.csv: series 'kw': 1 time(s) already stored with another value"
    )
    expect(page.locator("#import-notes")).to_contain_text("stored: the 2 file(s) before day3.csv")
    expect(page.locator("#dataset")).to_have_value("daily")
    Path(days[2]).write_text("timestamp,kw\n2025-04-03T00:00Z,1\n2025-04-03T12:00Z,2\n")
    page.fill("#dataset-name", "daily-2")
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("daily-2")
    with server.http() as http:
        assert http.get("/datasets/daily-2").json()["points"] == 6


def test_a_meter_register_uploads_as_its_increase(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    meter = tmp_path / "register.csv"
    meter.write_text(
        "timestamp,energy [kWh],temp\n"
        + "".join(f"2025-05-01T{h:02d}:00Z,{1000 + 2 * h},{20 - h % 3}\n" for h in range(8))
    )
    page.set_input_files("#file", str(meter))
    page.click("summary")  # the file options
    page.fill("#counter", "temp")
    page.click("#upload-button")
    expect(page.locator('[data-error-for="counter"]')).to_contain_text(
        "column 'temp' is not a running total"
    )
    page.fill("#counter", "energy")
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("register")
    expect(page.locator("#import-notes")).to_contain_text("read as a running total")
    with server.http() as http:
        series = http.get("/datasets/register/series").json()
    assert [v for v in series["values"]["energy"] if v is not None] == [2.0] * 7


def test_a_european_export_uploads_with_the_file_options(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    export = tmp_path / "zaehler.csv"
    rows = "".join(f"0{d}.01.2025 12:00;{d},5\n" for d in range(1, 10))
    # A time column by a name gapcast does not know: the user names it.
    export.write_text("Ablesezeit;Leistung [kW]\n" + rows)
    page.set_input_files("#file", str(export))
    page.fill("#dataset-name", "zaehler")
    expect(page.locator("#import-options")).not_to_have_attribute("open", "")
    page.click("#upload-button")
    # The server lists the columns when none is a known time column: the options open there.
    expect(page.locator("#import-options")).to_have_attribute("open", "")
    expect(page.locator('[data-error-for="timestamp_column"]')).to_contain_text("Ablesezeit")
    page.fill("#timestamp-column", "Ablesezeit")
    # Its day-first times read ('%d.%m.%Y %H:%M' is the one format that reads them all), and so
    # do its decimal commas (fields separated by ';'); a zone that does not exist is named.
    page.fill("#timezone", "Europe/Atlantis")
    page.click("#upload-button")
    expect(page.locator('[data-error-for="timezone"]')).to_contain_text("not an IANA time zone")
    page.fill("#timezone", "Europe/Berlin")
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("zaehler")
    expect(page.locator("#import-notes")).to_contain_text("times read as '%d.%m.%Y %H:%M'")
    expect(page.locator("#import-notes")).to_contain_text("numbers read with a decimal comma")
    with server.http() as http:
        dataset = http.get("/datasets/zaehler").json()
    # Noon in Berlin in January is 11:00 UTC.
    assert dataset["points"] == 9 and dataset["start"].startswith("2025-01-01T11:00")
    expect(page.locator("#dataset-info")).to_contain_text("· imported in Europe/Berlin")


def test_a_long_format_export_uploads_by_its_series_column(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    readings = tmp_path / "readings.csv"
    rows = "".join(
        f"2025-01-01T{h:02d}:00Z,{s},{h + k}\n" for h in range(9) for k, s in enumerate("ab")
    )
    readings.write_text("time,sensor,value\n" + rows)
    page.set_input_files("#file", str(readings))
    page.click("#upload-button")
    # Refused with the option that fixes it, shown where that option is typed.
    expect(page.locator("#import-options")).to_have_attribute("open", "")
    expect(page.locator('[data-error-for="series_column"]')).to_contain_text("long-format")
    page.fill("#series-column", "sensor")
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("readings")
    with server.http() as http:
        dataset = http.get("/datasets/readings").json()
    assert [s["name"] for s in dataset["series"]] == ["a", "b"] and dataset["points"] == 18


def test_a_column_of_status_flags_is_left_out_by_naming_the_columns(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    """Status words ('OK', 'CHECK') are left out unasked, the upload's notes say so; status
    codes with digits ('E42') are refused until the columns to import are named."""
    words = tmp_path / "words.csv"
    rows = "".join(
        f"2025-01-01T{h:02d}:00Z,{5 + h % 4},{'OK' if h % 5 else 'CHECK'}\n" for h in range(12)
    )
    words.write_text("timestamp,temp,status\n" + rows)
    page.set_input_files("#file", str(words))
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("words")
    expect(page.locator("#import-notes")).to_contain_text(
        "column(s) of words, not readings, left out: 'status' ('CHECK', 'OK')"
    )
    logger = tmp_path / "logger.csv"
    logger.write_text("timestamp,temp,status\n" + rows.replace("CHECK", "E42"))
    page.set_input_files("#file", str(logger))
    page.click("#upload-button")
    expect(page.locator('[data-error-for="file"]')).to_contain_text("column 'status'")
    expect(page.locator('[data-error-for="file"]')).to_contain_text("naming the columns to import")
    page.locator("#import-options").evaluate("d => d.open = true")
    page.fill("#columns", "tmp")
    page.click("#upload-button")
    expect(page.locator('[data-error-for="columns"]')).to_contain_text("'tmp' not in the file")
    page.fill("#columns", "temp")
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("logger")
    with server.http() as http:
        dataset = http.get("/datasets/logger").json()
    assert [s["name"] for s in dataset["series"]] == ["temp"] and dataset["points"] == 12


def test_a_file_excel_saved_on_windows_uploads_with_its_encoding_named(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    excel = tmp_path / "excel.csv"
    rows = "".join(
        f"2025-01-01T{h:02d}:00Z;{'ERR' if h == 7 else f'{5 + h % 4},5'}\n" for h in range(12)
    )
    excel.write_bytes(("timestamp;Temperatur [°C]\n" + rows).encode("cp1252"))
    page.set_input_files("#file", str(excel))
    page.locator("#import-options").evaluate("d => d.open = true")
    page.select_option("#decimal", ",")
    page.click("#upload-button")
    expect(page.locator('[data-error-for="encoding"]')).to_contain_text("--encoding cp1252")
    page.fill("#encoding", "cp1252")
    page.click("#upload-button")
    # Its logger wrote ERR for no reading: the message names the option that reads past it.
    expect(page.locator('[data-error-for="file"]')).to_contain_text("missing='ERR'")
    page.fill("#missing", "ERR")
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("excel")
    with server.http() as http:
        dataset = http.get("/datasets/excel").json()
    assert [(s["name"], s["unit"]) for s in dataset["series"]] == [("Temperatur", "°C")]
    assert dataset["points"] == 11


def test_an_upload_says_what_it_read_as_missing(page: Page, tmp_path: Path) -> None:
    station = tmp_path / "station.csv"
    rows = "".join(
        f"2025-01-01T{h:02d}:00Z,{-9999 if h in (3, 7) else 5 + h % 4}\n" for h in range(24)
    )
    station.write_text("timestamp,temp\n" + rows)
    page.set_input_files("#file", str(station))
    page.click("#upload-button")
    expect(page.locator("#dataset")).to_have_value("station")
    expect(page.locator("#import-notes li.warning")).to_have_text(
        "'temp': 2 cells of -9999 read as missing (a missing-value marker far outside the "
        "other values)"
    )


def test_the_page_fits_420_px(
    browser: Browser, server: LiveServer, tracked: dict[str, str], tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 420, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        for fragment in (
            "#/",
            f"#/runs/{tracked['lb16']}",
            f"#/compare/{tracked['lb16']},{tracked['mlp']}",
        ):
            open_page(page, server, fragment)
            if "runs/" in fragment:
                expect(page.locator("#backtest-chart canvas")).to_have_count(1)
            if "compare" in fragment:
                expect(page.locator("#compare-loss canvas")).to_have_count(1)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 420, (fragment, width)
        shot(page, tmp_path, "11-narrow")
        icon = page.request.get(server.url + page.locator("link[rel=icon]").get_attribute("href"))
        assert icon.ok and b"<svg" in icon.body()
        assert page.request.get(server.url + "/favicon.ico").ok
    finally:
        context.close()


def test_steps_in_words_and_flattened_configs(page: Page) -> None:
    shown = page.evaluate(
        """async () => {
        const { stepText } = await import('/web/js/format.js');
        const { flatten } = await import('/web/js/compare.js');
        return {
          steps: [1800, 3600, 86400, 7 * 86400, 5400, 0.5, null, 2629746, 3 * 2629746,
                  12 * 2629746].map(stepText),
          flat: flatten({ model: 'mlp', training: { epochs: 3 },
                          preprocessing: [{ step: 'window', lookback: 16 }] }),
        };
    }"""
    )
    assert shown["steps"] == [
        "30 min",
        "1 h",
        "1 day",
        "7 days",
        "1 h 30 min",
        "500 ms",
        "irregular steps",
        "1 month",
        "1 quarter",
        "1 year",
    ]
    assert shown["flat"] == {"model": "mlp", "training.epochs": 3, "window.lookback": 16}
