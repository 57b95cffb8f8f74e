// A run's page (#/runs/<id>): its labels, and once it finished its leaderboard, the interactive
// backtest chart from backtest.json, the stored PNG, its artifacts, the configuration it ran with
// and "predict from here".
import { api, link } from "./api.js";
import { backtestChart, predictionChart } from "./forecast-chart.js";
import { escape, fmt } from "./format.js";
import { showLeaderboard } from "./leaderboard.js";
import { readingForm } from "./data.js";

const $ = (id) => document.getElementById(id);
const ARTIFACT_TEXT = {
  model: "forecaster (.keras)",
  gap_model: "gap classifier (.keras)",
  pipeline: "pipeline (JSON: fitted steps and window layout)",
  plot: "plot (PNG)",
  backtest: "backtest (JSON: every forecast at every origin)",
};
let shown = null; // the run on the page: GET /runs/{id}
// Label fields typed into since the page was opened: a slow GET /runs/{id} must not overwrite them.
const LABELS = ["run-name", "run-tags", "run-note"];
const edited = new Set();
let watching = false;

function showError(key, message) {
  const slot = document.querySelector(`[data-error-for="${key}"]`);
  if (slot) slot.textContent = message || "";
}

/** The labels form, filled from the stored run. ``keepEdits``: leave the fields the user typed
 * into since the last plain fill as they are (the run arrived while they were typing). */
export function fillLabels(run, { keepEdits = false } = {}) {
  if (!watching) {
    LABELS.forEach((k) => $(k).addEventListener("input", () => edited.add(k)));
    watching = true;
  }
  if (!keepEdits) edited.clear();
  shown = run;
  const values = { "run-name": run.name || "", "run-tags": (run.tags || []).join(", "), "run-note": run.note || "" };
  LABELS.forEach((k) => { if (!edited.has(k)) $(k).value = values[k]; });
  $("run-title").textContent = run.name || "";
  $("labels-saved").textContent = "";
  $("run-config").textContent = run.config ? JSON.stringify(run.config, null, 2) : "";
}

export async function saveLabels(runId, onSaved) {
  ["run-name", "run-tags", "run-note"].forEach((k) => showError(k, ""));
  const tags = $("run-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
  try {
    const run = await api.label(runId, { name: $("run-name").value, tags, note: $("run-note").value });
    fillLabels(run);
    $("labels-saved").textContent = "saved";
    onSaved?.(run);
  } catch (error) {
    // "tags[2]" → the tags input; the server's message names the field and the value.
    const key = (error.field || "").startsWith("tags") ? "run-tags"
      : error.field === "note" ? "run-note" : "run-name";
    showError(key, error.message);
  }
}

/** Everything a finished run has; `run` from GET /runs/{id}. */
export async function showFinished(run) {
  shown = run;
  $("delete-button").hidden = false;
  $("run-config").textContent = JSON.stringify(run.config, null, 2);
  if (run.status !== "succeeded") {
    $("result").hidden = true;
    return;
  }
  showLeaderboard(run);
  $("plot").src = link(`/runs/${run.id}/plot.png`);
  $("plot-link").href = link(`/runs/${run.id}/plot.png`);
  $("artifacts").innerHTML = (run.artifacts || []).filter((a) => a.kind !== "checkpoint").map((a) =>
    `<li><a ${a.kind === "model" ? 'id="model-link"' : ""} href="${link(a.url)}" download>${escape(ARTIFACT_TEXT[a.kind] || a.kind)}</a>` +
    ` <span class="muted">${(a.size / 1024).toFixed(1)} KiB</span></li>`).join("");
  $("predict-chart").innerHTML = "";
  $("predict-table").innerHTML = "";
  $("predict-notes").innerHTML = "";
  $("predict-start").value = "";
  showError("predict", "");
  $("result").hidden = false;
  try {
    const doc = await api.backtest(run.id);
    drawBacktest(doc, run);
  } catch (error) {
    $("backtest-chart").textContent = `no backtest to draw: ${error.message}`;
  }
}

function drawBacktest(doc, run) {
  const { legend } = backtestChart($("backtest-chart"), doc, { originStride: (run.metrics || {}).origin_stride });
  $("backtest-legend").innerHTML = legend.map(([label, color, dashed]) =>
    `<span class="swatch line${dashed ? " dashed" : ""}" style="--c: ${color}"></span>${escape(label)}`).join(" ");
}

// predict's gap columns as a reader names them (the API's names stay in each header's title).
const GAP_HEADERS = { p_gap: "P(gap)", gap_expected: "gap?", p_outage: "P(outage)" };

/** "P10" for the only target's load_p10 ("load P10" with several targets). */
function columnHeader(column, targets) {
  if (GAP_HEADERS[column]) return GAP_HEADERS[column];
  const match = /^(.*)_p(\d+)$/.exec(column);
  if (!match || !targets.includes(match[1])) return column;
  return targets.length === 1 ? `P${match[2]}` : `${match[1]} P${match[2]}`;
}

function cellText(column, value) {
  if (column === "timestamp") return escape(new Date(value).toLocaleString());
  if (column === "gap_expected") return value ? "yes" : "no";
  if (column === "p_gap" || column === "p_outage") return value == null ? "–" : value.toFixed(2);
  return fmt(value);
}

/** POST /runs/{id}/predict from the dataset's end, or from the rows of a CSV file. */
export async function predict(file = null) {
  if (!shown) return;
  showError("predict", "");
  $("predict-notes").innerHTML = "";
  let body = {};
  let notes = [];
  if (file) {
    try {
      // Read by the server as an import reads it (its delimiter, time format, units, workbook),
      // times without an offset in the zone the run's dataset was imported in unless told.
      const form = readingForm(file);
      const zoned = !form.has("timezone") && shown.timezone;
      if (zoned) form.append("timezone", shown.timezone);
      const read = await api.readFile(form);
      body = { data: read.data };
      notes = read.notes || [];
      if (zoned && read.timezone) {
        notes = [`times without an offset read in ${read.timezone}, the zone dataset '${shown.dataset}' was imported in`, ...notes];
      }
    } catch (error) {
      showError("predict", error.message);
      return;
    }
  }
  const start = $("predict-start").value.trim();
  if (start) body = { ...body, start };
  $("predict-dataset").disabled = true;
  try {
    const out = await api.predict(shown.id, body);
    // What the reading changed (a logger's -9999 read as missing): said where the forecast is.
    notes = [...notes, ...(out.notes || [])];
    $("predict-notes").innerHTML = notes.map((note) => `<li class="warning">${escape(note)}</li>`).join("");
    const from = start ? `from ${escape(start)}` : `after the ${out.source === "dataset" ? "dataset's end" : "posted rows"}`;
    const target = out.targets[0];
    predictionChart($("predict-chart"), out.forecast, target);
    const columns = Object.keys(out.forecast[0] || {});
    $("predict-table").innerHTML =
      `<caption>forecast of the next ${out.horizon} steps ${from}</caption>` +
      `<thead><tr>${columns.map((c) => `<th title="${escape(c)}">${escape(columnHeader(c, out.targets))}</th>`).join("")}</tr></thead><tbody>` +
      out.forecast.map((row) => `<tr>${columns.map((c) => `<td>${cellText(c, row[c])}</td>`).join("")}</tr>`).join("") +
      "</tbody>";
  } catch (error) {
    showError("predict", error.message);
  } finally {
    $("predict-dataset").disabled = false;
  }
}
