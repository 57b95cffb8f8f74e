// A run as it happens: its events (live, or replayed for a run that already finished) drive the
// status, the progress bar, the stage line and the loss chart of the run card.
import { followRun } from "./api.js";
import { LossChart } from "./charts.js";
import { candidateScoreText, escape, fmt } from "./format.js";

const $ = (id) => document.getElementById(id);
export const STAGES = ["queued", "loading", "preparing", "gap_classifier", "training", "evaluating", "saving"];

let follower = null;
let lossChart = null;
// What a stopped run reached, for its last line: the stage and the forecaster's epochs.
let reached = { stage: null, epoch: 0, epochs: null };

export function setStatus(status) {
  const el = $("run-status");
  el.textContent = status;
  el.className = `status ${status}`;
}

function reset(runId) {
  $("run-card").hidden = false;
  $("run-id").textContent = runId ? runId.slice(0, 8) : "";
  $("run-card").dataset.run = runId || "";
  setStatus("queued");
  $("progress-bar").style.width = "0%";
  $("progress-text").textContent = "";
  $("stage-text").textContent = "";
  $("run-log").innerHTML = "";
  $("result").hidden = true;
  $("cancel-button").hidden = false;
  $("delete-button").hidden = true;
  reached = { stage: null, epoch: 0, epochs: null };
  lossChart = new LossChart($("loss-chart"), { log: $("loss-log").checked });
}

export function setLossLog(log) {
  lossChart?.setLog(log);
}

function onEvent(event, handlers) {
  if (event.type === "status") {
    setStatus(event.stage === "queued" ? "queued" : "running");
    reached.stage = event.stage;
    const index = STAGES.indexOf(event.stage) + 1;
    $("stage-text").textContent =
      `stage ${index}/${STAGES.length}: ${event.stage.replace("_", " ")}${event.message ? ` — ${event.message}` : ""}`;
  } else if (event.type === "gaps") {
    $("stage-text").textContent +=
      ` · gaps found: ${event.gaps} (${event.large} large)${event.gap_classifier ? ", training a gap classifier" : ""}`;
  } else if (event.type === "progress" && event.model === "forecaster") {
    // Each candidate trains from epoch 1 with validation: one curve each, shown while it
    // trains (a survivor of successive halving goes on with its rung's epochs). The chosen
    // one's refit (no validation part left) moves the bar but keeps its candidate's curve.
    const refit = event.phase === "refit";
    const curve = event.candidate || "forecaster";
    if (!refit && lossChart.curve !== curve) lossChart.show(curve);
    const done = event.batch == null || !event.batches ? event.epoch : event.epoch - 1 + event.batch / event.batches;
    reached.epoch = event.batch == null ? event.epoch : event.epoch - 1;
    reached.epochs = event.epochs;
    $("progress-bar").style.width = `${Math.min(100, (100 * done) / event.epochs).toFixed(1)}%`;
    $("progress-bar").dataset.epoch = String(event.epoch);
    const what = refit ? `refit of ${event.candidate}` : event.candidate || "forecaster";
    $("progress-text").textContent =
      `${what} · epoch ${event.epoch}/${event.epochs} · loss ${fmt(event.loss)}` +
      (event.eta_s != null ? ` · ETA ${Math.round(event.eta_s)} s` : "");
    if (!refit && event.batch == null && event.loss != null) lossChart.add(event.epoch, event.loss, event.val_loss ?? null);
  } else if (event.type === "log") {
    // What the run read other than as asked (a covariate held between its readings, a logger's
    // coarser step, sizes cut to a short series) or warns of: the CLI prints these lines too.
    const level = event.level === "error" ? "error" : event.level === "warning" ? "warning" : "info";
    $("run-log").insertAdjacentHTML("beforeend", `<li class="${level}">${escape(event.message)}</li>`);
  } else if (event.type === "candidate") {
    $("stage-text").textContent += ` · ${event.label}: ${candidateScoreText(event)} ${fmt(event.val_mae)}` +
      (event.pruned ? ` (stopped after ${event.epochs_run} epochs, pruned)` : "");
  } else if (event.type === "done" || event.type === "error") {
    finish(event, handlers);
  }
}

function finish(event, handlers) {
  setStatus(event.status || "failed");
  $("cancel-button").hidden = true;
  $("delete-button").hidden = false;
  if (event.status === "succeeded") {
    $("progress-bar").style.width = "100%";
    $("stage-text").textContent = `finished in ${fmt(event.runtime_s, 3)} s`;
  } else {
    // A stopped run says where it stopped: its last stage and the epochs it finished.
    const epochs = event.epochs ?? reached.epoch;
    const stage = reached.stage ? reached.stage.replace("_", " ") : "queue";
    $("stage-text").textContent = `${event.status} during ${stage}` +
      (reached.epochs ? ` after ${epochs} of ${reached.epochs} epochs` : epochs ? ` after ${epochs} epochs` : "") +
      (event.runtime_s != null ? ` · ${fmt(event.runtime_s, 3)} s` : "");
  }
  handlers.onFinished?.(event);
}

/** Follow run `runId` from its first event; or, with `start`, ask for a new run first. */
export function follow({ runId = null, start = null, onAccepted, onFinished, onRefused }) {
  follower?.close();
  if (runId) reset(runId);
  const handlers = { onFinished };
  follower = followRun({
    runId,
    start,
    onAccepted: (id) => {
      reset(id);
      onAccepted?.(id);
    },
    onEvent: (event) => onEvent(event, handlers),
    onRefused,
  });
  return follower;
}

export function stop() {
  follower?.close();
  follower = null;
}

export const current = () => follower?.runId || null;
