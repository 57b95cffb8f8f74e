// The page: data (upload, series with gaps), configuration, a live run, and the runs list.
import { api, ApiError, followRun, link, token } from "./api.js";
import { LossChart, seriesChart } from "./charts.js";
import * as form from "./form.js";
import { escape, verdictText } from "./format.js";

const $ = (id) => document.getElementById(id);
const CURRENT_RUN_KEY = "gapcast.currentRun";
const STAGES = ["queued", "loading", "preparing", "gap_classifier", "training", "evaluating", "saving"];
let follower = null;
let lossChart = null;

// -- token -------------------------------------------------------------------------------------

function askToken(message) {
  $("token-button").hidden = false;
  document.querySelector('[data-error-for="token"]').textContent = message || "";
  $("token-dialog").showModal();
}

/** Run `call`; on 401 ask for the token and retry once it is given. */
async function authorised(call) {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError && error.code === "unauthorized") {
      askToken(token.get() ? "That token was refused." : "");
      await new Promise((resolve) => $("token-form").addEventListener("submit", resolve, { once: true }));
      token.set($("token-input").value.trim());
      return authorised(call);
    }
    throw error;
  }
}

// -- data --------------------------------------------------------------------------------------

async function loadDatasets(select) {
  const list = await authorised(api.datasets);
  const box = $("dataset");
  box.innerHTML = list.map((d) => `<option value="${d.name}">${d.name}</option>`).join("");
  if (select) box.value = select;
  if (!box.value && list.length) box.value = list[0].name;
  if (box.value) await showDataset(box.value);
  else $("dataset-info").textContent = "No dataset yet: upload a CSV with a time column and value columns.";
}

async function showDataset(name) {
  const maxFill = Number($("max_fill").value) || 0;
  const [info, series] = await Promise.all([api.dataset(name), api.series(name, maxFill)]);
  const large = series.gaps.filter((g) => g.kind === "large").length;
  $("dataset-info").textContent =
    `${info.points.toLocaleString()} points · ${info.series.map((s) => s.name).join(", ")} · ` +
    `every ${info.frequency} · ${series.gaps.length} gaps (${large} large)`;
  seriesChart($("series-chart"), series);
}

async function upload(event) {
  event.preventDefault();
  form.clearErrors();
  const file = $("file").files[0];
  if (!file) {
    form.showError({ field: "file", message: "choose a CSV or Parquet file first" });
    return;
  }
  const data = new FormData();
  data.append("file", file);
  if ($("dataset-name").value.trim()) data.append("name", $("dataset-name").value.trim());
  $("upload-button").disabled = true;
  try {
    const dataset = await authorised(() => api.upload(data));
    await loadDatasets(dataset.name);
  } catch (error) {
    form.showError(error.field ? error : { field: "file", message: error.message });
  } finally {
    $("upload-button").disabled = false;
  }
}

// -- a run -------------------------------------------------------------------------------------

function resetRunView(runId) {
  $("run-card").hidden = false;
  $("run-id").textContent = runId ? runId.slice(0, 8) : "";
  setStatus("queued");
  $("progress-bar").style.width = "0%";
  $("progress-text").textContent = "";
  $("stage-text").textContent = "";
  $("result").hidden = true;
  $("cancel-button").hidden = false;
  lossChart = new LossChart($("loss-chart"));
}

function setStatus(status) {
  const el = $("run-status");
  el.textContent = status;
  el.className = `status ${status}`;
}

function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  return Number(value).toPrecision(digits);
}

function onEvent(event) {
  if (event.type === "status") {
    setStatus(event.stage === "queued" ? "queued" : "running");
    const index = STAGES.indexOf(event.stage) + 1;
    $("stage-text").textContent =
      `stage ${index}/${STAGES.length}: ${event.stage.replace("_", " ")}${event.message ? ` — ${event.message}` : ""}`;
  } else if (event.type === "gaps") {
    $("stage-text").textContent +=
      ` · gaps found: ${event.gaps} (${event.large} large)${event.gap_classifier ? ", training a gap classifier" : ""}`;
  } else if (event.type === "progress" && event.model === "forecaster") {
    // Each candidate trains from epoch 1 with validation: one curve each. The chosen one's
    // refit (no validation part left) moves the bar but keeps its candidate's curve.
    const refit = event.phase === "refit";
    const curve = event.candidate || "forecaster";
    if (!refit && lossChart.curve !== curve) lossChart.restart(curve);
    const done = event.batch == null || !event.batches ? event.epoch : event.epoch - 1 + event.batch / event.batches;
    $("progress-bar").style.width = `${Math.min(100, (100 * done) / event.epochs).toFixed(1)}%`;
    $("progress-bar").dataset.epoch = String(event.epoch);
    const what = event.phase === "refit" ? `refit of ${event.candidate}` : event.candidate || "forecaster";
    $("progress-text").textContent =
      `${what} · epoch ${event.epoch}/${event.epochs} · loss ${fmt(event.loss)}` +
      (event.eta_s != null ? ` · ETA ${Math.round(event.eta_s)} s` : "");
    if (!refit && event.batch == null && event.loss != null) lossChart.add(event.epoch, event.loss, event.val_loss ?? null);
  } else if (event.type === "candidate") {
    $("stage-text").textContent += ` · ${event.label}: validation MAE ${fmt(event.val_mae)}`;
  } else if (event.type === "done" || event.type === "error") {
    finishRun(event);
  }
}

