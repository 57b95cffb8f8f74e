// The configuration form: filled from the model registry and stored configs, read into the
// TrainingConfig JSON the server validates, and errors shown next to the field they name.

import { escape } from "./format.js";

const $ = (id) => document.getElementById(id);

/** The last meaningful part of a server field path: "config.preprocessing[6].lookback" → "lookback". */
export function fieldKey(field) {
  if (!field) return "general";
  const parts = field.replace(/\[\d+\]/g, "").split(".");
  if (parts.includes("hyperparameters")) return "hyperparameters";
  const known = ["target", "covariates", "model", "epochs", "batch_size", "patience", "lookback", "horizon", "max_fill", "gap_classifier",
    "agg", "max_hold",
    "dataset", "file", "name", "token", "timestamp_column", "time_format", "timezone", "series_column", "columns",
    "encoding", "missing", "counter", "sheet"];
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    if (known.includes(parts[i])) return parts[i];
  }
  return "general";
}

const INPUT_OF = {
  agg: "between", name: "dataset-name", timestamp_column: "timestamp-column", time_format: "time-format",
  series_column: "series-column",
};

export function showError(error) {
  const key = fieldKey(error.field);
  const slot = document.querySelector(`[data-error-for="${key}"]`) ||
    document.querySelector('[data-error-for="general"]');
  slot.textContent = error.message;
  const input = $(INPUT_OF[key] || key);
  if (input) {
    input.classList.add("invalid");
    input.focus();
  }
}

export function clearErrors() {
  document.querySelectorAll("[data-error-for]").forEach((el) => { el.textContent = ""; });
  document.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
}

let models = [];
let defaults = null; // the server's default TrainingConfig (GET /defaults)
let base = null; // the config the form starts from: the defaults or a stored config

const AUTO_DESCRIPTION = "auto — train candidates, keep the best on validation (or the finalists' average, or the best halfway to naive)";

export function setModels(list, serverDefaults) {
  models = list;
  defaults = serverDefaults.config;
  const select = $("model");
  select.innerHTML = `<option value="auto">${AUTO_DESCRIPTION} (${serverDefaults.auto_candidates.join(", ")})</option>` +
    list.map((m) => `<option value="${m.name}">${m.name} — ${m.description}</option>`).join("");
  select.addEventListener("change", showDefaults);
  $("between").addEventListener("change", showHold);
  fill(defaults);
}

function showDefaults() {
  const model = models.find((m) => m.name === $("model").value);
  $("hyperparameters").disabled = !model;
  if (!model) {
    $("hyperparameters").value = "";
    $("hp-hint").textContent = "model auto chooses its candidates' hyperparameters";
    return;
  }
  $("hyperparameters").value = JSON.stringify(model.defaults);
  const props = model.hyperparameters.properties || {};
  $("hp-hint").textContent = Object.entries(props)
    .map(([k, p]) => `${k}: ${p.type || (p.anyOf || []).map((a) => a.type).join("|")}`)
    .join(" · ");
}

export function setStoredConfigs(list) {
  const select = $("stored-config");
  select.innerHTML = '<option value="">defaults</option>' +
    list.map((c) => `<option value="${c.id}">${c.name} (${c.model})</option>`).join("");
  select.onchange = () => {
    const row = list.find((c) => String(c.id) === select.value);
    fill(row ? row.config : defaults);
  };
}

function step(config, name) {
  return (config.preprocessing || []).find((s) => s.step === name);
}

let series = []; // the chosen dataset's series: which to forecast, which to read beside it

/** Offer the dataset's series as the target and the covariates (nothing to choose with one). */
export function setSeries(names) {
  series = names;
  $("series-choice").hidden = names.length < 2;
  const wanted = base?.target?.[0];
  $("target").innerHTML = names.map((n) => `<option>${escape(n)}</option>`).join("");
  $("target").value = names.includes(wanted) ? wanted : names[0] || "";
  const box = $("covariates");
  box.querySelectorAll("label").forEach((el) => el.remove());
  const error = box.querySelector(".error");
  for (const name of names) {
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.value = name;
    input.checked = (base?.covariates || []).includes(name);
    label.append(input, ` ${name}`);
    box.insertBefore(label, error);
  }
  $("target").onchange = showCovariates;
  showCovariates();
}

