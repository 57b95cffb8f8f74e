// The two charts: the dataset's series with its gaps shaded, and the live loss curves.
import uPlot from "../vendor/uPlot.esm.js";

const GAP_FILL = { large: "rgba(220, 38, 38, 0.16)", small: "rgba(245, 158, 11, 0.24)" };
const COLORS = ["#2563eb", "#0891b2", "#7c3aed", "#db2777", "#059669", "#ea580c"];

function width(el) {
  return Math.max(320, el.clientWidth || el.parentElement.clientWidth - 8);
}

/** Shade each gap from its first missing point to the next grid point. */
function gapShading(gaps, stepS) {
  return {
    hooks: {
      drawClear: [
        (u) => {
          const { ctx, bbox } = u;
          ctx.save();
          for (const gap of gaps) {
            const x0 = u.valToPos(gap.start, "x", true);
            const x1 = u.valToPos(gap.end + stepS, "x", true);
            ctx.fillStyle = GAP_FILL[gap.kind] || GAP_FILL.large;
            ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
          }
          ctx.restore();
        },
      ],
    },
  };
}

export function seriesChart(el, data) {
  el.innerHTML = "";
  const stepS = (data.frequency_s || 0) * (data.bucket || 1);
  const series = [{}].concat(
    // A channel read on a step of its own is null between its readings: joined across them (its
    // missing readings are shaded like every gap).
    data.channels.map((name, i) => ({
      label: name, stroke: COLORS[i % COLORS.length], width: 1.2,
      spanGaps: Boolean((data.own_steps_s || {})[name]),
    })),
  );
  const opts = {
    width: width(el),
    height: 260,
    series,
    scales: { x: { time: true } },
    axes: [{}, { size: 60 }],
    legend: { live: true },
    plugins: [gapShading(data.gaps, stepS)],
  };
  const columns = [data.time, ...data.channels.map((c) => data.values[c])];
  const chart = new uPlot(opts, columns, el);
  el.dataset.points = String(data.time.length);
  el.dataset.gaps = String(data.gaps.length);
  el.dataset.joined = series.filter((s) => s.spanGaps).map((s) => s.label).join(",");
  return chart;
}

/** uPlot's options for loss curves: whole epochs on x, a log y axis on request, and a legend of
 * names only (a live legend sat empty under the chart until the cursor touched it). */
function lossOptions(el, series, log) {
  return {
    width: width(el),
    height: 200,
    series: [{ label: "epoch" }, ...series],
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    legend: { live: false },
    axes: [{ label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { size: 60 }],
  };
}

/** Loss per finished epoch; `add` appends a point and redraws; `show` switches to the curve of
 * another training (a run with model "auto" trains several candidates, then refits one) and
 * keeps every curve's points: under successive halving all candidates train a rung of epochs,
 * then the survivors go on from where they stopped, and a survivor's curve goes on with them;
 * `setLog` redraws on a log scale (uPlot fixes a scale's distribution when it is built). */
export class LossChart {
  constructor(el, { log = false } = {}) {
    this.el = el;
    this.curve = null;
    this.curves = new Map();
    this.log = log;
    this.epochs = [];
    this.loss = [];
    this.valLoss = [];
    this.build();
    el.dataset.points = "0";
  }

  build() {
    this.el.innerHTML = "";
    this.chart?.destroy();
    this.chart = new uPlot(
      lossOptions(this.el, [
        { label: "loss", stroke: "#2563eb", width: 2, points: { show: true } },
        { label: "val loss", stroke: "#f97316", width: 2, dash: [6, 4], points: { show: true } },
      ], this.log),
      [this.epochs, this.loss, this.valLoss],
      this.el,
    );
    this.el.dataset.log = String(this.log);
  }

  setLog(log) {
    this.log = log;
    this.build();
  }

  show(curve) {
    if (!this.curves.has(curve)) this.curves.set(curve, { epochs: [], loss: [], valLoss: [] });
    const kept = this.curves.get(curve);
    this.curve = curve;
    this.epochs = kept.epochs;
    this.loss = kept.loss;
    this.valLoss = kept.valLoss;
    this.chart.setData([this.epochs, this.loss, this.valLoss]);
    this.el.dataset.curve = curve;
    this.el.dataset.points = String(this.epochs.length);
  }

  add(epoch, loss, valLoss) {
    const at = this.epochs.indexOf(epoch);
    if (at >= 0) {
      this.loss[at] = loss;
      this.valLoss[at] = valLoss;
    } else {
      this.epochs.push(epoch);
      this.loss.push(loss);
      this.valLoss.push(valLoss);
    }
    this.chart.setData([this.epochs, this.loss, this.valLoss]);
    this.el.dataset.points = String(this.epochs.length);
  }
}

/** Several runs' loss (solid) and validation loss (dashed) on one chart: `runs` is
 * [{ label, history: [{ epoch, loss, val_loss }] }]. */
export function lossOverlay(el, runs, { log = false } = {}) {
  el.innerHTML = "";
  const epochs = [...new Set(runs.flatMap((r) => (r.history || []).map((h) => h.epoch)))].sort((a, b) => a - b);
  const column = (run, key) => epochs.map((e) => {
    const row = (run.history || []).find((h) => h.epoch === e);
    return row && row[key] != null ? row[key] : null;
  });
  const series = [];
  const data = [epochs];
  runs.forEach((run, i) => {
    const stroke = COLORS[i % COLORS.length];
    series.push({ label: `${run.label} loss`, stroke, width: 2, spanGaps: true });
    data.push(column(run, "loss"));
    series.push({ label: `${run.label} val`, stroke, width: 1.5, dash: [6, 4], spanGaps: true });
    data.push(column(run, "val_loss"));
  });
  const chart = new uPlot(lossOptions(el, series, log), data, el);
  el.dataset.curves = String(runs.length);
  el.dataset.log = String(log);
  return chart;
}

export { COLORS, width };
