// Data: the datasets, one's series with its gaps, and uploading a file (a taken name offers to
// replace the stored dataset: the page's --replace).
import { api } from "./api.js";
import { seriesChart } from "./charts.js";
import * as form from "./form.js";
import { escape, stepText } from "./format.js";

const $ = (id) => document.getElementById(id);

export async function loadDatasets(select) {
  const list = await api.datasets();
  const box = $("dataset");
  box.innerHTML = list.map((d) => `<option value="${d.name}">${d.name}</option>`).join("");
  if (select) box.value = select;
  if (!box.value && list.length) box.value = list[0].name;
  if (box.value) await showDataset(box.value);
  else $("dataset-info").textContent = "No dataset yet: upload a CSV with a time column and value columns.";
}

export async function showDataset(name) {
  const maxFill = Number($("max_fill").value) || 0;
  const [info, series] = await Promise.all([api.dataset(name), api.series(name, maxFill)]);
  // Counted at full resolution: a long series' chart merges nearby gaps into one span.
  const counts = series.gap_counts || {};
  const total = (counts.small || 0) + (counts.large || 0);
  $("dataset-info").textContent =
    `${info.points.toLocaleString()} points · ${info.series.map((s) => s.name).join(", ")} · ` +
    `every ${stepText(series.frequency_s)} · ${total} gaps (${counts.large || 0} large)` +
    // The zone its times were written in: a newer export appended is read in it too.
    (info.timezone ? ` · imported in ${info.timezone}` : "");
  seriesChart($("series-chart"), series);
  form.setSeries(info.series.map((s) => s.name));
}

/** Upload the chosen file; `mode` "replace" or "append" after the user pressed "Replace it" or
 * "Append to it" on a taken name (append: a newer export of the same series). Several chosen
 * files (a logger's daily exports) make one dataset: the first is uploaded as `mode` says, each
 * later one appended to it. */
export async function upload(mode = "new") {
  form.clearErrors();
  $("import-notes").innerHTML = "";
  $("replace-button").hidden = true;
  $("append-button").hidden = true;
  const files = Array.from($("file").files);
  if (!files.length) {
    form.showError({ field: "file", message: "choose a CSV, Excel (.xlsx) or Parquet file first" });
    return;
  }
  const name = $("dataset-name").value.trim();
  if (files.length > 1 && !name) {
    form.showError({ field: "name", message: `${files.length} files make one dataset: name it` });
    return;
  }
  $("upload-button").disabled = true;
  const notes = [];
  let dataset = null;
  let file = files[0];
  try {
    for (const [i, each] of files.entries()) {
      file = each;
      dataset = await api.upload(formFor(file, name, i === 0 ? mode : "append"));
      // What the server read other than as written (e.g. -9999 cells read as missing).
      for (const note of dataset.notes || []) notes.push(files.length > 1 ? `${file.name}: ${note}` : note);
    }
    await loadDatasets(dataset.name);
  } catch (error) {
    if (dataset) {
      // The files before this one are stored: say so, and show the dataset they made.
      notes.push(`stored: the ${files.indexOf(file)} file(s) before ${file.name}`);
      error.message = `${file.name}: ${error.message}`;
      await loadDatasets(dataset.name);
    }
    if (error.code === "conflict" && / already exists; /.test(error.message)) {
      form.showError({ field: "name", message: error.message.replace(/; use --replace.*$/, ": replace it with this file, or append this file's newer points to it?") });
      $("replace-button").hidden = false;
      $("append-button").hidden = false;
    } else {
      const option = ["timestamp_column", "time_format", "timezone", "series_column", "columns", "encoding", "missing", "counter", "sheet", "on_duplicate", "decimal"].includes(error.field);
      if (option) $("import-options").open = true;
      // A message about a column or a row of the file shows under the file input.
      const shown = document.querySelector(`[data-error-for="${error.field}"]`);
      form.showError(shown ? error : { field: "file", message: error.message });
    }
  } finally {
    $("import-notes").innerHTML = notes.map((note) => `<li class="warning">${escape(note)}</li>`).join("");
    $("upload-button").disabled = false;
  }
}

function formFor(file, name, mode) {
  const data = readingForm(file);
  if (name) data.append("name", name);
  if (mode === "replace") data.append("replace", "true");
  if (mode === "append") data.append("append", "true");
  return data;
}

/** The file and how to read it (the import options): an import, or "predict from recent rows",
 * reads a file alike. */
export function readingForm(file) {
  const data = new FormData();
  data.append("file", file);
  // File options (European exports, odd time columns); the server's defaults when left empty.
  if ($("timestamp-column").value.trim()) data.append("timestamp_column", $("timestamp-column").value.trim());
  if ($("time-format").value.trim()) data.append("time_format", $("time-format").value.trim());
  if ($("timezone").value.trim()) data.append("timezone", $("timezone").value.trim());
  if ($("series-column").value.trim()) data.append("series_column", $("series-column").value.trim());
  if ($("columns").value.trim()) data.append("columns", $("columns").value.trim());
  if ($("encoding").value.trim()) data.append("encoding", $("encoding").value.trim());
  if ($("missing").value.trim()) data.append("missing", $("missing").value.trim());
  if ($("counter").value.trim()) data.append("counter", $("counter").value.trim());
  if ($("sheet").value.trim()) data.append("sheet", $("sheet").value.trim());
  data.append("decimal", $("decimal").value);
  data.append("on_duplicate", $("on-duplicate").value);
  return data;
}
