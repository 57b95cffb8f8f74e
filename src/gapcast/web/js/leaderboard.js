// A finished run's figures: the verdict, warnings, the backtest leaderboard, the range's
// coverage, the candidates of model "auto" and the gap classifier's scores.
import { escape, fmt, intervalText, verdictText } from "./format.js";

const $ = (id) => document.getElementById(id);
const KEYS = [["MAE", "mae"], ["RMSE", "rmse"], ["MASE", "mase"], ["sMAPE %", "smape"], ["bias", "bias"]];

export function showLeaderboard(result) {
  const m = result.metrics || {};
  const verdict = verdictText(m);
  $("verdict").textContent = verdict.text;
  $("verdict").className = `verdict ${verdict.tone}`;
  $("warnings").innerHTML = (m.warnings || [])
    .map((w) => `<li class="${w.level === "error" ? "error" : "warning"}">${escape(w.message)}</li>`).join("");
  // Several targets: errors in different units do not add up, so each target's MAE gets its
  // own column and the rows are ranked by their mean MASE (pooled MAE, RMSE and bias are not shown).
  const targets = Object.keys(((m.leaderboard || [])[0] || {}).mae_by_target || {});
  const keys = targets.length
    ? [...targets.map((t) => [`MAE ${escape(t)}`, (r) => (r.mae_by_target || {})[t]]),
      ["MASE (mean)", (r) => r.mase], ["sMAPE %", (r) => r.smape]]
    : KEYS.map(([label, k]) => [label, (r) => r[k]]);
  const outage = m.origins_after_outage > 0 && !targets.length;
  const head = `<tr><th>method</th>${keys.map(([label]) => `<th>${label}</th>`).join("")}` +
    (outage ? "<th>MAE after outages</th>" : "") + "</tr>";
  const rows = (m.leaderboard || []).map((r) =>
    `<tr class="${r.kind}"><td>${r.kind === "model" ? "▶ " : ""}${escape(r.label)}</td>` +
    keys.map(([, get]) => `<td>${fmt(get(r))}</td>`).join("") +
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
  $("intervals").textContent = iv ? intervalText(iv) : "";
  const candidates = m.candidates || [];
  $("candidates-table").innerHTML = candidates.length > 1
    ? "<caption>candidates, scored on the validation origins</caption>" +
      `<thead><tr><th>candidate</th><th>${targets.length ? "val MASE (mean)" : "val MAE"}</th><th>epochs</th></tr></thead><tbody>` +
      candidates.map((c) => `<tr class="${c.selected ? "model" : ""}"><td>${c.selected ? "▶ " : ""}${escape(c.label)}${c.within_noise ? ' <span title="ahead of the candidates without the lag by less than chance explains on the validation origins, so never chosen">(lag within noise)</span>' : ""}</td>` +
        `<td>${fmt(c.val_mae)}</td><td>${c.pruned ? `stopped after ${c.epochs_run} epochs (pruned)` : c.epochs}</td></tr>`).join("") + "</tbody>"
    : "";
  $("gap-table").innerHTML = gapTable(result.gap_metrics);
}

function gapTable(g) {
  if (!g) return "";
  if (!g.gap_rate) {
    return `<tbody><tr><td>gap classifier trained; the ${g.positives != null ? "series" : "test part"} has no gaps to score it on</td></tr></tbody>`;
  }
  // Runs stored before blocked CV existed have no `evaluation`: they were scored on the test part.
  const scoredOn = g.evaluation === "blocked_cv"
    ? `blocked cross-validation over ${g.folds} blocks of the whole series (the test part has too few gaps)`
    : "test part";
  return `<caption>gap classifier, scored on the ${scoredOn}` +
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
    (g.verdict
      ? `<tfoot><tr><td colspan="3" class="${g.verdict.better ? "better" : g.verdict.text.startsWith("worse") ? "worse" : ""}">` +
        `${g.verdict.better ? "✓ " : ""}gap classifier: ${escape(g.verdict.text)}</td></tr></tfoot>`
      : "");
}
