// The configuration form: filled from the model registry and stored configs, read into the
// TrainingConfig JSON the server validates, and errors shown next to the field they name.

const $ = (id) => document.getElementById(id);

/** The last meaningful part of a server field path: "config.preprocessing[6].lookback" → "lookback". */
export function fieldKey(field) {
  if (!field) return "general";
  const parts = field.replace(/\[\d+\]/g, "").split(".");
  if (parts.includes("hyperparameters")) return "hyperparameters";
  const known = ["model", "epochs", "batch_size", "patience", "lookback", "horizon", "max_fill", "method", "gap_classifier",
    "dataset", "file", "name", "token"];
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    if (known.includes(parts[i])) return parts[i];
  }
  return "general";
}

const INPUT_OF = { method: "fill_method", name: "dataset-name" };

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

export function setModels(list) {
  models = list;
  const select = $("model");
  select.innerHTML = list.map((m) => `<option value="${m.name}">${m.name} — ${m.description}</option>`).join("");
  select.value = list.some((m) => m.name === "mlp") ? "mlp" : list[0]?.name;
  showDefaults();
  select.addEventListener("change", showDefaults);
}

function showDefaults() {
  const model = models.find((m) => m.name === $("model").value);
  if (!model) return;
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
    if (row) fill(row.config);
  };
}

function step(config, name) {
  return (config.preprocessing || []).find((s) => s.step === name);
}

export function fill(config) {
  $("model").value = config.model;
  $("hyperparameters").value = JSON.stringify(config.hyperparameters || {});
  $("epochs").value = config.training.epochs;
  $("batch_size").value = config.training.batch_size;
  $("patience").value = config.training.patience;
  const window = step(config, "window");
  if (window) {
    $("lookback").value = window.lookback;
    $("horizon").value = window.horizon;
  }
  const gaps = step(config, "detect_gaps");
  if (gaps && typeof gaps.max_fill === "number") $("max_fill").value = gaps.max_fill;
  const fillStep = step(config, "fill_gaps");
  if (fillStep) $("fill_method").value = fillStep.method;
  const scale = step(config, "scale");
  if (scale) $("scale_method").value = scale.method;
  $("detrend").checked = Boolean(step(config, "remove_linear_trend"));
  $("gap_classifier").value = config.training.gap_classifier;
}

function int(id) {
  const text = $(id).value.trim();
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** The form as a TrainingConfig object (the server checks every value). */
export function read() {
  let hyperparameters;
  try {
    hyperparameters = JSON.parse($("hyperparameters").value || "{}");
  } catch (e) {
    throw { field: "hyperparameters", message: `not valid JSON: ${e.message}` };
  }
  const preprocessing = [
    { step: "resample" },
    { step: "detect_gaps", max_fill: int("max_fill") },
    { step: "fill_gaps", method: $("fill_method").value },
    { step: "split" },
  ];
  if ($("detrend").checked) preprocessing.push({ step: "remove_linear_trend" });
  preprocessing.push({ step: "scale", method: $("scale_method").value });
  preprocessing.push({ step: "window", lookback: int("lookback"), horizon: int("horizon") });
  return {
    model: $("model").value,
    hyperparameters,
    preprocessing,
    training: {
      epochs: int("epochs"),
      batch_size: int("batch_size"),
      patience: int("patience"),
      gap_classifier: $("gap_classifier").value,
    },
  };
}
