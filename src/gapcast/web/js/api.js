// Talking to the gapcast server: REST with the token as a Bearer header, WebSockets with the
// token as the subprotocol "bearer.<token>" (browsers cannot set headers on a WebSocket), and
// links (images, downloads) with ?token=. Errors keep the server's {code, message, field}.

const TOKEN_KEY = "gapcast.token";

export class ApiError extends Error {
  constructor(body, status) {
    super(body.message || `HTTP ${status}`);
    this.code = body.code || "http_error";
    this.field = body.field || null;
    this.status = status;
  }
}

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) || "",
  set: (value) => localStorage.setItem(TOKEN_KEY, value),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

function headers() {
  const t = token.get();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

export async function request(method, path, { json, form } = {}) {
  const init = { method, headers: headers() };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  let body;
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  if (!response.ok) throw new ApiError(body.error || { message: response.statusText }, response.status);
  return body;
}

export const api = {
  datasets: () => request("GET", "/datasets"),
  dataset: (ref) => request("GET", `/datasets/${encodeURIComponent(ref)}`),
  series: (ref, maxFill) =>
    request("GET", `/datasets/${encodeURIComponent(ref)}/series?max_fill=${maxFill}&max_points=3000`),
  upload: (form) => request("POST", "/datasets", { form }),
  readFile: (form) => request("POST", "/files/read", { form }),
  models: () => request("GET", "/models"),
  defaults: () => request("GET", "/defaults"),
  configs: () => request("GET", "/configs"),
  // The page sorts and filters the runs itself: a few hundred rows are one small response.
  runs: () => request("GET", "/runs?limit=500"),
  run: (id) => request("GET", `/runs/${encodeURIComponent(id)}`),
  label: (id, labels) => request("PATCH", `/runs/${encodeURIComponent(id)}`, { json: labels }),
  remove: (id) => request("DELETE", `/runs/${encodeURIComponent(id)}`),
  cancel: (id) => request("POST", `/runs/${id}/cancel`),
  backtest: (id) => request("GET", `/runs/${encodeURIComponent(id)}/backtest.json`),
  predict: (id, body) => request("POST", `/runs/${encodeURIComponent(id)}/predict`, { json: body }),
  sweeps: () => request("GET", "/sweeps?limit=200"),
  sweep: (id) => request("GET", `/sweeps/${encodeURIComponent(id)}`),
};

/** A URL for <img src> or <a href>: the token travels as ?token= there. */
export function link(path) {
  const t = token.get();
  return t ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(t)}` : path;
}

export function openSocket(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const t = token.get();
  return t
    ? new WebSocket(`${scheme}//${location.host}${path}`, [`bearer.${t}`])
    : new WebSocket(`${scheme}//${location.host}${path}`);
}

/**
 * Follow a run's events from the one after `after`, reattaching with ?after=<last seq> when the
 * connection drops, until its terminal `done` or `error`. `start` (optional) is the train
 * request: it is sent on /ws/train, and the run id arrives in the `accepted` message.
 */
export function followRun({ runId = null, after = 0, start = null, onEvent, onAccepted, onRefused }) {
  let lastSeq = after;
  let finished = false;
  let attempts = 0;
  let socket = null;
  const connect = () => {
    socket = runId === null ? openSocket("/ws/train") : openSocket(`/ws/runs/${runId}?after=${lastSeq}`);
    socket.onopen = () => {
      attempts = 0;
      if (runId === null) socket.send(JSON.stringify({ type: "train", ...start }));
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.seq === 0 && event.type === "error") {
        finished = true;
        onRefused(new ApiError(event, 0));
        return;
      }
      if (event.type === "accepted") {
        runId = event.run_id;
        onAccepted?.(runId);
        return;
      }
      if (event.seq <= lastSeq) return;
      lastSeq = event.seq;
      if (event.type === "done" || event.type === "error") finished = true;
      onEvent(event, lastSeq);
    };
    socket.onclose = () => {
      if (finished || runId === null || attempts > 10) return;
      attempts += 1;
      setTimeout(connect, Math.min(500 * attempts, 5000));
    };
  };
  connect();
  return {
    get runId() { return runId; },
    cancel: () => socket?.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ type: "cancel" })),
    close: () => { finished = true; socket?.close(); },
  };
}
