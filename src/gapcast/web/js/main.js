// The page: views chosen by the URL fragment (router.js) — a new run (data and configuration),
// a run's page, a comparison, a sweep — above the runs table, which is always there.
import { api, ApiError, token } from "./api.js";
import { drawLoss, showCompare } from "./compare.js";
import * as data from "./data.js";
import * as form from "./form.js";
import * as live from "./live-run.js";
import * as router from "./router.js";
import * as page from "./run-page.js";
import * as table from "./runs-table.js";
import { showSweep } from "./sweep.js";

const $ = (id) => document.getElementById(id);
const CURRENT_RUN_KEY = "gapcast.currentRun";
const ACTIVE = ["queued", "running"];

// -- token -------------------------------------------------------------------------------------

function askToken(message) {
  $("token-button").hidden = false;
  document.querySelector('[data-error-for="token"]').textContent = message || "";
  $("token-dialog").showModal();
}

/** Run `call`; on 401 ask for the token and retry once it is given. */
async function authorised(call) {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ApiError && error.code === "unauthorized") {
      askToken(token.get() ? "That token was refused." : "");
      await new Promise((resolve) => $("token-form").addEventListener("submit", resolve, { once: true }));
      token.set($("token-input").value.trim());
      return authorised(call);
    }
    throw error;
  }
}

// -- views -------------------------------------------------------------------------------------

function showOnly(view) {
  $("data-card").hidden = view !== "new";
  $("config-card").hidden = view !== "new";
  $("run-card").hidden = view !== "run";
  $("compare-card").hidden = view !== "compare";
  $("sweep-card").hidden = view !== "sweep";
  document.body.dataset.view = view;
}

async function show(route) {
  showOnly(route.view);
  if (route.view === "run") await openRun(route.ids[0]);
  else live.stop();
  if (route.view === "compare") await showCompare(route.ids);
  if (route.view === "sweep") await showSweep(route.ids[0]);
  table.mark(route.view === "run" ? route.ids[0] : null);
  if (route.view !== "new") window.scrollTo(0, 0);
}

/** A run's page: its events replayed (then live while it runs), its stored figures once done. */
async function openRun(runId) {
  if (live.current() === runId) return;
  page.fillLabels({ id: runId }); // empty and editable at once; what is typed before the run loads stays
  let run;
  try {
    run = await authorised(() => api.run(runId));
  } catch (error) {
    showOnly("run");
    $("run-card").dataset.run = "";
    $("run-id").textContent = runId.slice(0, 8);
    $("result").hidden = true;
    document.querySelector('[data-error-for="run"]').textContent = error.message;
    return;
  }
  document.querySelector('[data-error-for="run"]').textContent = "";
  live.follow({ runId, onFinished: (event) => finished(runId, event) });
  page.fillLabels(run, { keepEdits: true });
  if (ACTIVE.includes(run.status)) localStorage.setItem(CURRENT_RUN_KEY, runId);
}

async function finished(runId, event) {
  if (localStorage.getItem(CURRENT_RUN_KEY) === runId) localStorage.removeItem(CURRENT_RUN_KEY);
  if (event.type === "error") {
    document.querySelector('[data-error-for="run"]').textContent = `run ${event.status}: ${event.message}`;
  }
  refreshRuns();
  const run = await api.run(runId);
  if (live.current() === runId) await page.showFinished(run);
}

function train() {
  form.clearErrors();
  let config;
  try {
    config = form.read();
  } catch (error) {
    form.showError(error);
    return;
  }
  const dataset = $("dataset").value;
  if (!dataset) {
    form.showError({ field: "dataset", message: "upload or choose a dataset first" });
    return;
  }
  $("train-button").disabled = true;
  live.follow({
    start: { dataset, config, overrides: {} },
    onAccepted: (runId) => {
      $("train-button").disabled = false;
      localStorage.setItem(CURRENT_RUN_KEY, runId);
      // The run's page, followed from the socket that started it (openRun sees it is current).
      page.fillLabels({ id: runId });
      router.go(router.href.run(runId));
      refreshRuns();
    },
    onFinished: (event) => finished(live.current(), event),
    onRefused: (error) => {
      $("train-button").disabled = false;
      if (error.code === "unauthorized") askToken("The server needs a token.");
      form.showError(error);
    },
  });
}

async function deleteRun() {
  const runId = $("run-card").dataset.run;
  if (!runId || !window.confirm(`Delete run ${runId.slice(0, 8)} with its model, plot and files?`)) return;
  try {
    await api.remove(runId);
    live.stop();
    router.go(router.href.home());
    await refreshRuns();
  } catch (error) {
    document.querySelector('[data-error-for="run"]').textContent = error.message;
  }
}

async function refreshRuns() {
  const [runs, sweeps] = await Promise.all([authorised(api.runs), api.sweeps().catch(() => [])]);
  table.setRuns(runs, sweeps);
  return runs;
}

// -- start -------------------------------------------------------------------------------------

async function main() {
  $("upload-form").addEventListener("submit", (event) => { event.preventDefault(); data.upload(); });
  $("replace-button").addEventListener("click", () => data.upload("replace"));
  $("append-button").addEventListener("click", () => data.upload("append"));
  $("dataset").addEventListener("change", () => data.showDataset($("dataset").value));
  $("max_fill").addEventListener("change", () => $("dataset").value && data.showDataset($("dataset").value));
  $("train-button").addEventListener("click", train);
  $("cancel-button").addEventListener("click", () => live.current() && api.cancel(live.current()).catch(form.showError));
  $("delete-button").addEventListener("click", deleteRun);
  $("token-button").addEventListener("click", () => askToken(""));
  $("loss-log").addEventListener("change", () => live.setLossLog($("loss-log").checked));
  $("compare-log").addEventListener("change", drawLoss);
  $("labels-form").addEventListener("submit", (event) => {
    event.preventDefault();
    page.saveLabels($("run-card").dataset.run, () => refreshRuns());
  });
  $("predict-dataset").addEventListener("click", () => page.predict());
  $("predict-file").addEventListener("change", () => $("predict-file").files[0] && page.predict($("predict-file").files[0]));
  table.wire({
    open: (id) => router.go(router.href.run(id)),
    compareRuns: (ids) => router.go(router.href.compare(ids)),
  });
  form.setModels(await authorised(api.models), await api.defaults());
  form.setStoredConfigs(await api.configs());
  await data.loadDatasets();
  const runs = await refreshRuns();
  if (router.current().view === "new") {
    // A run followed before a reload, else one that is training now (the demo's, say): open it.
    const current = localStorage.getItem(CURRENT_RUN_KEY);
    const active = runs.find((r) => ACTIVE.includes(r.status));
    const open = current && runs.some((r) => r.id === current) ? current : active && active.id;
    // replaceState: no hashchange, so the run opens once, below.
    if (open) history.replaceState(null, "", router.href.run(open));
  }
  await router.follow(show);
  document.body.dataset.ready = "true";
}

main().catch((error) => form.showError(error));
