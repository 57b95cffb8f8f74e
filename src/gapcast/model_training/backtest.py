"""Backtest on fixed origins: score every method like a user forecasts, and say who won.

Origins lie in the scored part every ``stride`` steps, chosen from the data alone — never from a
model's lookback — so every method, and every lookback, is scored on the same origins and the same
points. The default stride (:func:`default_stride`) visits every phase of the series' cycles: a
stride of one horizon, when the horizon is a day, forecast from the same hour every day, and a
model's gain at that hour is not its gain (sea temperature: 10% over naive from one hour, 2% over
the whole day). An origin counts when at least half of its horizon's target points
were really observed; filled points are never truth. Each method forecasts an origin from the
history before it only (the model through ``predict``'s own path, see ``ml_runner``).

The verdict compares the model with the *best* baseline on those points, and says "worse" when it
is: a report that flatters is worse than none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.model_training import paired_noise
from gapcast.processing.gaps import find_runs

F64 = NDArray[np.float64]
MIN_TRUTH = 0.5  # share of an origin's horizon that must have been observed
MIN_ORIGINS = 5  # below this the figures are noise
# Test origins at most with the default stride: every step of a short test part, and the stored
# backtest (every method's forecast at every origin, which the page reads) stays small.
MAX_ORIGINS = 200
OVERFIT_RATIO = 3.0  # final validation loss / training loss above this: a warning
# An interval covering this much less of the test part than its nominal share claims too much: a
# warning. The suite's ranges cover 77-81% at 80%; five held-out series' 62-73% (bench/README).
COVERAGE_SLACK = 0.1
# An hour of the day (a weekday) holds fewer points, and the lowest of 24 hours is picked, so its
# coverage is said only this far under: 50% for an 80% range (no suite series; M4 H10 and H150).
PHASE_COVERAGE_SLACK = 0.3


@dataclass(frozen=True)
class Origins:
    index: NDArray[np.int64]  # (n,) grid index of each origin's first forecast step
    after_outage: NDArray[np.bool_]  # (n,) a large gap ended (or goes on) just before it

    def __len__(self) -> int:
        return int(self.index.size)


def choose_origins(
    observed: NDArray[np.bool_],
    *,
    begin: int,
    end: int,
    horizon: int,
    stride: int,
    max_fill: int,
) -> Origins:
    """Origins ``begin, begin + stride, ...`` whose horizon fits before ``end`` and was at least
    half observed. ``observed`` (T,) is True where a target was measured; an origin is "after an
    outage" when a gap longer than ``max_fill`` steps touches its last ``horizon`` history steps.
    """
    seen = np.asarray(observed, dtype=bool)
    candidates = np.arange(max(begin, 1), end - horizon + 1, max(stride, 1), dtype=np.int64)
    counts = np.concatenate([[0], np.cumsum(seen, dtype=np.int64)])
    truth = (counts[candidates + horizon] - counts[candidates]) / horizon
    chosen = candidates[truth >= MIN_TRUTH]
    large = np.zeros(seen.size + 1, dtype=np.int64)
    starts, lengths = find_runs(~seen)
    keep = lengths > max_fill
    np.add.at(large, starts[keep], 1)
    np.add.at(large, starts[keep] + lengths[keep], -1)
    in_large = np.cumsum(large[:-1]) > 0
    marks = np.concatenate([[0], np.cumsum(in_large, dtype=np.int64)])
    window_start = np.maximum(chosen - horizon, 0)
    after = (marks[chosen] - marks[window_start]) > 0
    return Origins(index=chosen, after_outage=after)


def default_stride(steps: int, seasons: list[int]) -> int:
    """Steps between test origins when the run names none: every step of a test part of up to
    ``MAX_ORIGINS`` steps; past that the smallest stride that keeps ``MAX_ORIGINS`` origins and
    shares no factor with any season, so the origins still fall at every phase of each cycle."""
    stride = max(1, -(-steps // MAX_ORIGINS))
    while any(math.gcd(stride, s) > 1 for s in seasons if s > 1):
        stride += 1
    return stride


def truth_at(real: F64, origins: NDArray[np.int64], horizon: int) -> F64:
    """(n, horizon, k) observed values at each origin's forecast steps (NaN where unobserved)."""
    idx = np.asarray(origins)[:, None] + np.arange(horizon)[None, :]
    return np.moveaxis(np.asarray(real)[:, idx], 0, -1)


