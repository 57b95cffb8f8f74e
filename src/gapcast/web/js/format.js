// Words and numbers the page shows: the verdict against the best baseline, escaped text.

/** The verdict against the best baseline: a ✓ only when the model is better, ≈ when it is ahead
 * by less than the noise, ✗ otherwise; `tone` names the three for the page's colours. */
export function verdictText(metrics) {
  const v = metrics && metrics.verdict;
  if (!v) return { text: "", better: false, tone: "" };
  const tone = verdictTone(v);
  const mark = { better: "✓", level: "≈", worse: "✗" }[tone];
  return { text: `${mark} ${metrics.model_label || "model"}: ${v.text}`, better: v.better, tone };
}

export function verdictTone(v) {
  if (v.better) return "better";
  return v.ratio != null && v.ratio < 1 ? "level" : "worse";
}

// The run's forecast range in words: its coverage overall, after gaps and at the hour (or
// weekday) where it held least, its width and pinball loss, and statsforecast's own ranges.
export function intervalText(iv) {
  const pct = (v) => `${Math.round(v * 100)}%`;
  return `forecast range P${iv.quantiles[0] * 100}–P${iv.quantiles[iv.quantiles.length - 1] * 100}: ` +
    `covers ${pct(iv.coverage)} of the test points (nominal ${pct(iv.level)}` +
    (iv.coverage_gappy_history != null ? `; after gaps ${pct(iv.coverage_gappy_history)}` : "") +
    (iv.coverage_worst_phase != null ? `; ${pct(iv.coverage_worst_phase)} at ${iv.coverage_worst_phase_at}, its lowest` : "") +
    `), mean width ${fmt(iv.width)}` +
    (iv.pinball_ratio != null ? `, pinball loss ${fmt(iv.pinball_ratio, 2)}x the ${iv.pinball_reference || "seasonal naive"}'s` : "") +
    (iv.baselines || []).map((b) => `; ${b.label}'s own range covers ${pct(b.coverage)}` +
      (b.pinball_ratio != null ? `, pinball ${fmt(b.pinball_ratio, 2)}x` : "")).join("");
}

export function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

/** A number with `digits` significant digits, "–" when there is none. */
export function fmt(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toPrecision(digits);
}

const STEP_UNITS = [["day", 86400], ["h", 3600], ["min", 60], ["s", 1]];

/** A sampling step in seconds as people say it: "30 min", "1 h", "1 day", "7 days"; mixed steps
 * take two units ("1 h 30 min"), never pandas' "0 days 00:30:00". */
// The grid steps of monthly, quarterly and yearly data on the server: the mean Gregorian month
// (365.2425 / 12 days), three of them, twelve of them; binned by calendar period.
const MONTH_S = 2629746;
const PERIODS = new Map([[MONTH_S, "1 month"], [3 * MONTH_S, "1 quarter"], [12 * MONTH_S, "1 year"]]);

export function stepText(seconds) {
  if (seconds === null || seconds === undefined || !(seconds > 0)) return "irregular steps";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (PERIODS.has(seconds)) return PERIODS.get(seconds);
  const parts = [];
  let left = Math.round(seconds);
  for (const [unit, size] of STEP_UNITS) {
    const n = Math.floor(left / size);
    if (n > 0) {
      parts.push(unit === "day" && n !== 1 ? `${n} days` : `${n} ${unit}`);
      left -= n * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** Seconds as "4.2 s", "3 min 5 s". */
export function durationText(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return seconds < 60 ? `${seconds.toFixed(1)} s` : stepText(Math.round(seconds));
}

// What a candidate event's val_mae is: several targets (each in its own units) are compared by
// the mean of their MASE; events stored before `score` existed are MAE.
export function candidateScoreText(event) {
  return event.score === "mean_mase" ? "validation MASE (mean)" : "validation MAE";
}