function finishRun(event) {
  setStatus(event.status || "failed");
  $("cancel-button").hidden = true;
  localStorage.removeItem(CURRENT_RUN_KEY);
  refreshRuns();
  if (event.type === "error") {
    form.showError({ field: event.field, message: `run ${event.status}: ${event.message}` });
    return;
  }
  if (event.status !== "succeeded") return;
  $("progress-bar").style.width = "100%";
  $("stage-text").textContent = `finished in ${fmt(event.runtime_s, 3)} s`;
  showResult(follower.runId, event);
}

function showResult(runId, result) {
  const m = result.metrics || {};
  const verdict = verdictText(m);
  $("verdict").textContent = verdict.text;
  $("verdict").className = `verdict ${verdict.better ? "better" : "worse"}`;
  $("warnings").innerHTML = (m.warnings || [])
    .map((w) => `<li class="${w.level === "error" ? "error" : "warning"}">${escape(w.message)}</li>`).join("");
  const keys = [["MAE", "mae"], ["RMSE", "rmse"], ["MASE", "mase"], ["sMAPE %", "smape"], ["bias", "bias"]];
  const outage = m.origins_after_outage > 0;
  const head = `<tr><th>method</th>${keys.map(([label]) => `<th>${label}</th>`).join("")}` +
    (outage ? "<th>MAE after outages</th>" : "") + "</tr>";
  const rows = (m.leaderboard || []).map((r) =>
    `<tr class="${r.kind}"><td>${r.kind === "model" ? "▶ " : ""}${escape(r.label)}</td>` +
    keys.map(([, k]) => `<td>${fmt(r[k])}</td>`).join("") +
    (outage ? `<td>${fmt(r.mae_after_outage)}</td>` : "") + "</tr>");
  $("metrics-table").innerHTML =
    `<caption>backtest on ${m.origins ?? 0} origins of the test part (every ${m.origin_stride ?? "–"} steps), ` +
    `${(m.points ?? 0).toLocaleString()} observed points; best first` +
    (m.lookback != null ? ` · lookback ${m.lookback}, horizon ${m.horizon}` +
      (m.reference_season === 1 ? ", naive reference (last value)"
        : m.reference_season ? `, seasonal reference ${m.reference_season} steps` : "") : "") +
    "</caption>" +
    `<thead>${head}</thead><tbody>${rows.join("")}` +
    `<tr><td>epochs · runtime</td><td colspan="${keys.length}">${result.epochs ?? "–"} · ${fmt(result.runtime_s, 3)} s</td></tr></tbody>`;
  const iv = m.intervals;
  $("intervals").textContent = iv
    ? `forecast range P${iv.quantiles[0] * 100}–P${iv.quantiles[iv.quantiles.length - 1] * 100}: ` +
      `covers ${Math.round(iv.coverage * 100)}% of the test points (nominal ${Math.round(iv.level * 100)}%` +
      (iv.coverage_gappy_history != null ? `; after gaps ${Math.round(iv.coverage_gappy_history * 100)}%` : "") +
      `), mean width ${fmt(iv.width)}` +
      (iv.pinball_ratio != null ? `, pinball loss ${fmt(iv.pinball_ratio, 2)}x the seasonal naive's` : "")
    : "";
  const candidates = m.candidates || [];
  $("candidates-table").innerHTML = candidates.length > 1
    ? "<caption>candidates, scored on the validation origins</caption>" +
      "<thead><tr><th>candidate</th><th>val MAE</th><th>epochs</th></tr></thead><tbody>" +
      candidates.map((c) => `<tr class="${c.selected ? "model" : ""}"><td>${c.selected ? "▶ " : ""}${escape(c.label)}</td>` +
        `<td>${fmt(c.val_mae)}</td><td>${c.epochs}</td></tr>`).join("") + "</tbody>"
    : "";
  const g = result.gap_metrics;
  // Runs stored before blocked CV existed have no `evaluation`: they were scored on the test part.
  const scoredOn = g && g.evaluation === "blocked_cv"
    ? `blocked cross-validation over ${g.folds} blocks of the whole series (the test part has too few gaps)`
    : "test part";
  $("gap-table").innerHTML = !g ? "" : g.gap_rate
    ? `<caption>gap classifier, scored on the ${scoredOn}` +
      (g.positives != null ? `: ${g.positives} gap steps in ${g.samples} windows` : "") + "</caption>" +
      `<thead><tr><th>gap classifier</th><th>model</th><th>${escape(g.baseline_name || "hour-of-week rate")}</th></tr></thead><tbody>` +
      ["precision", "recall", "f1", "roc_auc", "average_precision", "brier", "threshold"]
        .filter((k) => g[k] !== undefined)
        .map((k) => `<tr><td>${k}</td><td>${fmt(g[k], 3)}</td><td>${fmt((g.baseline || {})[k], 3)}</td></tr>`).join("") +
      (g.window
        ? `<tr><td>outage of ${g.window.min_steps}+ steps in the horizon (average precision, ${g.window.positives} of ${g.window.windows} windows)</td>` +
          `<td>${fmt(g.window.average_precision, 3)}</td><td>${fmt((g.window.baseline || {}).average_precision, 3)}</td></tr>`
        : "") +
      "</tbody>" +
      (g.verdict ? `<tfoot><tr><td colspan="3" class="${g.verdict.better ? "better" : g.verdict.text.startsWith("worse") ? "worse" : ""}">${g.verdict.better ? "✓ " : ""}gap classifier: ${escape(g.verdict.text)}</td></tr></tfoot>` : "")
    : `<tbody><tr><td>gap classifier trained; the ${g.positives != null ? "series" : "test part"} has no gaps to score it on</td></tr></tbody>`;
  $("plot").src = link(`/runs/${runId}/plot.png`);
  $("model-link").href = link(`/runs/${runId}/model`);
  $("result").hidden = false;
}

