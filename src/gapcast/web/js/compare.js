// The compare view (#/compare/<id>,<id>): 2–6 runs' loss curves on one chart, their parameters
// and metrics side by side with the rows that differ highlighted, and their forecasts over the
// test span they share.
import { api } from "./api.js";
import { COLORS, lossOverlay } from "./charts.js";
import { compareForecastChart } from "./forecast-chart.js";
import { escape, durationText, fmt } from "./format.js";

const $ = (id) => document.getElementById(id);
let compared = [];

/** A run's configuration as flat "path → value" pairs: model, hyperparameters.units,
 * training.epochs, window.lookback, ... (a preprocessing step is named by its `step`). */
export function flatten(config) {
  const out = {};
  const walk = (prefix, node) => {
    if (node && typeof node === "object" && !Array.isArray(node)) {
      for (const [k, v] of Object.entries(node)) walk(prefix ? `${prefix}.${k}` : k, v);
    } else if (Array.isArray(node) && node.every((s) => s && typeof s === "object" && s.step)) {
      for (const s of node) {
        const { step, ...rest } = s;
        if (!Object.keys(rest).length) out[`${prefix}.${step}`] = "on";
        for (const [k, v] of Object.entries(rest)) walk(`${step}.${k}`, v);
      }
    } else {
      out[prefix] = Array.isArray(node) ? node.join(", ") : node;
    }
  };
  walk("", config || {});
  return out;
}

function modelRow(run) {
  return ((run.metrics || {}).leaderboard || []).find((r) => r.kind === "model") || {};
}

const METRICS = [
  ["dataset", (r) => r.dataset],
  ["status", (r) => r.status],
  ["MAE", (r) => fmt(r.mae)],
  ["MASE", (r) => fmt(r.mase, 3)],
  ["RMSE", (r) => fmt(modelRow(r).rmse)],
  ["vs best baseline", (r) => (r.verdict ? r.verdict.text : "–")],
  ["epochs", (r) => r.epochs ?? "–"],
  ["runtime", (r) => durationText(r.runtime_s)],
];

function differs(flat, key) {
  return new Set(flat.map((f) => JSON.stringify(f[key]))).size > 1 ? 1 : 0;
}

function table(runs) {
  const flat = runs.map((r) => flatten(r.config));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const cell = (v) => (v === undefined ? "–" : escape(typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)));
  const line = (label, values, kind) => {
    const differs = new Set(values.map(String)).size > 1;
    return `<tr class="${kind}${differs ? " diff" : ""}" data-key="${escape(label)}"><th>${escape(label)}</th>` +
      values.map((v) => `<td>${v}</td>`).join("") + "</tr>";
  };
  const head = "<thead><tr><th></th>" + runs.map((r, i) =>
    `<th><span class="swatch line" style="--c: ${COLORS[i % COLORS.length]}"></span>` +
    `<a href="#/runs/${r.id}">${escape(r.name || r.id.slice(0, 8))}</a></th>`).join("") + "</tr></thead>";
  return head + "<tbody>" +
    METRICS.map(([label, get]) => line(label, runs.map((r) => escape(String(get(r)))), "metric")).join("") +
    // The parameters that differ first: with dozens of settings, they are what the eye wants.
    [...keys].sort((a, b) => differs(flat, b) - differs(flat, a))
      .map((k) => line(k, flat.map((f) => cell(f[k])), "param")).join("") + "</tbody>";
}

function label(run) {
  return run.name || run.id.slice(0, 8);
}

export function drawLoss() {
  lossOverlay($("compare-loss"), compared.map((r) => ({ label: label(r), history: r.history || [] })),
    { log: $("compare-log").checked });
}

export async function showCompare(ids) {
  $("compare-card").hidden = false;
  $("compare-count").textContent = `${ids.length} runs`;
  compared = await Promise.all(ids.map((id) => api.run(id)));
  drawLoss();
  $("compare-table").innerHTML = table(compared);
  const docs = [];
  for (const run of compared) {
    if (run.status !== "succeeded") continue;
    try {
      docs.push({ label: label(run), doc: await api.backtest(run.id), originStride: (run.metrics || {}).origin_stride });
    } catch {
      // a run stored before backtest.json existed: left out of the forecast chart
    }
  }
  const colors = compared.filter((r) => r.status === "succeeded").map((r) => COLORS[compared.indexOf(r) % COLORS.length]);
  compareForecastChart($("compare-forecast"), docs, colors);
  $("compare-legend").textContent = docs.length < compared.length
    ? `${compared.length - docs.length} run(s) without a stored backtest are not drawn` : "";
}
