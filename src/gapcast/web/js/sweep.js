// A sweep's page (#/sweeps/<id>): its objective against each trial parameter, one small scatter
// chart per parameter, the best trial in green. Its trials are grouped in the runs table.
import uPlot from "../vendor/uPlot.esm.js";
import { api } from "./api.js";
import { escape, fmt } from "./format.js";

const $ = (id) => document.getElementById(id);

/** Numbers stay numbers; categories (a model name, true/false) become their index. */
function axisOf(values) {
  if (values.every((v) => typeof v === "number")) return { toX: (v) => v, labels: null };
  const labels = [...new Set(values.map(String))];
  return { toX: (v) => labels.indexOf(String(v)), labels };
}

function padded(u, lo, hi) {
  if (lo === null || hi === null) return [0, 1];
  const pad = lo === hi ? Math.abs(lo) * 0.1 || 1 : (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

function scatter(el, name, trials, objective, param) {
  const done = trials.filter((t) => t.value !== null && t.params[name] !== undefined);
  const { toX, labels } = axisOf(done.map((t) => t.params[name]));
  const order = [...done].sort((a, b) => toX(a.params[name]) - toX(b.params[name]));
  const xs = order.map((t) => toX(t.params[name]));
  const points = { show: true, size: 8 };
  const box = document.createElement("div");
  box.className = "sweep-chart";
  box.dataset.param = name;
  box.dataset.points = String(order.length);
  el.append(box);
  return new uPlot({
    width: Math.min(380, Math.max(280, el.clientWidth - 8)),
    height: 200,
    title: name,
    series: [
      { label: name },
      { label: objective, stroke: "#2563eb", width: 0, points },
      { label: "best", stroke: "#15803d", width: 0, points: { show: true, size: 12 } },
    ],
    // Padded ranges: a point on the edge of the plot would be cut in half.
    // A parameter searched on a log scale is drawn on one (else its small values bunch up).
    scales: {
      x: param && param.log ? { time: false, distr: 3, range: (u, lo, hi) => [lo / 1.5, hi * 1.5] } : { time: false, range: padded },
      y: { range: padded },
    },
    axes: [
      labels ? { values: (u, ticks) => ticks.map((t) => labels[t] ?? ""), incrs: [1] } : {},
      { size: 60, label: objective },
    ],
    legend: { live: false },
  }, [xs, order.map((t) => t.value), order.map((t) => (t.best ? t.value : null))], box);
}

export async function showSweep(id) {
  $("sweep-card").hidden = false;
  const sweep = await api.sweep(id);
  $("sweep-id").textContent = id.slice(0, 8);
  $("sweep-status").textContent = sweep.status;
  $("sweep-status").className = `status ${sweep.status}`;
  const trials = sweep.trial_runs || [];
  const best = trials.find((t) => t.best);
  $("sweep-info").innerHTML = `${escape(sweep.name || "")} on ${escape(sweep.dataset)}: ${trials.length} of ${sweep.trials} trials, ` +
    `${escape(sweep.objective)} (${sweep.direction})` +
    (best ? ` · best <a href="#/runs/${best.run_id}">trial ${best.number}</a>: ${fmt(best.value)}` : "");
  const charts = $("sweep-charts");
  charts.innerHTML = "";
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.params)))].sort();
  for (const name of names) scatter(charts, name, trials, sweep.objective, (sweep.space || {})[name]);
}