def _mean(values: F64) -> float | None:
    return float(values.mean()) if values.size else None


def score(
    truth: F64,
    forecast: F64,
    scored: NDArray[np.bool_],
    scale: float,
    after_outage: NDArray[np.bool_],
) -> dict[str, Any]:
    """MAE, RMSE, MASE, sMAPE, bias, MAE per lead time and MAE on after-outage origins."""
    err = forecast - truth
    e = err[scored]
    t, f = truth[scored], forecast[scored]
    mae = _mean(np.abs(e))
    denom = np.abs(t) + np.abs(f)
    ratio = np.divide(2 * np.abs(e), denom, out=np.zeros_like(e), where=denom > 0)
    lead_counts = scored.sum(axis=(0, 2))
    lead_sums = np.where(scored, np.abs(err), 0.0).sum(axis=(0, 2))
    by_lead = [float(s / c) if c else None for s, c in zip(lead_sums, lead_counts, strict=True)]
    outage_mask = scored & np.asarray(after_outage)[:, None, None]
    return {
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(e**2))) if e.size else None,
        "mase": mae / scale if mae is not None and np.isfinite(scale) and scale > 0 else None,
        "smape": float(100 * ratio.mean()) if e.size else None,
        "bias": _mean(e),
        "mae_by_lead": by_lead,
        "mae_after_outage": _mean(np.abs(err[outage_mask])),
    }


def _seasonal_errors(train_real: F64, season: int) -> F64 | None:
    """(k, T - season) |seasonal-naive error| on the training part, NaN at gaps; None when the
    part is no longer than the season."""
    v = np.asarray(train_real, dtype=np.float64)
    if v.shape[1] <= season:
        return None
    return np.asarray(np.abs(v[:, season:] - v[:, :-season]), np.float64)


def mase_scale(train_real: F64, season: int) -> float:
    """In-sample MAE of the seasonal-naive forecast on the training part (MASE's denominator);
    lag 1 when there is no season. NaN pairs (gaps) are skipped."""
    diff = _seasonal_errors(train_real, season)
    known = diff[np.isfinite(diff)] if diff is not None else np.zeros(0)
    return float(known.mean()) if known.size else float("nan")


def target_scales(train_real: F64, season: int) -> F64:
    """(k,) each target's own :func:`mase_scale` (NaN where it is undefined)."""
    diff = _seasonal_errors(train_real, season)
    if diff is None:
        return np.full(np.asarray(train_real).shape[0], np.nan)
    known = np.isfinite(diff)
    count = known.sum(axis=1)
    total = np.where(known, diff, 0.0).sum(axis=1)
    out: F64 = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def mae_by_target(abs_err: F64, scored: NDArray[np.bool_]) -> F64:
    """(k,) MAE of each target over its scored points of (n, horizon, k) errors (NaN: none)."""
    count = scored.sum(axis=(0, 1))
    total = np.where(scored, abs_err, 0.0).sum(axis=(0, 1))
    out: F64 = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def ranking_error(abs_err: F64, scored: NDArray[np.bool_], scales: F64 | None) -> float | None:
    """The error methods are ranked by and the verdict is taken on: the MAE for one target; for
    several, the mean over targets of each one's MAE relative to its own scale (its MASE). Errors
    in different units do not add up: a pooled MAE would be the largest-valued target's alone,
    and a model that failed the others would still read "better". A target whose scale is
    undefined (constant in the training part) is left out of the mean, unless all are."""
    if not scored.any():
        return None
    if abs_err.shape[-1] == 1 or scales is None:
        return float(abs_err[scored].mean())
    relative = mae_by_target(abs_err, scored) / np.asarray(scales, np.float64)
    usable = np.isfinite(relative)
    if not usable.any():
        return float(abs_err[scored].mean())
    return float(relative[usable].mean())


