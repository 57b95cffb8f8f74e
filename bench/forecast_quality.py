"""Forecast quality on the real-series suite: gapcast's defaults against baselines and peers.

For every series of ``bench/suite/`` (real data with real or documented outages), in one run:

- gapcast with its default configuration and no user choices (model "auto"), with the
  statsforecast baselines switched on so AutoETS and MSTL are scored beside naive and seasonal
  naive — all through gapcast's own backtest: fixed origins of the test part, each forecast from
  the history before it. The origins lie every step of the test part (``--stride 1``, a rolling
  origin). Origins a horizon apart, as the tables recorded before 6dc9a7f had them, left 7 on
  bike sharing's test part and 12 on demand's, and started at the same hour every day when the
  horizon is a day;
- the peers, fed the same grid (gaps as NaN) and forecasting the same origins: mlforecast +
  LightGBM and neuralforecast NHITS (``bench/peers.py``; the ``bench`` extra);
- a named-model run (``mlp``) for the time ratio of "auto" against one model;
- with ``--seeds N``, N - 1 more default runs with other training seeds, scored on the same
  origins beside the same baselines and peers: the spread of each ratio is the run's own noise,
  what a claim near 1 has to clear.

Every method is scored by ``gapcast.model_training.backtest.leaderboard`` on the same observed
points. Prints one table per series and a summary; ``--json PATH`` writes every figure.

    .venv/bin/python bench/forecast_quality.py                 # the whole suite
    .venv/bin/python bench/forecast_quality.py --series uk_demand_30min --no-peers
    .venv/bin/python bench/forecast_quality.py --seeds 3        # and the seed spread
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import gapcast
from gapcast.model_training import backtest as bt
from gapcast.model_training.backtest import Origins
from gapcast.processing.seasons import fitting_seasons
from gapcast.training_config import TrainingParams

STATS = ["autoets", "mstl"]
# Extra seeds are this far apart: a run's refit copies use seed, seed + 1, ... (training.ensemble),
# and runs whose copies shared seeds would not be independent draws.
SEED_STEP = 100


def split_start(pipeline_config: list[dict[str, Any]]) -> int:
    """The test part's first timestamp (ns) from the fitted split step."""
    split = next(s for s in pipeline_config if s["step"] == "split")
    return int(split["fitted"]["test_start_ns"])


