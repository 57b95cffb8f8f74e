// Interactive forecast charts: a run's backtest (truth, the model's and the best baseline's
// forecast paths at every origin, the model's range) from backtest.json, and a forecast made from
// the page with its range and gap probability. Drag to zoom into a span, wheel to zoom around the
// cursor, shift+drag to pan, double-click to see everything again.
import uPlot from "../vendor/uPlot.esm.js";
import { width } from "./charts.js";

const MODEL = "#2563eb";
const BASELINE = "#98a2b3";
const TRUTH = "#101828";
const RANGE = "rgba(37, 99, 235, 0.13)";
const GAP = "#dc2626";

/** Wheel zoom around the cursor and shift+drag pan on the x scale; the shown span goes to
 * data-xmin/data-xmax on the chart's element (what a test, or a bookmark, can read). */
function zoomAndPan(el) {
  return {
    hooks: {
      ready: [
        (u) => {
          const over = u.over;
          over.addEventListener("wheel", (e) => {
            e.preventDefault();
            const { min, max } = u.scales.x;
            const at = u.posToVal(e.offsetX, "x");
            const k = e.deltaY < 0 ? 0.8 : 1.25;
            u.setScale("x", { min: at - (at - min) * k, max: at + (max - at) * k });
          }, { passive: false });
          over.addEventListener("mousedown", (e) => {
            if (!e.shiftKey) return;
            e.stopPropagation();
            const startX = e.clientX;
            const { min, max } = u.scales.x;
            const perPx = (max - min) / u.over.clientWidth;
            const move = (m) => u.setScale("x", { min: min - (m.clientX - startX) * perPx, max: max - (m.clientX - startX) * perPx });
            const up = () => { window.removeEventListener("mousemove", move); window.removeEventListener("mouseup", up); };
            window.addEventListener("mousemove", move);
            window.addEventListener("mouseup", up);
          }, true);
        },
      ],
      setScale: [
        (u, key) => {
          if (key !== "x") return;
          el.dataset.xmin = String(u.scales.x.min);
          el.dataset.xmax = String(u.scales.x.max);
        },
      ],
    },
  };
}

/** The grid step of a backtest document in ns: stored since the page drew it; older runs' from
 * the spacing of their origins. */
function stepNs(doc, originStride) {
  if (doc.step_ns) return doc.step_ns;
  const o = doc.origins;
  return o.length > 1 && originStride ? (o[1] - o[0]) / originStride : 0;
}

/** Indices of the origins drawn: the first, then each one that starts after the last drawn
 * path ends. Origins closer than the horizon are all scored, but drawn they would pile their
 * paths on each other. */
function drawnOrigins(doc, step) {
  const keep = [];
  let free = -Infinity;
  doc.origins.forEach((origin, i) => {
    if (origin >= free) {
      keep.push(i);
      free = origin + doc.horizon * step;
    }
  });
  return keep;
}

/** Columns on one time axis: every drawn origin's steps; a null between origins that do not
 * touch, so no line joins one forecast path to the next. */
function timeline(doc, step, drawn) {
  const times = new Set();
  drawn.forEach((i) => {
    for (let j = 0; j < doc.horizon; j += 1) times.add(doc.origins[i] + j * step);
  });
  const sorted = [...times].sort((a, b) => a - b);
  const out = [];
  sorted.forEach((t, i) => {
    if (i > 0 && t - sorted[i - 1] > 1.5 * step) out.push((t + sorted[i - 1]) / 2); // a break
    out.push(t);
  });
  return out;
}

/** The backtest of target `k`: returns the uPlot and the legend entries it drew. */
export function backtestChart(el, doc, { target = 0, originStride = null } = {}) {
  el.innerHTML = "";
  const step = stepNs(doc, originStride);
  const drawn = drawnOrigins(doc, step);
  const times = timeline(doc, step, drawn);
  const at = new Map(times.map((t, i) => [t, i]));
  const empty = () => new Array(times.length).fill(null);
  const truth = empty();
  const data = [times.map((t) => t / 1e9), truth];
  const series = [{}, { label: "truth", stroke: TRUTH, width: 1.5 }];
  const bands = [];
  const methods = ["model", doc.best_baseline].filter((m) => m && doc.forecasts[m]);
  const levels = doc.quantiles ? doc.quantiles.levels : [];
  drawn.forEach((i) => {
    const origin = doc.origins[i];
    const idx = (j) => at.get(origin + j * step);
    for (let j = 0; j < doc.horizon; j += 1) {
      const v = doc.truth[i][j][target];
      if (v !== null) truth[idx(j)] = v;
    }
    if (levels.length >= 2) {
      // The outermost quantiles as a shaded band around this origin's path.
      const lo = empty();
      const hi = empty();
      for (let j = 0; j < doc.horizon; j += 1) {
        lo[idx(j)] = doc.quantiles.values[0][i][j][target];
        hi[idx(j)] = doc.quantiles.values[levels.length - 1][i][j][target];
      }
      data.push(hi, lo);
      series.push({ stroke: "transparent", width: 0 }, { stroke: "transparent", width: 0 });
      bands.push({ series: [series.length - 2, series.length - 1], fill: RANGE });
    }
    for (const method of methods) {
      const path = empty();
      for (let j = 0; j < doc.horizon; j += 1) path[idx(j)] = doc.forecasts[method].values[i][j][target];
      data.push(path);
      series.push(method === "model"
        ? { stroke: MODEL, width: 2 }
        : { stroke: BASELINE, width: 1.5, dash: [5, 4] });
    }
  });
  // The gap classifier's probability of no data, on its own 0–1 axis at the forecast steps.
  const pGap = doc.gap_probability
    ? new Map(doc.gap_probability.times.map((t, i) => [t, doc.gap_probability.values[i]])) : null;
  if (pGap) {
    data.push(times.map((t) => pGap.get(t) ?? null));
    series.push({ stroke: GAP, width: 1, scale: "p", fill: "rgba(220, 38, 38, 0.08)" });
  }
  const chart = new uPlot({
    width: width(el),
    height: 300,
    series,
    bands,
    scales: { x: { time: true }, ...(pGap ? { p: { range: [0, 1] } } : {}) },
    axes: [{}, { size: 60 }, ...(pGap ? [{ scale: "p", side: 1, size: 40, grid: { show: false } }] : [])],
    legend: { show: false }, // one entry per origin would be noise: the page draws its own
    cursor: { drag: { x: true, y: false } },
    plugins: [zoomAndPan(el)],
  }, data, el);
  el.dataset.origins = String(drawn.length);
  el.dataset.scored = String(doc.origins.length);
  el.dataset.bands = String(bands.length); // one P10-P90 range per drawn origin (tests read it)
  el.dataset.gapTrack = String(Boolean(pGap));
  el.dataset.xmin = String(chart.scales.x.min);
  el.dataset.xmax = String(chart.scales.x.max);
  el.addEventListener("dblclick", () => chart.setScale("x", { min: data[0][0], max: data[0][data[0].length - 1] }));
  return {
    chart,
    legend: [
      ["truth", TRUTH, false],
      [doc.forecasts.model ? doc.forecasts.model.label : "model", MODEL, false],
      ...(doc.best_baseline && doc.forecasts[doc.best_baseline]
        ? [[`${doc.forecasts[doc.best_baseline].label} (best baseline)`, BASELINE, true]] : []),
      ...(levels.length >= 2
        ? [[`model range P${levels[0] * 100}–P${levels[levels.length - 1] * 100}`, RANGE, false]] : []),
      ...(pGap ? [["p(no data), right axis", GAP, false]] : []),
    ],
  };
}

