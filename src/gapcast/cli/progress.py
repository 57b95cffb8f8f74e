"""The live view of a run, shared by ``demo``, ``train`` and ``runs watch``, and its summary table.

Both read the server's messages as they arrive (plain dicts, see docs/protocol.md), so what the
command line shows is exactly what any other client of the WebSocket receives.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

STAGES = ("queued", "loading", "preparing", "gap_classifier", "training", "evaluating", "saving")
_MODEL_LABEL = {"forecaster": "forecaster", "gap_classifier": "gap classifier", "refit": "refit"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60} min"


def number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def candidate_epochs(candidate: dict[str, Any], unit: str = "") -> str:
    """A candidate's epochs (up to its best), or where successive halving stopped it: a pruned
    candidate's figures are those of a shorter training, which the table must not hide."""
    if candidate.get("pruned"):
        return f"stopped after {candidate.get('epochs_run')} epochs (pruned)"
    return number(candidate.get("epochs")) + unit


class RunDisplay:
    """A ``rich`` live display fed one message at a time with :meth:`update`.

    It shows the current stage, one epoch bar per model (the gap classifier's, each forecasting
    candidate's, then the chosen one's refit) with the latest loss and the server's ETA, and
    prints a line for each stage change, the gap report, each candidate's validation score and
    log messages above the bars, so the scroll-back tells the story.
    """

    def __init__(self, console: Console, run_id: str) -> None:
        self.console = console
        self.run_id = run_id
        self.stage = "queued"
        self.started = time.monotonic()
        self.gaps: dict[str, Any] | None = None
        self.terminal: dict[str, Any] | None = None
        self.progress = Progress(
            TextColumn("  {task.description:<17}"),
            BarColumn(bar_width=32),
            TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("val {task.fields[val_loss]}"),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
            auto_refresh=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._live = Live(self, console=console, refresh_per_second=8, transient=False)

    def __enter__(self) -> RunDisplay:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)
        if not self.console.is_terminal:
            # Off a terminal, rich leaves the last status line open; an error printed next
            # would run on from it ("elapsed 5.8 srun failed").
            self.console.line()

    def __rich__(self) -> RenderableType:
        elapsed = duration(time.monotonic() - self.started)
        if self.terminal is not None:
            where = Text(str(self.terminal.get("status", "")), "bold")
        else:
            index = STAGES.index(self.stage) + 1 if self.stage in STAGES else 0
            where = Text.assemble(
                ("stage ", "dim"),
                (f"{index}/{len(STAGES)} ", "dim"),
                (self.stage.replace("_", " "), "bold cyan"),
            )
        header = Text.assemble(
            ("run ", "dim"), (self.run_id[:8], "bold"), "  ", where, ("  elapsed ", "dim"), elapsed
        )
        if self.gaps is not None:
            header.append(f"  gaps {self.gaps['gaps']} ({self.gaps['large']} large)", "dim")
        return Group(header, self.progress) if self._tasks else header

    def update(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "status":
            self._on_status(event)
        elif kind == "progress":
            self._on_progress(event)
        elif kind == "gaps":
            self._on_gaps(event)
        elif kind == "candidate":
            self.console.print(
                f"  candidate [bold]{event.get('label')}[/]: {validation_score(event)} "
                f"{number(event.get('val_mae'))} ({candidate_epochs(event, ' epochs')}, "
                f"{duration(event.get('seconds'))})",
                highlight=False,
            )
        elif kind == "log":
            style = "yellow" if event.get("level") == "warning" else "dim"
            self.console.print(f"  [{style}]{event.get('message', '')}[/]", highlight=False)
        elif kind in ("done", "error"):
            self.terminal = event
            for task in self._tasks.values():
                if event.get("status") == "succeeded":
                    self.progress.update(task, completed=self.progress.tasks[task].total)
        self._live.refresh()

    def _on_status(self, event: dict[str, Any]) -> None:
        self.stage = str(event.get("stage", self.stage))
        note = f" — {event['message']}" if event.get("message") else ""
        self.console.print(
            f"[green]•[/] {self.stage.replace('_', ' ')}{note}  "
            f"[dim]{duration(time.monotonic() - self.started)}[/]",
            highlight=False,
        )

    def _on_gaps(self, event: dict[str, Any]) -> None:
        self.gaps = event
        observed = float(event.get("observed_fraction", 1.0)) * 100
        classifier = "a gap classifier will be trained" if event.get("gap_classifier") else ""
        self.console.print(
            f"  gaps found: [bold]{event['gaps']}[/] ({event['small']} small; "
            f"{event['large']} large), {event['missing_points']} missing points, "
            f"{observed:.1f}% observed" + (f" — {classifier}" if classifier else ""),
            highlight=False,
        )

    def _on_progress(self, event: dict[str, Any]) -> None:
        model = str(event.get("model", "forecaster"))
        if model == "forecaster" and event.get("phase") == "refit":
            model = "refit"
        elif model == "forecaster" and event.get("candidate"):
            model = str(event["candidate"])
        epochs = int(event["epochs"])
        epoch = int(event["epoch"])
        batch, batches = event.get("batch"), event.get("batches")
        done = epoch if batch is None or not batches else epoch - 1 + int(batch) / int(batches)
        fields: dict[str, Any] = {
            "epoch": epoch,
            "epochs": epochs,
            "loss": number(event.get("loss")),
            "eta": duration(event.get("eta_s")) if event.get("eta_s") is not None else "–",
        }
        if event.get("val_loss") is not None:
            fields["val_loss"] = number(event.get("val_loss"))
        if model not in self._tasks:
            label = _MODEL_LABEL.get(model, model)
            self._tasks[model] = self.progress.add_task(
                label, total=epochs, **{"val_loss": "–", **fields}
            )
        self.progress.update(self._tasks[model], completed=done, total=epochs, **fields)


SCORE_COLUMNS = (
    ("MAE", "mae"),
    ("RMSE", "rmse"),
    ("MASE", "mase"),
    ("sMAPE %", "smape"),
    ("bias", "bias"),
)


def score_cells(row: dict[str, Any], targets: list[str]) -> list[Any]:
    """A leaderboard row's figures under the table's headers (see summary_table)."""
    if targets:
        per = row.get("mae_by_target") or {}
        return [*(per.get(t) for t in targets), row.get("mase"), row.get("smape")]
    return [row.get(k) for _, k in SCORE_COLUMNS]


def summary_table(result: dict[str, Any], *, title: str = "result") -> RenderableType:
    """The backtest leaderboard (the model and every baseline on the same origins, best first),
    the run's figures and, when one was trained, the gap classifier against its baseline."""
    metrics = result.get("metrics") or {}
    rows = metrics.get("leaderboard") or []
    stride = metrics.get("origin_stride")
    where = (
        f"backtest: {metrics.get('origins', 0)} origins of the test part"
        + (f", every {stride} steps" if stride else "")
        + f", {metrics.get('points', 0):,} observed points"
    )
    table = Table(title=f"{title} — {where}", title_justify="left")
    # Several targets: errors in different units do not add up, so each target's MAE has its own
    # column and the rows are ranked by their mean MASE (no pooled MAE, RMSE or bias).
    targets = list((rows[0].get("mae_by_target") or {}) if rows else {})
    headers = (
        [f"MAE {t}" for t in targets] + ["MASE (mean)", "sMAPE %"]
        if targets
        else [label for label, _ in SCORE_COLUMNS]
    )
    outage = bool(metrics.get("origins_after_outage")) and not targets
    table.add_column("method", justify="left")
    for label in headers:
        table.add_column(escape(label), justify="right")
    if outage:
        table.add_column("MAE after outages", justify="right")
    for row in rows:
        is_model = row.get("kind") == "model"
        cells = [
            ("▶ " if is_model else "  ") + str(row.get("label")),
            *(number(v) for v in score_cells(row, targets)),
        ]
        if outage:
            cells.append(number(row.get("mae_after_outage")))
        table.add_row(*cells, style="bold" if is_model else None)
    extra = []
    if metrics.get("lookback") is not None:
        season = metrics.get("reference_season")
        extra.append(
            (
                "window",
                f"lookback {metrics['lookback']}, horizon {metrics['horizon']}, "
                + (
                    "naive reference (last value)"
                    if season == 1
                    else f"seasonal reference {season} steps"
                    if season
                    else "no reference"
                ),
            )
        )
    extra += [
        ("epochs", number(result.get("epochs"))),
        ("runtime", duration(result.get("runtime_s"))),
        ("loss / val", f"{number(result.get('loss'))} / {number(result.get('val_loss'))}"),
    ]
    intervals = metrics.get("intervals")
    if intervals:
        extra.append(("forecast range", interval_summary(intervals)))
    if metrics.get("refused_origins"):
        extra.append(
            (
                "thin histories",
                f"{metrics['refused_origins']} origins below min_observed (predict refuses them)",
            )
        )
    # Beside the scores, not in their columns: a sentence squeezed under "MAE" wraps a word a line
    # in an 80-column terminal or CI log.
    details = Table.grid(padding=(0, 2))
    details.add_column(style="dim", no_wrap=True)
    details.add_column()
    for label, value in extra:
        details.add_row(label, value)
    parts: list[RenderableType] = [table, details]
    candidates = metrics.get("candidates") or []
    if len(candidates) > 1:
        cands = Table(title="candidates (validation origins)", title_justify="left")
        # Several targets: candidates are chosen by their mean MASE (see the leaderboard).
        score = "val MASE (mean)" if targets else "val MAE"
        for column in ("candidate", score, "epochs", "time"):
            cands.add_column(column, justify="left" if column == "candidate" else "right")
        for c in candidates:
            mark = "▶ " if c.get("selected") else "  "
            noise = " (lag within noise)" if c.get("within_noise") else ""
            cands.add_row(
                mark + str(c.get("label")) + noise,
                number(c.get("val_mae")),
                f"{c.get('epochs_run')}, pruned" if c.get("pruned") else candidate_epochs(c),
                duration(c.get("seconds")),
                style="bold" if c.get("selected") else None,
            )
        notes = []
        if any(c.get("pruned") for c in candidates):
            # The pruned rows' figures come from a shorter training than the others'.
            notes.append("pruned: stopped after that many epochs by successive halving")
        if any(c.get("within_noise") for c in candidates):
            # Otherwise a lower val MAE left unchosen reads as a bug.
            notes.append(
                "lag within noise: ahead of the candidates without the lag by less than chance "
                "explains on the validation origins, so never chosen"
            )
        if notes:
            cands.caption = "\n".join(notes)
            cands.caption_justify = "left"
        parts.append(cands)
    gap = result.get("gap_metrics")
    if gap:
        parts.append(gap_table(gap))
    return Group(*parts)


def validation_score(event: dict[str, Any]) -> str:
    """What a candidate event's ``val_mae`` is: several targets are compared by mean MASE."""
    return "validation MASE (mean)" if event.get("score") == "mean_mase" else "validation MAE"


def percent(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.0f}%"


def interval_summary(intervals: dict[str, Any]) -> str:
    """'P10–P90 covers 81% (nominal 80%; histories with gaps 76%; 71% at 12:00 UTC, its lowest),
    mean width 3.2, pinball 0.62x the seasonal naive's; AutoETS's own covers 74%, pinball 0.70x'
    (a statsforecast baseline's own intervals on the same points, where the run asked for one)."""
    q = intervals.get("quantiles") or []
    name = f"P{100 * q[0]:g}–P{100 * q[-1]:g}" if len(q) > 1 else "interval"
    gappy = intervals.get("coverage_gappy_history")
    worst, at = intervals.get("coverage_worst_phase"), intervals.get("coverage_worst_phase_at")
    ratio = intervals.get("pinball_ratio")
    # Runs stored before the reference was named compared with the seasonal naive or the naive.
    reference = intervals.get("pinball_reference") or "seasonal naive"
    return (
        f"{name} covers {percent(intervals.get('coverage'))} (nominal "
        f"{percent(intervals.get('level'))}"
        + (f"; histories with gaps {percent(gappy)}" if gappy is not None else "")
        + (f"; {percent(worst)} at {at}, its lowest" if worst is not None else "")
        + f"), mean width {number(intervals.get('width'))}"
        + (f", pinball {ratio:.2f}x the {reference}'s" if ratio is not None else "")
        + "".join(
            f"; {b['label']}'s own covers {percent(b.get('coverage'))}"
            + (f", pinball {b['pinball_ratio']:.2f}x" if b.get("pinball_ratio") is not None else "")
            for b in intervals.get("baselines") or []
        )
    )


def gap_table(gap: dict[str, Any]) -> RenderableType:
    """The gap classifier's scores beside its calendar baseline's, its verdict and the
    window-level outage question."""
    if not gap.get("gap_rate"):
        # Precision and recall of "no gap anywhere" are 0/0: say so rather than print zeros. A
        # run that recorded its positives also looked beyond the test part (blocked CV).
        where = "the test part has" if gap.get("positives") is None else "the series has"
        return Text(f"gap classifier: trained, but {where} no gaps to score it on", style="dim")
    gaps = Table(title=f"gap classifier ({gap_evaluation(gap)})", title_justify="left")
    gaps.add_column("score", style="bold")
    gaps.add_column("model", justify="right")
    gaps.add_column(str(gap.get("baseline_name") or "hour-of-week rate"), justify="right")
    base = gap.get("baseline") or {}
    rows = (
        ("precision", "precision"),
        ("recall", "recall"),
        ("f1", "F1"),
        ("roc_auc", "ROC AUC"),
        ("average_precision", "average precision"),
        ("brier", "Brier score"),
        ("threshold", "threshold"),
    )
    for key, label in rows:
        if key in ("precision", "recall", "f1", "roc_auc") or gap.get(key) is not None:
            gaps.add_row(label, number(gap.get(key), 3), number(base.get(key), 3))
    gaps.add_row("gap rate", number(gap.get("gap_rate"), 3))
    if gap.get("positives") is not None:
        gaps.add_row("gap steps scored", f"{gap['positives']:,} in {gap['samples']:,} windows")
    parts: list[RenderableType] = [gaps]
    line = gap_verdict_line(gap)
    if line is not None:
        parts.append(Text.from_markup(line))
    window = gap.get("window")
    if window:
        parts.append(Text(outage_line(window, str(gap.get("baseline_name") or "baseline"))))
    return Group(*parts)


def gap_verdict_line(gap: dict[str, Any]) -> str | None:
    """'✓ gap classifier: better than the hour-of-week rate by 40% (...)'; ✓ only when better."""
    v = gap.get("verdict")
    if not v:
        return None
    mark = "[green]✓[/]" if v.get("better") else "[yellow]–[/]"
    return f"{mark} gap classifier: {v.get('text')}"


def outage_line(window: dict[str, Any], baseline_name: str) -> str:
    """The window-level question in one sentence, with the baseline's answer beside it."""
    base = window.get("baseline") or {}
    if window.get("positives") == 0:
        # Precision and recall of a question never answered yes are not 0 but unknown.
        return (
            f"outage of {window.get('min_steps')}+ steps within the horizon: none in the "
            f"{window.get('windows')} windows scored, so nothing to score that question on"
        )
    return (
        f"outage of {window.get('min_steps')}+ steps within the horizon "
        f"({window.get('positives')} of {window.get('windows')} windows): "
        f"average precision {number(window.get('average_precision'), 3)} vs "
        f"{number(base.get('average_precision'), 3)} ({baseline_name}), precision "
        f"{number(window.get('precision'), 3)}, recall {number(window.get('recall'), 3)}"
    )


def gap_evaluation(gap: dict[str, Any]) -> str:
    """Where the gap classifier's figures come from, in words."""
    if gap.get("evaluation") == "blocked_cv":
        return (
            f"blocked cross-validation, {gap.get('folds')} blocks of the whole series: "
            "the test part has too few gaps"
        )
    return "test part"


def verdict(result: dict[str, Any]) -> tuple[str, bool] | None:
    """The run's verdict against the best baseline: (sentence, better). None when unscored."""
    v = (result.get("metrics") or {}).get("verdict")
    if not v:
        return None
    return str(v["text"]), bool(v["better"])


def verdict_line(result: dict[str, Any]) -> str | None:
    """The verdict as the command line prints it: a green ✓ only when the model is better, an
    amber ≈ when it is ahead by less than the noise, a red ✗ otherwise."""
    found = verdict(result)
    if found is None:
        return None
    text, better = found
    label = (result.get("metrics") or {}).get("model_label") or "the model"
    if better:
        return f"[green]✓[/] {label}: {text}"
    ratio = result["metrics"]["verdict"].get("ratio")
    if ratio is not None and ratio < 1:
        return f"[yellow]≈[/] {label}: {text}"
    return f"[bold red]✗[/] {label}: {text}"


def warning_lines(result: dict[str, Any]) -> list[str]:
    """Each stored warning, red for errors and amber (yellow) for the others."""
    out = []
    for w in (result.get("metrics") or {}).get("warnings") or []:
        style = "red" if w.get("level") == "error" else "yellow"
        out.append(f"[{style}]warning:[/] {w.get('message')}")
    return out
