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
from gapcast.model_training.verdicts import verdict
from gapcast.processing.gaps import find_runs

F64 = NDArray[np.float64]
MIN_TRUTH = 0.5  # share of an origin's horizon that must have been observed
MIN_ORIGINS = 5  # below this the figures are noise
# Test origins at most with the default stride: every step of a short test part, and the stored
# backtest (every method's forecast at every origin, which the page reads) stays small.
MAX_ORIGINS = 200


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
    zone: str | None = None,
) -> tuple[dict[str, Any], Detail]:
    """The test backtest of a trained run: (figures, what the plot draws).

    ``data`` is the run's TrainingData, ``raw`` the series as loaded (the model forecasts each
    origin from its raw rows before it, through ``predict``'s own path). The origins do not
    depend on the model: at those where ``predict`` would refuse (less than ``min_observed`` of
    the lookback observed) the model is scored on what it makes of the history it has, and they
    are counted in ``refused_origins``. ``zone``: the zone the data was imported in, whose
    wall clock names the hour where the ranges held least.
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
        # Imported here: its module reads Origins and truth_at from this one.
        from gapcast.model_training.interval_backtest import interval_figures

        result["intervals"] = interval_figures(
            data,
            forecaster.intervals,
            quantiles,
            origins,
            batch.observed_fraction,
            season,
            baseline_bands,
            zone=zone,
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
