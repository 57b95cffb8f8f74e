"""``gapcast runs compare``: the parameters each run ran with beside the figures it reached.

Parameters come from the stored configuration snapshot (flattened to ``window.lookback``,
``training.epochs``, ``hyperparameters.units``, ...), with the lookback and horizon a run resolved
from its data in place of the ``None`` it was asked with; a parameter whose value differs between
the runs is marked. Figures come from the backtest: the best run of each is marked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from gapcast.cli.progress import duration, number

# Always shown, even when equal: what a reader looks for first.
KEY_PARAMETERS = ("dataset", "model", "window.lookback", "window.horizon", "training.epochs")
DIFFERS = "≠"


@dataclass(frozen=True)
class Figure:
    """A row of figures: its label, how to read it from a run, and which value is best."""

    label: str
    read: Callable[[dict[str, Any]], Any]
    best: str | None = "min"  # "min", "max" or None (not ranked)
    show: Callable[[Any], str] = number


def _metric(key: str) -> Callable[[dict[str, Any]], Any]:
    """A backtest figure of the model: top-level in the metrics, else its leaderboard row."""

    def read(run: dict[str, Any]) -> Any:
        metrics = run.get("metrics") or {}
        if metrics.get(key) is not None:
            return metrics[key]
        rows = metrics.get("leaderboard") or []
        return next((r.get(key) for r in rows if r.get("kind") == "model"), None)

    return read


def _verdict(run: dict[str, Any]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (run.get("metrics") or {}).get("verdict")
    return found


def _verdict_text(verdict: Any) -> str:
    from gapcast.cli.runs import verdict_cell

    if not verdict:
        return "–"
    return f"{verdict_cell(verdict)} ({verdict.get('baseline')})"


FIGURES = (
    Figure("status", lambda run: run.get("status"), None, str),
    Figure("MAE", _metric("mae")),
    Figure("RMSE", _metric("rmse")),
    Figure("MASE", _metric("mase")),
    Figure("sMAPE %", _metric("smape")),
    Figure("vs best baseline", _verdict, None, _verdict_text),
    Figure("epochs run", lambda run: run.get("epochs"), None),
    Figure("runtime", lambda run: run.get("runtime_s"), "min", duration),
    Figure("loss", lambda run: run.get("loss")),
    Figure("val loss", lambda run: run.get("val_loss")),
)


def parameters(run: dict[str, Any]) -> dict[str, Any]:
    """The run's configuration as flat ``name: value`` pairs, windows as resolved."""
    config = run.get("config") or {}
    flat: dict[str, Any] = {"dataset": run.get("dataset"), "model": config.get("model")}
    for key in ("target", "covariates", "future_covariates"):
        flat[key] = config.get(key)
    for key, value in sorted((config.get("training") or {}).items()):
        flat[f"training.{key}"] = value
    for key, value in sorted((config.get("hyperparameters") or {}).items()):
        flat[f"hyperparameters.{key}"] = value
    seen: dict[str, int] = {}
    for step in config.get("preprocessing") or []:
        name = str(step.get("step"))
        seen[name] = seen.get(name, 0) + 1
        prefix = name if seen[name] == 1 else f"{name}#{seen[name]}"
        for key, value in sorted(step.items()):
            if key != "step":
                flat[f"{prefix}.{key}"] = value
    metrics = run.get("metrics") or {}
    for key in ("lookback", "horizon"):
        if metrics.get(key) is not None:  # what the run resolved a None to
            flat[f"window.{key}"] = metrics[key]
    return flat


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return number(value)
    return json.dumps(value)


@dataclass(frozen=True)
class Comparison:
    run_ids: list[str]
    parameters: list[tuple[str, list[Any], bool]]  # name, values, differs
    figures: list[tuple[Figure, list[Any], int | None]]  # figure, values, index of the best


def compare(runs: Sequence[dict[str, Any]], *, every: bool = False) -> Comparison:
    """The table's rows: parameters (only the differing and key ones unless ``every``) and
    figures with the best run of each."""
    flats = [parameters(run) for run in runs]
    names = list(dict.fromkeys(name for flat in flats for name in flat))
    rows = []
    for name in names:
        values = [flat.get(name) for flat in flats]
        differs = len({json.dumps(v, sort_keys=True) for v in values}) > 1
        if every or differs or name in KEY_PARAMETERS:
            rows.append((name, values, differs))
    figures = []
    for figure in FIGURES:
        values = [figure.read(run) for run in runs]
        figures.append((figure, values, _best(values, figure.best)))
    return Comparison([str(r["id"]) for r in runs], rows, figures)


def _best(values: list[Any], direction: str | None) -> int | None:
    scored = [(v, i) for i, v in enumerate(values) if isinstance(v, int | float)]
    if direction is None or len(scored) < 2 or len({v for v, _ in scored}) == 1:
        return None
    return (min(scored) if direction == "min" else max(scored))[1]


def as_table(comparison: Comparison) -> Table:
    table = Table(title="parameters and figures (≠: differs between runs, ▲: best)")
    table.add_column("", no_wrap=True)
    for run_id in comparison.run_ids:
        table.add_column(run_id[:8], justify="right")
    for name, values, differs in comparison.parameters:
        label = Text(f"{DIFFERS} {name}" if differs else f"  {name}")
        style = "bold yellow" if differs else None
        table.add_row(label, *(_text(v) for v in values), style=style)
    table.add_section()
    for figure, values, best in comparison.figures:
        cells = [
            Text("▲ " + figure.show(v), style="bold green") if i == best else figure.show(v)
            for i, v in enumerate(values)
        ]
        table.add_row(figure.label, *cells)
    return table


def as_json(comparison: Comparison) -> dict[str, Any]:
    return {
        "runs": comparison.run_ids,
        "parameters": [
            {"name": name, "values": values, "differs": differs}
            for name, values, differs in comparison.parameters
        ],
        "figures": [
            {
                "name": figure.label,
                "values": values,
                "best": None if best is None else comparison.run_ids[best],
            }
            for figure, values, best in comparison.figures
        ],
    }