def run_gapcast(frame: Any, config: dict[str, Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = gapcast.train(frame, config)
    return result, time.perf_counter() - started


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested dictionaries key by key."""
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both else value
    return out


def evaluate(
    series: Any,
    *,
    peers: bool,
    named: bool,
    extra: dict[str, Any] | None = None,
    seeds: int = 1,
) -> dict[str, Any]:
    from suite_data import to_grid

    print(
        f"\n== {series.name} ({series.freq}, {len(series.frame):,} rows, outages {series.outages})"
    )
    config = merged({"training": {"baselines": STATS}}, extra or {})
    result, auto_s = run_gapcast(series.frame, config)
    doc = json.loads(result.artifact("backtest").data)  # type: ignore[union-attr]
    grid_ts, values = to_grid(series)
    freq = int(result.run_info.freq_ns or 0)
    index = ((np.asarray(doc["origins"], dtype=np.int64) - grid_ts[0]) // freq).astype(np.int64)
    origins = Origins(index=index, after_outage=np.asarray(doc["after_outage"], dtype=bool))
    horizon = int(doc["horizon"])
    truth = bt.truth_at(values[None, :], origins.index, horizon)
    stored = np.asarray(doc["truth"], dtype=float)
    # Readings the run masked as glitches (mask_outliers) are scored for no method: every
    # method here is scored on the points the run scored, and the count is printed.
    masked = np.isfinite(truth) & np.isnan(stored)
    at = np.unique((origins.index[:, None] + np.arange(horizon))[masked[..., 0]])
    real = values[None, :].copy()
    real[0, at] = np.nan
    truth = bt.truth_at(real, origins.index, horizon)
    assert np.allclose(np.nan_to_num(truth), np.nan_to_num(stored)), "grids disagree"
    row_by = {r.method: r for r in result.metrics.leaderboard}
    forecasts: dict[str, tuple[str, str, Any, float | None]] = {}
    for key, f in doc["forecasts"].items():
        kind = "model" if key == "model" else "baseline"
        seconds = auto_s if key == "model" else row_by[key].seconds
        label = f"gapcast ({f['label']})" if key == "model" else f["label"]
        forecasts[key] = (label, kind, np.asarray(f["values"], dtype=float), seconds)
    if peers:
        import peers as peer_module

        fit_end = int((split_start(result.pipeline_config) - grid_ts[0]) // freq)
        # The peers get the frequency's usual cycles, confirmed by the data or not.
        seasons = [s.steps for s in fitting_seasons(freq, fit_end)]
        for name, run in (("lightgbm", peer_module.run_lightgbm), ("nhits", peer_module.run_nhits)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = run(
                    grid_ts,
                    values,
                    freq=series.freq,
                    seasons=seasons,
                    fit_end=fit_end,
                    origins=origins.index,
                    horizon=horizon,
                    seed=0,
                )
            label = {"lightgbm": "mlforecast + LightGBM", "nhits": "neuralforecast NHITS"}[name]
            forecasts[name] = (label, "peer", out.forecasts[..., None], out.fit_s + out.predict_s)
    scale = float(result.metrics.mae / result.metrics.mase) if result.metrics.mase else 1.0

    def ranked(model_forecast: Any) -> dict[str, Any]:
        """The leaderboard with ``model_forecast`` as gapcast's, everything else as above."""
        entries = dict(forecasts)
        label, kind, _, seconds = entries["model"]
        entries["model"] = (label, kind, model_forecast, seconds)
        return bt.leaderboard(
            real=real,
            origins=origins,
            horizon=horizon,
            forecasts={
                k: (lab, "baseline" if kind != "model" else "model", f, s)
                for k, (lab, kind, f, s) in entries.items()
            },
            scale=scale,
            stride=int(result.metrics.origin_stride),
        )

    board = ranked(forecasts["model"][2])
    kinds = {k: kind for k, (_, kind, _, _) in forecasts.items()}
    rows = board["leaderboard"]
    for row in rows:
        row["kind"] = kinds[row["method"]]
    model = next(r for r in rows if r["kind"] == "model")
    base = min((r for r in rows if r["kind"] == "baseline"), key=lambda r: r["mae"])
    peer_rows = [r for r in rows if r["kind"] == "peer"]
    best_peer = min(peer_rows, key=lambda r: r["mae"]) if peer_rows else None
    stats = [r for r in rows if r["method"] in STATS]
    out: dict[str, Any] = {
        "series": series.name,
        "freq": series.freq,
        "lookback": result.run_info.lookback,
        "horizon": horizon,
        "chosen": result.metrics.model_label,
        "origins": len(origins),
        "origins_after_outage": int(origins.after_outage.sum()),
        "points": board["points"],
        "glitches_unscored": int(at.size),
        "rows": rows,
        "vs_best_baseline": model["mae"] / base["mae"],
        "best_baseline": base["label"],
        "vs_best_stats": model["mae"] / min(r["mae"] for r in stats) if stats else None,
        "vs_best_peer": model["mae"] / best_peer["mae"] if best_peer else None,
        "best_peer": best_peer["label"] if best_peer else None,
        # The run's own verdict (against its baselines), and the same test against the best of
        # every method here, peers included: whether a ratio near 1 is more than the noise.
        "verdict": result.metrics.verdict.text,
        "verdict_vs_all": board["verdict"]["text"].replace(
            "the best baseline", "the best method here", 1
        ),
        "after_outage_vs_best_baseline": (
            model["mae_after_outage"] / base["mae_after_outage"]
            if model["mae_after_outage"] and base["mae_after_outage"]
            else None
        ),
        "auto_s": auto_s,
        "intervals": (
            result.metrics.intervals.model_dump(mode="json") if result.metrics.intervals else None
        ),
        "gap": result.gap_metrics.model_dump(mode="json") if result.gap_metrics else None,
    }
    if seeds > 1:
        out["seeds"] = [seed_figures(out, result)] + [
            seed_figures(out, r, ranked)
            for r in seed_runs(series.frame, config, seeds, doc["origins"])
        ]
    if named:
        # Same baselines as the auto run, so the ratio is the cost of the model choice alone.
        _, named_s = run_gapcast(series.frame, merged(config, {"model": "mlp"}))
        out["named_s"] = named_s
        out["auto_over_named"] = auto_s / named_s
    print_series(out)
    return out


def seed_runs(frame: Any, config: dict[str, Any], seeds: int, origins: list[int]) -> list[Any]:
    """``seeds - 1`` more default runs, training seeds SEED_STEP apart; each is checked to have
    been scored on the same origins as the first."""
    first = int(config.get("training", {}).get("seed", TrainingParams().seed))
    runs = []
    for k in range(1, seeds):
        # Scored beside the first run's baselines (``ranked``): their own statsforecast ones
        # would only repeat those, and MSTL forecasting from every step costs minutes.
        seeded = merged(config, {"training": {"seed": first + k * SEED_STEP, "baselines": []}})
        result, _ = run_gapcast(frame, seeded)
        doc = json.loads(result.artifact("backtest").data)
        assert doc["origins"] == origins, "another seed was scored on other origins"
        runs.append(result)
    return runs


def seed_figures(out: dict[str, Any], result: Any, ranked: Any = None) -> dict[str, Any]:
    """One seed's ratios (to the same best baseline and best peer as ``out``), its interval
    coverage and pinball loss (over the seasonal naive's, or the naive's without a season) and
    its gap classifier's F1 and AP."""
    if ranked is None:
        vs_base, vs_peer = out["vs_best_baseline"], out["vs_best_peer"]
    else:
        doc = json.loads(result.artifact("backtest").data)
        rows = ranked(np.asarray(doc["forecasts"]["model"]["values"], dtype=float))["leaderboard"]
        mae = {r["method"]: r["mae"] for r in rows}
        base = min(r["mae"] for r in out["rows"] if r["kind"] == "baseline")
        peers = [r["mae"] for r in out["rows"] if r["kind"] == "peer"]
        vs_base = mae["model"] / base
        vs_peer = mae["model"] / min(peers) if peers else None
    iv = result.metrics.intervals
    gap = result.gap_metrics
    return {
        "seed": int(result.config.training.seed),
        "chosen": result.metrics.model_label,
        # What the choice saw: the kept candidate's validation MAE (to check a choice between
        # configurations against the test MAE it led to).
        "val_mae": next((c.val_mae for c in result.metrics.candidates if c.selected), None),
        "vs_best_baseline": vs_base,
        "vs_best_peer": vs_peer,
        "coverage": iv.coverage if iv else None,
        "pinball_ratio": iv.pinball_ratio if iv else None,
        "gap_f1": gap.f1 if gap else None,
        "gap_ap": gap.average_precision if gap else None,
        "gap_auc": gap.roc_auc if gap else None,
    }


def spread(values: list[float | None]) -> str:
    """'min-max' of the known values ('–' when none)."""
    known = [v for v in values if v is not None]
    return f"{min(known):.3f}-{max(known):.3f}" if known else "–"


def fmt(value: float | None, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def print_series(out: dict[str, Any]) -> None:
    print(
        f"lookback {out['lookback']}, horizon {out['horizon']}, chosen: {out['chosen']}; "
        f"{out['origins']} origins ({out['origins_after_outage']} right after outages), "
        f"{out['points']:,} points"
    )
    if out.get("glitches_unscored"):
        print(
            f"{out['glitches_unscored']} test reading(s) masked by the run as glitches: "
            "scored for no method"
        )
    print(
        f"{'method':34s} {'kind':8s} {'MAE':>10s} {'after outage':>12s} {'MASE':>7s} {'time s':>8s}"
    )
    for r in out["rows"]:
        after = fmt(r["mae_after_outage"], ".4g")
        seconds = fmt(r["seconds"], ".1f")
        print(
            f"{r['label'][:34]:34s} {r['kind']:8s} {r['mae']:10.4g} {after:>12s} "
            f"{fmt(r['mase'], '.3f'):>7s} {seconds:>8s}"
        )
    print(
        f"gapcast / best baseline ({out['best_baseline']}): {out['vs_best_baseline']:.3f}"
        + (
            f"; / best peer ({out['best_peer']}): {out['vs_best_peer']:.3f}"
            if out["best_peer"]
            else ""
        )
        + (f"; / best statsforecast: {out['vs_best_stats']:.3f}" if out["vs_best_stats"] else "")
    )
    print(f"verdict: {out['verdict']}; against every method: {out['verdict_vs_all']}")
    if out.get("auto_over_named"):
        print(f"auto run {out['auto_s']:.0f} s = {out['auto_over_named']:.2f}x a named-model run")
    iv = out.get("intervals")
    if iv:
        reference = iv.get("pinball_reference") or "seasonal naive"
        print(
            f"P10-P90 interval: coverage {fmt(iv['coverage'])} (gappy history "
            f"{fmt(iv['coverage_gappy_history'])}, "
            f"complete {fmt(iv['coverage_complete_history'])}; lowest "
            f"{fmt(iv.get('coverage_worst_phase'))} at "
            f"{iv.get('coverage_worst_phase_at') or '–'}), "
            f"width {fmt(iv['width'], '.4g')}, pinball {fmt(iv['pinball'], '.4g')} vs "
            f"{reference}'s {fmt(iv['pinball_seasonal_naive'], '.4g')} ({fmt(iv['pinball_ratio'])})"
        )
        for b in iv.get("baselines") or []:
            print(
                f"  {b['label']}'s own P10-P90: coverage {fmt(b['coverage'])}, width "
                f"{fmt(b['width'], '.4g')}, pinball {fmt(b['pinball'], '.4g')} "
                f"({fmt(b['pinball_ratio'])} of the {reference}'s)"
            )
    gap = out.get("gap")
    if gap:
        for line in gap_lines(gap):
            print(line)
    for seed in out.get("seeds", []):
        print(
            f"seed {seed['seed']}: {seed['chosen']}; / best baseline "
            f"{seed['vs_best_baseline']:.3f}, / best peer {fmt(seed['vs_best_peer'])}, P10-P90 "
            f"coverage {fmt(seed['coverage'])}, gap F1 {fmt(seed['gap_f1'])} AP "
            f"{fmt(seed['gap_ap'])}"
        )


def _f(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def gap_lines(gap: dict[str, Any]) -> list[str]:
    """The gap classifier against its calendar baseline on the same steps: step-level scores
    (precision/recall/F1 at the thresholds chosen on validation), the window-level outage
    question, the verdict, and the issue's targets (AP and F1 at least the baseline's where the
    outages recur; ROC AUC never more than 0.02 below it)."""
    base = gap.get("baseline") or {}
    name = gap.get("baseline_name") or "hour-of-week rate"
    lines = [
        f"gap classifier ({gap.get('evaluation')}, {gap.get('positives')} gap steps, rate "
        f"{_f(gap.get('gap_rate'))}) vs the {name}: AP {_f(gap.get('average_precision'))} vs "
        f"{_f(base.get('average_precision'))}, F1 {_f(gap.get('f1'))} vs {_f(base.get('f1'))} "
        f"(P {_f(gap.get('precision'))}/{_f(base.get('precision'))}, R "
        f"{_f(gap.get('recall'))}/{_f(base.get('recall'))}, thresholds "
        f"{_f(gap.get('threshold'))}/{_f(base.get('threshold'))}), AUC "
        f"{_f(gap.get('roc_auc'))} vs {_f(base.get('roc_auc'))}, Brier {_f(gap.get('brier'))} "
        f"vs {_f(base.get('brier'))}"
    ]
    if gap.get("verdict"):
        lines.append(f"  verdict: {gap['verdict']['text']}")
    window = gap.get("window")
    if window:
        wb = window.get("baseline") or {}
        lines.append(
            f"  outage of {window['min_steps']}+ steps in the horizon ({window['positives']} of "
            f"{window['windows']} windows): AP {_f(window.get('average_precision'))} vs "
            f"{_f(wb.get('average_precision'))}, P {_f(window.get('precision'))} vs "
            f"{_f(wb.get('precision'))}, R {_f(window.get('recall'))} vs {_f(wb.get('recall'))}"
        )
    checks = []
    for key, label, slack in (("average_precision", "AP", 0.0), ("f1", "F1", 0.0)):
        if gap.get(key) is not None and base.get(key) is not None:
            ok = gap[key] >= base[key] - slack
            checks.append(f"{label} >= baseline {'yes' if ok else 'NO'}")
    if gap.get("roc_auc") is not None and base.get("roc_auc") is not None:
        ok = gap["roc_auc"] >= base["roc_auc"] - 0.02
        checks.append(f"AUC within 0.02 of baseline {'yes' if ok else 'NO'}")
    if checks:
        lines.append("  targets: " + ", ".join(checks))
    return lines


def stride_option(value: str) -> int | str:
    """``--stride``: a positive number of steps, or "run"."""
    if value == "run":
        return value
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise argparse.ArgumentTypeError(f"a positive number of steps or 'run', not {value!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", action="append", help="only these series (repeatable)")
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="run the held-out series (bench/held_out/) instead of the suite: no default was "
        "chosen on them",
    )
    parser.add_argument("--no-peers", action="store_true", help="skip LightGBM and NHITS")
    parser.add_argument("--no-named", action="store_true", help="skip the named-model timing run")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="default runs per series with different training seeds (the spread is printed)",
    )
    parser.add_argument(
        "--stride",
        type=stride_option,
        default="1",
        help="steps between the test part's origins: 1 (default) forecasts from every step, "
        "the field's rolling origin; 'run': a run's own default (every step up to 200 origins, "
        "then a stride that still visits every phase of the cycles). The tables recorded before "
        "6dc9a7f had origins a horizon apart (pass the horizon with --series to repeat one)",
    )
    parser.add_argument(
        "--config",
        type=json.loads,
        default={},
        help="JSON merged into gapcast's configuration (experiments; the recorded table uses none)",
    )
    args = parser.parse_args()
    from suite_data import load_held_out, load_suite

    series = load_held_out() if args.held_out else load_suite()
    chosen = [s for s in series if not args.series or s.name in args.series]
    if args.stride != "run":
        stride = {"training": {"origin_stride": args.stride}}
        args.config = merged(stride, args.config)
    results = [
        evaluate(
            s, peers=not args.no_peers, named=not args.no_named, extra=args.config, seeds=args.seeds
        )
        for s in chosen
    ]
    print("\n== summary: MAE ratio of gapcast's default run (< 1: gapcast better)")
    heads = ("/best baseline", "after outage", "/statsforecast", "/best peer", "auto/named")
    keys = (
        "vs_best_baseline",
        "after_outage_vs_best_baseline",
        "vs_best_stats",
        "vs_best_peer",
        "auto_over_named",
    )
    heads += ("P10-P90 cover", "lowest hour/day", "pinball/snaive", "stats cover", "pinball/stats")
    print(f"{'series':22s} " + " ".join(f"{h:>15s}" for h in heads))
    for r in results:
        iv = r.get("intervals") or {}
        # statsforecast's own intervals: the model whose pinball loss is lower, as for the MAE.
        theirs = [b for b in iv.get("baselines") or [] if b.get("pinball") is not None]
        stats = min(theirs, key=lambda b: b["pinball"]) if theirs else {}
        cells = [fmt(r.get(k)) for k in keys] + [
            fmt(iv.get("coverage")),
            fmt(iv.get("coverage_worst_phase")),
            fmt(iv.get("pinball_ratio")),
            fmt(stats.get("coverage")),
            fmt(iv["pinball"] / stats["pinball"] if stats and stats["pinball"] else None),
        ]
        print(f"{r['series']:22s} " + " ".join(f"{c:>15s}" for c in cells))
    if args.seeds > 1:
        print(f"\n== spread over {args.seeds} training seeds (min-max; the run's own noise)")
        heads = ("/best baseline", "/best peer", "P10-P90 cover", "pinball/snaive", "gap F1")
        heads += ("gap AP",)
        keys = ("vs_best_baseline", "vs_best_peer", "coverage", "pinball_ratio", "gap_f1", "gap_ap")
        print(f"{'series':22s} " + " ".join(f"{h:>15s}" for h in heads) + "  chosen")
        for r in results:
            runs = r["seeds"]
            cells = [spread([run[k] for run in runs]) for k in keys]
            chosen = "; ".join(sorted({run["chosen"] for run in runs}))
            print(f"{r['series']:22s} " + " ".join(f"{c:>15s}" for c in cells) + f"  {chosen}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
