// Words and numbers the page shows: the verdict against the best baseline, escaped text.

/** The verdict against the best baseline: a ✓ only when the model is better. */
export function verdictText(metrics) {
  const v = metrics && metrics.verdict;
  if (!v) return { text: "", better: false };
  return { text: `${v.better ? "✓" : "✗"} ${metrics.model_label || "model"}: ${v.text}`, better: v.better };
}

export function escape(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