/** The forecast series is not also a covariate: its own box is hidden. */
function showCovariates() {
  for (const input of $("covariates").querySelectorAll("input")) {
    const own = input.value === $("target").value;
    input.parentElement.hidden = own;
    if (own) input.checked = false;
  }
}

/** Show ``config`` in the form; what the form has no field for is kept and sent back as is. */
export function fill(config) {
  base = structuredClone(config);
  if (series.length) setSeries(series);
  $("model").value = config.model;
  showDefaults();
  if ($("model").value !== "auto") $("hyperparameters").value = JSON.stringify(config.hyperparameters || {});
  $("epochs").value = config.training.epochs;
  $("batch_size").value = config.training.batch_size;
  $("patience").value = config.training.patience;
  const window = step(config, "window");
  $("lookback").value = window?.lookback ?? "";
  $("horizon").value = window?.horizon ?? "";
  const gaps = step(config, "detect_gaps");
  if (gaps && typeof gaps.max_fill === "number") $("max_fill").value = gaps.max_fill;
  $("stats_baselines").checked = (config.training.baselines || []).length > 0;
  $("gap_classifier").value = config.training.gap_classifier;
  const resample = step(config, "resample");
  $("between").value = resample?.agg === "hold" ? "hold" : "missing";
  if (resample?.agg === "hold") $("max_hold").value = resample.max_hold || "";
  showHold();
}

/** A sensor that reports on change only (Home Assistant's states, a deadband) means "unchanged"
 * by its silence: resample's "hold" keeps each reading until the next, for at most max_hold. */
function readResample(config) {
  let resample = step(config, "resample");
  if ($("between").value === "hold") {
    if (!resample) {
      // A stored config without the step: hold needs it, first, on the data's own step.
      resample = { step: "resample", freq: null };
      config.preprocessing = [resample, ...(config.preprocessing || [])];
    }
    resample.agg = "hold";
    resample.max_hold = $("max_hold").value.trim() || null;
  } else if (resample) {
    // Another aggregation a stored config chose (sum, max, ...) is kept; only hold is undone.
    if (resample.agg === "hold") resample.agg = "mean";
    delete resample.max_hold;
  }
}

function showHold() {
  $("max_hold").disabled = $("between").value !== "hold";
}

function int(id) {
  const text = $(id).value.trim();
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** An empty size field means "auto": resolved from the data when the run starts. */
function size(id) {
  const value = int(id);
  return value === "" ? null : value;
}

/** The form as a TrainingConfig object (the server checks every value). */
export function read() {
  const config = structuredClone(base || defaults);
  config.model = $("model").value;
  if (config.model === "auto") {
    config.hyperparameters = {};
  } else {
    try {
      config.hyperparameters = JSON.parse($("hyperparameters").value || "{}");
    } catch (e) {
      throw { field: "hyperparameters", message: `not valid JSON: ${e.message}` };
    }
  }
  const steps = config.preprocessing || [];
  const window = step(config, "window");
  if (window) {
    window.lookback = size("lookback");
    window.horizon = size("horizon");
    // A stored run's resolved season belongs to its lookback: let a new size choose again.
    if (typeof window.season === "number") window.season = "auto";
  }
  const gaps = step(config, "detect_gaps");
  if (gaps) gaps.max_fill = int("max_fill");
  config.preprocessing = steps;
  readResample(config);
  if (series.length > 1) {
    config.target = [$("target").value];
    config.covariates = Array.from($("covariates").querySelectorAll("input:checked")).map((i) => i.value);
  }
  config.training = {
    ...config.training,
    epochs: int("epochs"),
    batch_size: int("batch_size"),
    patience: int("patience"),
    gap_classifier: $("gap_classifier").value,
    baselines: $("stats_baselines").checked ? ["autoets", "mstl"] : [],
  };
  return config;
}
