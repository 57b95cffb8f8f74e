// The page's own URLs, in the fragment so that any static server (and a reload) keeps them:
// "#/" a new run, "#/runs/<id>" a run's page, "#/compare/<id>,<id>" a comparison,
// "#/sweeps/<id>" a sweep.

/** The current route: { view: "new" | "run" | "compare" | "sweep", ids: [...] }. */
export function current() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "runs" && parts[1]) return { view: "run", ids: [parts[1]] };
  if (parts[0] === "compare" && parts[1]) return { view: "compare", ids: parts[1].split(",").filter(Boolean) };
  if (parts[0] === "sweeps" && parts[1]) return { view: "sweep", ids: [parts[1]] };
  return { view: "new", ids: [] };
}

export const href = {
  run: (id) => `#/runs/${encodeURIComponent(id)}`,
  compare: (ids) => `#/compare/${ids.map(encodeURIComponent).join(",")}`,
  sweep: (id) => `#/sweeps/${encodeURIComponent(id)}`,
  home: () => "#/",
};

export function go(hash) {
  if (location.hash !== hash) location.hash = hash;
}

/** Call `show(route)` now and on every change of the fragment. */
export function follow(show) {
  window.addEventListener("hashchange", () => show(current()));
  return show(current());
}
