// The runs table: every run with its figures, sorted by any column, filtered by dataset, model,
// status and a search over names and tags; a sweep's trials grouped under it with the best one
// marked; rows picked for the compare view.
import { escape, durationText, fmt, verdictTone } from "./format.js";

const $ = (id) => document.getElementById(id);
const state = { runs: [], sweeps: new Map(), sort: "created_at", desc: true, picked: new Set(), current: null };
const COMPARE_MAX = 6;

const SORT_VALUE = {
  name: (r) => (r.name || r.id).toLowerCase(),
  verdict: (r) => (r.verdict ? r.verdict.ratio ?? null : null),
};

function value(run, key) {
  return (SORT_VALUE[key] || ((r) => r[key]))(run);
}

/** Ascending or descending by `key`, runs without a value last either way. */
function compare(a, b) {
  const x = value(a, state.sort);
  const y = value(b, state.sort);
  if (x === y) return 0;
  if (x === null || x === undefined) return 1;
  if (y === null || y === undefined) return -1;
  return (x < y ? -1 : 1) * (state.desc ? -1 : 1);
}

function matches(run) {
  const text = $("filter-text").value.trim().toLowerCase();
  const hay = [run.name || "", run.id, ...(run.tags || [])].join(" ").toLowerCase();
  return (!text || hay.includes(text)) &&
    (!$("filter-dataset").value || run.dataset === $("filter-dataset").value) &&
    (!$("filter-model").value || run.model === $("filter-model").value) &&
    (!$("filter-status").value || run.status === $("filter-status").value);
}

/** A filter's options from the values present, keeping the chosen one. */
function options(id, values) {
  const box = $(id);
  const chosen = box.value;
  box.innerHTML = '<option value="">all</option>' +
    [...new Set(values)].sort().map((v) => `<option value="${escape(v)}">${escape(v)}</option>`).join("");
  box.value = [...box.options].some((o) => o.value === chosen) ? chosen : "";
}

function row(r) {
  const sweep = r.sweep_id ? state.sweeps.get(r.sweep_id) : null;
  const best = sweep && sweep.best_run_id === r.id;
  const tags = (r.tags || []).map((t) => `<span class="tag">${escape(t)}</span>`).join("");
  const trial = r.trial ? `<span class="muted">trial ${r.trial.number}</span> ` : "";
  return `<tr data-run="${r.id}" class="${r.sweep_id ? "trial" : ""}${best ? " best" : ""}">
    <td><input type="checkbox" class="pick" aria-label="compare" ${state.picked.has(r.id) ? "checked" : ""}></td>
    <td>${best ? '<span class="star" title="best trial of its sweep">★</span> ' : ""}${trial}` +
    `${r.name ? `<strong>${escape(r.name)}</strong> ` : ""}<code>${r.id.slice(0, 8)}</code>${tags}</td>
    <td><span class="status ${r.status}">${r.status}</span></td><td>${escape(r.dataset)}</td><td>${escape(r.model)}</td>
    <td>${r.lookback ?? "–"} / ${r.horizon ?? "–"}</td><td>${fmt(r.mae)}</td><td>${fmt(r.mase, 3)}</td>
    <td class="${r.verdict ? verdictTone(r.verdict) : ""}">${r.verdict ? escape(r.verdict.text) : "–"}</td>
    <td>${r.epochs ?? "–"}</td><td>${durationText(r.runtime_s)}</td>
    <td>${new Date(r.created_at).toLocaleString()}</td></tr>`;
}

function sweepHead(id, trials) {
  const s = state.sweeps.get(id);
  const label = s ? `${escape(s.name || id.slice(0, 8))} · ${s.objective} (${s.direction})` : id.slice(0, 8);
  return `<tr class="sweep-head" data-sweep="${id}"><td></td><td colspan="11">sweep ${label} · ` +
    `${trials.length} trials${s && s.best_value != null ? ` · best ${fmt(s.best_value)}` : ""} · ` +
    `<a href="#/sweeps/${encodeURIComponent(id)}">objective against the parameters</a></td></tr>`;
}

export function render() {
  const shown = state.runs.filter(matches).sort(compare);
  // A sweep's trials follow one another under a heading, where its first trial sorts.
  const groups = new Map();
  const html = [];
  for (const r of shown) {
    if (!r.sweep_id) {
      html.push(row(r));
    } else if (!groups.has(r.sweep_id)) {
      const trials = shown.filter((t) => t.sweep_id === r.sweep_id);
      groups.set(r.sweep_id, trials);
      html.push(sweepHead(r.sweep_id, trials), ...trials.map(row));
    }
  }
  $("runs-table").querySelector("tbody").innerHTML = html.join("") ||
    `<tr><td colspan="12" class="muted">${state.runs.length ? "no run matches these filters" : "no runs yet"}</td></tr>`;
  $("runs-table").querySelectorAll("th[data-sort]").forEach((th) => {
    const on = th.dataset.sort === state.sort;
    th.classList.toggle("sorted", on);
    th.dataset.dir = on ? (state.desc ? "desc" : "asc") : "";
    th.tabIndex = 0; // sortable from the keyboard too (Enter)
    if (on) th.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  });
  mark(state.current);
  updateCompare();
}

export function setRuns(runs, sweeps) {
  state.runs = runs;
  state.sweeps = new Map(sweeps.map((s) => [s.id, s]));
  const ids = new Set(runs.map((r) => r.id));
  state.picked = new Set([...state.picked].filter((id) => ids.has(id)));
  options("filter-dataset", runs.map((r) => r.dataset));
  options("filter-model", runs.map((r) => r.model));
  options("filter-status", runs.map((r) => r.status));
  render();
}

export function mark(runId) {
  state.current = runId;
  document.querySelectorAll("#runs-table tbody tr[data-run]").forEach((tr) => {
    tr.classList.toggle("current", tr.dataset.run === runId);
  });
}

function updateCompare() {
  const n = state.picked.size;
  $("compare-button").disabled = n < 2 || n > COMPARE_MAX;
  $("compare-button").textContent = n > COMPARE_MAX
    ? `Compare (at most ${COMPARE_MAX})` : `Compare selected${n ? ` (${n})` : ""}`;
}

/** Wire the table: `open(id)` on a row, `compareRuns(ids)` on the button. */
export function wire({ open, compareRuns }) {
  $("runs-table").querySelector("thead").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches("th[data-sort]")) event.target.click();
  });
  $("runs-table").querySelector("thead").addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (!th) return;
    // A new column starts ascending (the lowest error first); "created" newest first.
    state.desc = th.dataset.sort === state.sort ? !state.desc : th.dataset.sort === "created_at";
    state.sort = th.dataset.sort;
    render();
  });
  $("runs-table").querySelector("tbody").addEventListener("click", (event) => {
    const tr = event.target.closest("tr[data-run]");
    if (!tr || event.target.closest("a")) return;
    if (event.target.classList.contains("pick")) {
      if (event.target.checked) state.picked.add(tr.dataset.run);
      else state.picked.delete(tr.dataset.run);
      updateCompare();
      return;
    }
    open(tr.dataset.run);
  });
  for (const id of ["filter-text", "filter-dataset", "filter-model", "filter-status"]) {
    $(id).addEventListener("input", render);
  }
  $("compare-button").addEventListener("click", () => compareRuns([...state.picked]));
}
