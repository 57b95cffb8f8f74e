"""The web page in a real headless Chromium against a real server: upload a CSV, see its gaps,
train with live progress and loss chart, see the results and PNG, reload and reattach to a running
run, and errors shown next to their field. Each state is saved as a screenshot in the test's tmp
dir (and in ``GAPCAST_SCREENSHOTS_DIR`` when set, which is how docs/screenshots/ is made)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gapcast.api.testing import (
    SAMPLE_CSV,
    LiveServer,
    running_server,
    server_settings,
    temporary_database,
)

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
        const v = (better, text) => ({ model_label: 'mlp', verdict: { better, text } });
        return [
          verdictText(v(true, 'better than the best baseline (naive) by 23%')),
          verdictText(v(false, 'worse than the best baseline (naive) by 14x')),
        ];
    }"""
    )
    assert shown[0] == {
        "text": "✓ mlp: better than the best baseline (naive) by 23%",
        "better": True,
    }
    assert shown[1]["text"] == "✗ mlp: worse than the best baseline (naive) by 14x"
    assert "✓" not in shown[1]["text"] and shown[1]["better"] is False