function attach(runId, after = 0) {
  follower?.close();
  resetRunView(runId);
  localStorage.setItem(CURRENT_RUN_KEY, runId);
  follower = followRun({ runId, after, onEvent, onRefused: (e) => form.showError(e) });
  markCurrent(runId);
}

function train() {
  form.clearErrors();
  let config;
  try {
    config = form.read();
  } catch (error) {
    form.showError(error);
    return;
  }
  const dataset = $("dataset").value;
  if (!dataset) {
    form.showError({ field: "dataset", message: "upload or choose a dataset first" });
    return;
  }
  follower?.close();
  $("train-button").disabled = true;
  follower = followRun({
    start: { dataset, config, overrides: {} },
    onAccepted: (runId) => {
      $("train-button").disabled = false;
      resetRunView(runId);
      localStorage.setItem(CURRENT_RUN_KEY, runId);
      refreshRuns();
    },
    onEvent,
    onRefused: (error) => {
      $("train-button").disabled = false;
      if (error.code === "unauthorized") askToken("The server needs a token.");
      form.showError(error);
    },
  });
}

// -- runs list ---------------------------------------------------------------------------------

async function refreshRuns() {
  const runs = await authorised(api.runs);
  $("runs-table").querySelector("tbody").innerHTML = runs.map((r) => `
    <tr data-run="${r.id}"><td><code>${r.id.slice(0, 8)}</code></td>
    <td><span class="status ${r.status}">${r.status}</span></td><td>${r.dataset}</td><td>${r.model}</td>
    <td>${new Date(r.created_at).toLocaleString()}</td><td>${fmt(r.mae)}</td>
    <td class="${r.verdict ? (r.verdict.better ? "better" : "worse") : ""}">${r.verdict ? escape(r.verdict.text) : "–"}</td>
    <td>${r.epochs ?? "–"}</td>
    <td>${r.runtime_s != null ? `${r.runtime_s.toFixed(1)} s` : "–"}</td></tr>`).join("");
  markCurrent(follower?.runId);
}

function markCurrent(runId) {
  document.querySelectorAll("#runs-table tbody tr").forEach((tr) => {
    tr.classList.toggle("current", tr.dataset.run === runId);
  });
}

// -- start -------------------------------------------------------------------------------------

async function main() {
  $("upload-form").addEventListener("submit", upload);
  $("dataset").addEventListener("change", () => showDataset($("dataset").value));
  $("max_fill").addEventListener("change", () => $("dataset").value && showDataset($("dataset").value));
  $("train-button").addEventListener("click", train);
  $("cancel-button").addEventListener("click", () => follower && api.cancel(follower.runId).catch(form.showError));
  $("token-button").addEventListener("click", () => askToken(""));
  $("runs-table").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-run]");
    if (row) attach(row.dataset.run);
  });
  form.setModels(await authorised(api.models), await api.defaults());
  form.setStoredConfigs(await api.configs());
  await loadDatasets();
  await refreshRuns();
  // A run followed before a reload: reattach (its events are replayed, then it goes on live).
  const current = localStorage.getItem(CURRENT_RUN_KEY);
  if (current) attach(current);
  document.body.dataset.ready = "true";
}

main().catch((error) => form.showError(error));