/** A forecast from the page: the target's path, its quantiles' range, p_gap on its own 0–1
 * axis when the run has a gap classifier. `rows` as POST /runs/{id}/predict returns them. */
export function predictionChart(el, rows, target) {
  el.innerHTML = "";
  const times = rows.map((r) => Date.parse(r.timestamp) / 1000);
  const quantiles = Object.keys(rows[0] || {}).filter((k) => k.startsWith(`${target}_p`));
  const data = [times, rows.map((r) => r[target])];
  const series = [{}, { label: target, stroke: MODEL, width: 2, points: { show: true } }];
  const bands = [];
  if (quantiles.length >= 2) {
    data.push(rows.map((r) => r[quantiles[quantiles.length - 1]]), rows.map((r) => r[quantiles[0]]));
    series.push(
      { label: quantiles[quantiles.length - 1], stroke: "rgba(37, 99, 235, 0.4)", width: 1 },
      { label: quantiles[0], stroke: "rgba(37, 99, 235, 0.4)", width: 1 },
    );
    bands.push({ series: [2, 3], fill: RANGE });
  }
  const hasGap = rows.some((r) => r.p_gap !== undefined && r.p_gap !== null);
  if (hasGap) {
    data.push(rows.map((r) => r.p_gap));
    series.push({ label: "p(gap)", stroke: "#dc2626", width: 1.5, scale: "p", dash: [3, 3] });
  }
  const axes = [{}, { size: 60 }];
  if (hasGap) axes.push({ scale: "p", side: 1, size: 40, grid: { show: false } });
  return new uPlot({
    width: width(el),
    height: 220,
    series,
    bands,
    scales: { x: { time: true }, ...(hasGap ? { p: { range: [0, 1] } } : {}) },
    legend: { live: false },
    axes,
    plugins: [zoomAndPan(el)],
  }, data, el);
}

/** Several runs' model forecasts over the span their backtests share, with the truth of the
 * first: `docs` [{ label, doc, originStride }]. */
export function compareForecastChart(el, docs, colors) {
  el.innerHTML = "";
  const perRun = docs.map(({ doc, originStride }) => {
    const step = stepNs(doc, originStride);
    const values = new Map();
    const truth = new Map();
    drawnOrigins(doc, step).forEach((i) => {
      for (let j = 0; j < doc.horizon; j += 1) {
        const t = doc.origins[i] + j * step;
        values.set(t, doc.forecasts.model ? doc.forecasts.model.values[i][j][0] : null);
        if (doc.truth[i][j][0] !== null) truth.set(t, doc.truth[i][j][0]);
      }
    });
    return { values, truth, step };
  });
  const lo = Math.max(...perRun.map((r) => Math.min(...r.values.keys())));
  const hi = Math.min(...perRun.map((r) => Math.max(...r.values.keys())));
  const times = [...new Set(perRun.flatMap((r) => [...r.values.keys()]))]
    .filter((t) => t >= lo && t <= hi).sort((a, b) => a - b);
  if (!times.length) {
    el.textContent = "these runs' backtests share no test span (different datasets or test parts)";
    el.dataset.series = "0";
    return null;
  }
  const truth = times.map((t) => perRun.reduce((v, r) => v ?? r.truth.get(t) ?? null, null));
  const data = [times.map((t) => t / 1e9), truth, ...perRun.map((r) => times.map((t) => r.values.get(t) ?? null))];
  const series = [{}, { label: "truth", stroke: TRUTH, width: 1.5 },
    ...docs.map((d, i) => ({ label: d.label, stroke: colors[i % colors.length], width: 2 }))];
  el.dataset.series = String(docs.length);
  return new uPlot({
    width: width(el),
    height: 280,
    series,
    scales: { x: { time: true } },
    axes: [{}, { size: 60 }],
    legend: { live: false },
    plugins: [zoomAndPan(el)],
  }, data, el);
}