def _times(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def _ratio(model_mae: float, best_mae: float) -> float:
    """model / best; equal up to rounding counts as equal (1.0), so an exact model is not
    "better" than an exact baseline by a rounding error."""
    if np.isclose(model_mae, best_mae, rtol=1e-9, atol=1e-12):
        return 1.0
    return model_mae / best_mae if best_mae > 0 else float("inf")


def _percent(share: float) -> str:
    """A difference in percent: whole percents, one decimal under 1% (never "by 0%")."""
    return f"{100 * share:.1f}%" if share < 0.01 else f"{round(100 * share)}%"


def verdict(
    model_mae: float | None,
    best_label: str,
    best_mae: float | None,
    *,
    noise: float | None = None,
    compared: int = 0,
) -> dict[str, Any]:
    """Better or worse than the best baseline, by how much. ``better`` only when strictly so and,
    given ``noise`` (two standard errors of the paired per-origin difference over ``compared``
    origins, :mod:`paired_noise`), by more than it: a gain chance could give is "no better"."""
    if model_mae is None or best_mae is None:
        return {
            "better": False,
            "ratio": None,
            "baseline": best_label,
            "noise": None,
            "text": "not scored: no backtest origin had enough observed points",
        }
    ratio = _ratio(model_mae, best_mae)
    within = noise is not None and abs(best_mae - model_mae) <= noise
    noted = f", within noise on {compared} origins" if within else ""
    if ratio < 1 and not within:
        text = f"better than the best baseline ({best_label}) by {_percent(1 - ratio)}"
    elif ratio < 1:
        text = (
            f"no better than the best baseline ({best_label}): "
            f"{_percent(1 - ratio)} lower MAE{noted}"
        )
    elif ratio == 1:
        text = f"no better than the best baseline ({best_label})"
    elif ratio < 2:
        text = f"worse than the best baseline ({best_label}) by {_percent(ratio - 1)}{noted}"
    elif np.isfinite(ratio):
        text = f"worse than the best baseline ({best_label}) by {_times(ratio)}{noted}"
    else:
        text = f"worse than the best baseline ({best_label}), which is exact"
    return {
        "better": bool(ratio < 1 and not within),
        "ratio": float(ratio) if np.isfinite(ratio) else None,
        "baseline": best_label,
        "noise": noise,
        "text": text,
    }


def warnings_for(
    result: dict[str, Any], *, loss: float | None, val_loss: float | None
) -> list[dict[str, str]]:
    """The run's warnings: worse than a baseline, a validation loss far above the training loss,
    origins ``predict`` would refuse, too few origins to trust the figures."""
    out: list[dict[str, str]] = []
    v = result["verdict"]
    if v["ratio"] is not None and v["ratio"] < 1 and not v["better"]:
        # Ahead, but by less than chance gives: not a gain to claim, nor a loss to alarm about.
        out.append({"code": "no_better_than_baseline", "level": "warning", "message": v["text"]})
    elif not v["better"]:
        out.append({"code": "worse_than_baseline", "level": "error", "message": v["text"]})
    if loss is not None and val_loss is not None and loss > 0 and val_loss > OVERFIT_RATIO * loss:
        out.append(
            {
                "code": "validation_loss_high",
                "level": "warning",
                "message": f"the final validation loss ({val_loss:.3g}) is "
                f"{val_loss / loss:.1f}x the training loss ({loss:.3g}): the data moved, or "
                "the model overfits",
            }
        )
    refused = int(result.get("refused_origins") or 0)
    if refused:
        out.append(
            {
                "code": "refused_origins",
                "level": "warning",
                "message": f"{refused} of {result['origins']} backtest origin(s) follow an "
                "outage that leaves less than min_observed of the lookback observed: predict "
                "would refuse them, and the model is scored there on what it makes of the "
                "little history it has",
            }
        )
    ranges = result.get("intervals") or {}
    covered, level = ranges.get("coverage"), ranges.get("level")
    if covered is not None and level is not None and covered < level - COVERAGE_SLACK:
        # The band is a claim like the point forecast's verdict: one that held less often than
        # it says flatters the run unless said.
        bounds = ranges.get("quantiles") or [0.5 - level / 2, 0.5 + level / 2]
        lo, hi = bounds[0], bounds[-1]
        out.append(
            {
                "code": "intervals_under_cover",
                "level": "warning",
                "message": f"the P{100 * lo:g}–P{100 * hi:g} range held {covered:.0%} of the test "
                f"part's points, not {level:.0%}: the errors there were larger than on the "
                "validation part it was calibrated on; read the ranges as too narrow",
            }
        )
    worst, at = ranges.get("coverage_worst_phase"), ranges.get("coverage_worst_phase_at")
    if worst is not None and level is not None and worst < level - PHASE_COVERAGE_SLACK:
        bounds = ranges.get("quantiles") or [0.5 - level / 2, 0.5 + level / 2]
        out.append(
            {
                "code": "intervals_under_cover_at",
                "level": "warning",
                "message": f"at {at} the P{100 * bounds[0]:g}–P{100 * bounds[-1]:g} range held "
                f"{worst:.0%} of the test part's points, not {level:.0%}: the errors at that "
                "time were larger than the ranges drawn for it; read them as too narrow there",
            }
        )
    after = result.get("verdict_after_outage")
    if after is not None and after["ratio"] is not None and after["ratio"] > 1:
        # Where the data resumes is where this product should shine: said even within the noise.
        out.append(
            {
                "code": "worse_after_outages",
                "level": "warning",
                "message": f"right after outages ({result['origins_after_outage']} origins): "
                f"{after['text']}",
            }
        )
    if result["origins"] < MIN_ORIGINS:
        out.append(
            {
                "code": "few_origins",
                "level": "warning",
                "message": f"only {result['origins']} backtest origin(s) could be scored (fewer "
                f"than {MIN_ORIGINS}): the figures are noise",
            }
        )
    return out


def flatline_warnings(
    real: NDArray[np.float64],
    names: list[str],
    grid_ts: NDArray[np.int64],
    freq_ns: int,
    *,
    covariates: bool = False,
) -> list[dict[str, str]]:
    """Per target (``real``: (channels, T), NaN unobserved; with ``covariates``, per covariate)
    whose readings, changing nearly always, repeat one value for a day or more
    (:mod:`~gapcast.processing.flatlines`), or that reads one value throughout: said, not
    masked, since a sensor that stopped updating and a valve closed for days read alike."""
    import pandas as pd

    from gapcast.processing.flatlines import longest_flatline

    out = []
    for name, row in zip(names, real, strict=True):
        who = f"covariate {name!r}" if covariates else repr(name)
        seen = row[np.isfinite(row)]
        if seen.size > 1 and seen.min() == seen.max():
            meaning = (
                "it tells the model nothing (the wrong column?)"
                if covariates
                else "there is nothing to forecast but that value (the wrong column, or a "
                "sensor never connected?)"
            )
            out.append(
                {
                    "code": "constant_readings",
                    "level": "warning",
                    "message": f"{who} reads {seen[0]:g} at every one of its {seen.size} "
                    f"readings: {meaning}",
                }
            )
            continue
        flat = longest_flatline(row, freq_ns)
        if flat is None:
            continue
        first, last = (
            pd.Timestamp(int(grid_ts[i]), tz="UTC").isoformat() for i in (flat.start, flat.end)
        )
        more = f" ({flat.runs} such runs; this is the longest)" if flat.runs > 1 else ""
        out.append(
            {
                "code": "flat_readings",
                "level": "warning",
                "message": f"{who} repeats {flat.value:g} for {flat.readings} readings in a "
                f"row, from {first} to {last}{more}, where its readings otherwise change at "
                "nearly every step: a sensor that stopped updating? The model read them as "
                "readings (leave them out of the data to read them as an outage)",
            }
        )
    return out


def running_total_warnings(
    real: NDArray[np.float64], names: list[str], *, covariates: bool = False
) -> list[dict[str, str]]:
    """Per target (with ``covariates``, per covariate) that looks like a running total read as
    levels (never falls, but to start again from zero): a target's forecast is of a level that
    only climbs, and the use per step — what such a forecast is usually for — is its increase;
    a covariate's level mostly tells the model how much time has passed. Said, not changed,
    since a population count climbs too."""
    from gapcast.ingest.counters import total_hint

    out = []
    for name, row in zip(names, real, strict=True):
        use = "the use per step an input usually stands for" if covariates else None
        hint = total_hint(name, np.asarray(row, dtype=np.float64), use=use)
        if hint is None:
            continue
        meant = (
            "this run read its level, which mostly tells the model how much time has passed"
            if covariates
            else "this run forecast its level (its differences, pandas' .diff(), are the use)"
        )
        who = "covariate " if covariates else ""
        out.append(
            {"code": "running_total", "level": "warning", "message": f"{who}{hint}; {meant}"}
        )
    return out


def glitch_warnings(glitches: dict[str, tuple[int, int, float]]) -> list[dict[str, str]]:
    """What the mask_outliers step masked, per channel: said, since the run read past readings
    that are in the data (``TrainingData.glitches``)."""
    import pandas as pd

    out = []
    for name, (count, first_ns, value) in glitches.items():
        when = pd.Timestamp(first_ns, tz="UTC").isoformat()
        out.append(
            {
                "code": "glitches_masked",
                "level": "warning",
                "message": f"{count} reading(s) of {name!r} far from both neighbours were read "
                f"as glitches and masked (first {when}: {value:g}): the model did not read them "
                "and no forecast is scored on them (preprocessing step mask_outliers)",
            }
        )
    return out


def leaderboard(
    *,
    real: F64,
    origins: Origins,
    horizon: int,
    forecasts: dict[str, tuple[str, str, F64, float | None]],
    scale: float,
    stride: int,
    scales: F64 | None = None,
    targets: list[str] | None = None,
) -> dict[str, Any]:
    """Every method scored on the same points; rows sorted by :func:`ranking_error` (the MAE
    for one target); the verdict of ``"model"``.

    ``forecasts``: method key → (label, kind "model"/"baseline", forecasts (n, horizon, k),
    seconds). A point counts only when it was observed and every method forecast it.
    ``scales``: each target's MASE scale; with several targets the rows also carry each one's
    MAE (``mae_by_target``, named by ``targets``) and their MASE is the mean of theirs.
    """
    truth = truth_at(real, origins.index, horizon)
    scored = np.isfinite(truth)
    for _, _, f, _ in forecasts.values():
        scored &= np.isfinite(f)
    several = truth.shape[-1] > 1 and scales is not None
    names = targets or [str(i) for i in range(truth.shape[-1])]
    rows: list[dict[str, Any]] = []
    ranks: dict[str, float | None] = {}
    per_origin: dict[str, F64] = {}
    for key, (label, kind, f, seconds) in forecasts.items():
        row: dict[str, Any] = {"method": key, "label": label, "kind": kind, "seconds": seconds}
        row.update(score(truth, f, scored, scale, origins.after_outage))
        abs_err = np.abs(f - truth)
        ranks[key] = ranking_error(abs_err, scored, scales)
        per_origin[key] = paired_noise.origin_errors(abs_err, scored, scales if several else None)
        if several:
            row["mase"] = ranks[key]
            per = mae_by_target(abs_err, scored)
            row["mae_by_target"] = {
                n: float(v) if np.isfinite(v) else None for n, v in zip(names, per, strict=True)
            }
        rows.append(row)

    def rank(row: dict[str, Any]) -> tuple[bool, float]:
        value = ranks[row["method"]]
        return value is None, value if value is not None else 0.0

    rows.sort(key=rank)
    baselines = [r for r in rows if r["kind"] == "baseline" and ranks[r["method"]] is not None]
    best = baselines[0] if baselines else None
    model = next((r for r in rows if r["method"] == "model"), None)
    noise, compared = (
        paired_noise.margin(
            per_origin["model"],
            per_origin[best["method"]],
            lags=paired_noise.overlap_lags(horizon, stride),
        )
        if model and best
        else (None, 0)
    )
    return {
        "leaderboard": rows,
        "best_baseline": best["label"] if best else None,
        "verdict": verdict(
            ranks["model"] if model else None,
            best["label"] if best else "none",
            ranks[best["method"]] if best else None,
            noise=noise,
            compared=compared,
        ),
        "verdict_after_outage": None
        if several or model is None
        else _after_outage_verdict(
            model,
            baselines,
            per_origin,
            origins.after_outage,
            paired_noise.overlap_lags(horizon, stride),
        ),
        "origins": len(origins),
        "origins_after_outage": int(origins.after_outage.sum()),
        "origin_stride": stride,
        "points": int(scored.sum()),
    }


def _after_outage_verdict(
    model: dict[str, Any],
    baselines: list[dict[str, Any]],
    per_origin: dict[str, F64],
    after: NDArray[np.bool_],
    lags: int,
) -> dict[str, Any] | None:
    """The model against the best baseline on the origins right after outages alone (the best
    there, by its MAE on them): where a user's data resumes, the overall verdict can hide a
    model that does worse than yesterday's value. None without such origins."""
    after = np.asarray(after, dtype=bool)
    scored = [b for b in baselines if b.get("mae_after_outage") is not None]
    if not after.any() or model.get("mae_after_outage") is None or not scored:
        return None
    best = min(scored, key=lambda b: float(b["mae_after_outage"]))
    noise, compared = paired_noise.margin(
        per_origin["model"][after], per_origin[best["method"]][after], lags=lags
    )
    return verdict(
        float(model["mae_after_outage"]),
        best["label"],
        float(best["mae_after_outage"]),
        noise=noise,
        compared=compared,
    )


def run_backtest(
    data: Any,
    forecaster: Any,
    raw: Any,
    *,
    label: str,
    stride: int | None,
    stats_models: list[Any] | tuple[Any, ...] = (),
) -> tuple[dict[str, Any], Detail]:
    """The test backtest of a trained run: (figures, what the plot draws).

    ``data`` is the run's TrainingData, ``raw`` the series as loaded (the model forecasts each
    origin from its raw rows before it, through ``predict``'s own path). The origins do not
    depend on the model: at those where ``predict`` would refuse (less than ``min_observed`` of
    the lookback observed) the model is scored on what it makes of the history it has, and they
    are counted in ``refused_origins``.
    """
    from gapcast.model_training.baselines import make_baselines
    from gapcast.model_training.forecaster import history_batch

    val_start, test_start = data.split
    horizon = data.horizon
    fitting = data.baseline_seasons()
    cycles = {s.steps for s in fitting} | {data.mase_season}
    stride = stride or default_stride(len(data.grid_ts) - test_start, sorted(cycles))
    origins = choose_origins(
        data.observed,
        begin=test_start,
        end=len(data.grid_ts),
        horizon=horizon,
        stride=stride,
        max_fill=data.max_fill,
    )
    prepared = history_batch(forecaster, raw, data.grid_ts[origins.index])
    batch, recent = prepared if prepared is not None else (None, None)
    min_observed = data.pipeline.window.min_observed
    refused = int((batch.observed_fraction < min_observed).sum()) if batch is not None else 0
    k = len(data.targets)
    model_fc: F64 = np.zeros((0, horizon, k))
    quantiles: F64 | None = None
    if batch is not None:
        model_fc, quantiles = forecaster.forecast_with_quantiles(batch, recent)
    forecasts: dict[str, tuple[str, str, F64, float | None]] = {
        "model": (label, "model", model_fc, None)
    }
    confirmed = {s.steps for s in data.seasons}
    levels = tuple(forecaster.intervals.quantiles) if forecaster.intervals is not None else ()
    baseline_bands: dict[str, tuple[str, F64]] = {}
    for baseline in make_baselines(
        fitting,
        detected=[s for s in fitting if s.steps in confirmed],
        stats_models=stats_models,
        fit_end=test_start,
        horizon=horizon,
        quantiles=levels,
    ):
        fc = baseline.forecast(data.real, origins.index, horizon)
        forecasts[baseline.name] = (baseline.label, "baseline", fc, baseline.fit_s)
        bands = getattr(baseline, "bands", None)
        if bands is not None:
            baseline_bands[baseline.name] = (baseline.label, bands)
    season = data.mase_season
    result = leaderboard(
        real=data.real,
        origins=origins,
        horizon=horizon,
        forecasts=forecasts,
        scale=mase_scale(data.real[:, :val_start], season),
        stride=stride,
        scales=target_scales(data.real[:, :val_start], season),
        targets=list(data.targets),
    )
    result["season"] = season
    result["refused_origins"] = refused
    if quantiles is not None and batch is not None:
        result["intervals"] = interval_figures(
            data,
            forecaster.intervals,
            quantiles,
            origins,
            batch.observed_fraction,
            season,
            baseline_bands,
        )
    best = next((r["method"] for r in result["leaderboard"] if r["kind"] == "baseline"), None)
    detail = Detail(
        origins=origins,
        horizon=horizon,
        truth=truth_at(data.real, origins.index, horizon),
        forecasts={key: (label, f) for key, (label, _, f, _) in forecasts.items()},
        best=best,
        quantiles=(tuple(forecaster.intervals.quantiles), quantiles)
        if quantiles is not None
        else None,
    )
    return result, detail


def interval_figures(
    data: Any,
    intervals: Any,
    quantiles: F64,
    origins: Origins,
    observed_fraction: F64,
    season: int,
    baselines: dict[str, tuple[str, F64]] | None = None,
) -> dict[str, Any]:
    """Coverage, width and pinball loss of the model's quantiles on the backtest origins, the
    pinball loss of the seasonal naive's empirical quantiles on the same points, and their
    ratio (< 1: the model's ranges are better); then the same figures for the statsforecast
    models' own intervals (``baselines``: method → (label, (quantiles, n, horizon, k))), each
    scored on the model's points."""
    from gapcast.model_training.baselines import Naive, SeasonalNaive
    from gapcast.model_training.intervals import empirical_quantiles, interval_scores, pinball
    from gapcast.processing.seasons import Season

    levels = tuple(intervals.quantiles)
    horizon = data.horizon
    truth = truth_at(data.real, origins.index, horizon)
    scored = np.isfinite(truth) & np.isfinite(quantiles).all(axis=0)
    gappy = np.asarray(observed_fraction) < 1.0
    times = np.asarray(data.grid_ts)[origins.index[:, None] + np.arange(horizon)[None, :]]
    figures = interval_scores(truth, quantiles, levels, scored, gappy, times, data.freq_ns)
    # Named as the leaderboard names it: with no confirmed season the reference is the naive.
    named = next((s for s in data.baseline_seasons() if s.steps == season), None)
    reference = SeasonalNaive(named or Season(f"{season} steps", season)) if season > 1 else Naive()
    baseline = reference.forecast(data.real, origins.index, horizon)
    offsets = empirical_quantiles(data.real[:, : data.split[0]], season, horizon, levels)
    naive_q = baseline[None] + offsets[:, None]
    figures["pinball_seasonal_naive"] = pinball(truth, naive_q, levels, scored)
    figures["pinball_ratio"] = pinball_ratio(truth, quantiles, naive_q, levels, scored)
    figures["pinball_reference"] = reference.label
    figures["quantiles"] = list(levels)
    figures["gap_factor"] = intervals.gap_factor
    figures["baselines"] = []
    for method, (label, bands) in (baselines or {}).items():
        theirs = interval_scores(truth, bands, levels, scored, gappy)
        figures["baselines"].append(
            {
                "method": method,
                "label": label,
                "coverage": theirs["coverage"],
                "width": theirs["width"],
                "pinball": theirs["pinball"],
                "pinball_ratio": pinball_ratio(truth, bands, naive_q, levels, scored),
            }
        )
    return figures


def pinball_ratio(
    truth: F64, bands: F64, reference: F64, levels: tuple[float, ...], scored: NDArray[np.bool_]
) -> float | None:
    """Pinball loss of ``bands`` over the ``reference``'s, (quantiles, n, horizon, k) each; with
    several targets the mean of each target's ratio, as the leaderboard's mean MASE (a pooled
    loss would be the largest-valued target's). None where the reference's loss is 0 or
    unscored."""
    from gapcast.model_training.intervals import pinball

    ratios = []
    for j in range(truth.shape[-1]):
        mine = pinball(truth[..., j], bands[..., j], levels, scored[..., j])
        ref = pinball(truth[..., j], reference[..., j], levels, scored[..., j])
        if np.isfinite(mine) and np.isfinite(ref) and ref > 0:
            ratios.append(mine / ref)
    return float(np.mean(ratios)) if ratios else None


@dataclass(frozen=True)
class Detail:
    """Every method's forecast at every origin, as scored: what the plot draws and what the
    ``backtest`` artifact stores (the page and the quality benchmark read it)."""

    origins: Origins
    horizon: int
    truth: F64  # (n, horizon, k)
    forecasts: dict[str, tuple[str, F64]]  # method → (label, (n, horizon, k))
    best: str | None  # the best baseline's method key
    quantiles: tuple[tuple[float, ...], F64] | None = None  # the model's: levels, (q, n, h, k)

    def document(self, grid_ts: NDArray[np.int64], targets: list[str]) -> dict[str, Any]:
        """JSON-ready: origins as timestamps (ns), values with null where unknown."""

        def values(a: F64) -> list[Any]:
            return _nulls(np.asarray(a, dtype=np.float64).round(10))

        return {
            "horizon": self.horizon,
            # The grid step, so a reader can place every forecast step in time.
            "step_ns": int(grid_ts[1] - grid_ts[0]) if grid_ts.size > 1 else None,
            "targets": targets,
            "origins": grid_ts[self.origins.index].tolist(),
            "after_outage": self.origins.after_outage.tolist(),
            "best_baseline": self.best,
            "truth": values(self.truth),
            "forecasts": {
                key: {"label": label, "values": values(f)}
                for key, (label, f) in self.forecasts.items()
            },
            "quantiles": None
            if self.quantiles is None
            else {"levels": list(self.quantiles[0]), "values": values(self.quantiles[1])},
        }


def _nulls(a: F64) -> list[Any]:
    """Nested lists of ``a``'s values as Python floats, None where not finite (JSON has no NaN).
    One pass in numpy: a backtest's document holds every method's forecast at every origin."""
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()  # type: ignore[no-any-return]
