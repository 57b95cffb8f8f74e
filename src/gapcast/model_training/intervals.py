"""Forecast intervals: split-conformal quantiles per lead time, for any model.

The model's residuals on the validation origins (every step of the validation part, forecast by
the candidate trained on the training part only, so they are out of sample) are expressed
relative to each window's spread — a volatile window gets a wider interval than a calm one — and
their empirical quantiles per lead time become offsets around the point forecast (conformal
prediction with a normalised score, as in Lei et al. 2018 and the "conformalised" quantiles of
neuralforecast and Darts). Offsets widen monotonically with the lead time, so quantiles never
cross and the interval never narrows further ahead (in units of the phase spread below, where
there is one: a calm hour ahead then gets a narrower range than a busy hour before it).

The validation part is one stretch of the series: the test part (and a user's tomorrow) can be
calmer or wilder. So the width also follows how well the intervals *recently* covered, as Darts'
conformal models do with a rolling ``cal_length`` and adaptive conformal inference does online:
at a forecast, the model is run on up to ``RECENT_ORIGINS`` origins of the ``recent_steps``
before it whose truth is already in the history, and the offsets are scaled by the factor that
would have made the interval cover the nominal share of those origins' points (within [1/4, 4]):
split conformal's own rule, on the recent stretch, with the calibrated offsets as the shape.
Each recent error counts in its own window's units, as the calibration's do, so a forecast's
width also follows the spread of its own lookback. (It replaced a factor matching the recent
errors' *mean size* to the calibration's, in each window's units at first and then in real units;
the last left bike sharing at 65% coverage from every step of its test part and demand at the
edge of 75%: bench/README.md, "Recent coverage".) With a history too short to hold such origins
(a user passing just the lookback) the factor is 1: the static calibration.

Histories with gaps get their own measured factor: the offsets are multiplied by the factor that
makes the validation origins whose lookback had gaps reach the nominal coverage (1 when they do
already, or when there were too few such origins to measure it). Few such origins is the common
case — a daily series has a few dozen — so the factor is read at split conformal's finite-sample
level, ceil((n + 1) x nominal) / n of the n origins, not at the nominal one: the fewer origins,
the more room, and the coverage it promises holds for any n (Lei et al. 2018, Theorem 2.2). On
bike sharing (22 such origins) that took the one test origin with a gap in its lookback from 3
to 11 of 14 points covered (bench/README.md).

A series whose errors are larger at some times of the day or week than at others (counts at
their busy hours, a load at its peaks) has its errors divided by the spread of the phase they
fell on before any of the above, and its offsets multiplied back by the spread of the phase they
are drawn for (:mod:`~.phase_scale`): the ranges widen at the peaks and narrow at night instead
of being right only on average.

What the intervals need besides the ``.keras`` model is this small JSON document, kept in the
stored pipeline document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.model_training.phase_scale import PhaseScale
from gapcast.processing._time import wall_clock

F64 = NDArray[np.float64]
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
# Offsets come from complete histories only when there are this many (else from all origins).
MIN_COMPLETE_ORIGINS = 30
# A gap factor is measured from this many origins with gaps in their lookback (else 1.0, "not
# measured"): at 10 the finite-sample level of an 80% interval is the 9th of 10.
MIN_GAPPY_ORIGINS = 10
# The recent stretch the coverage is measured on, in horizons: long enough to hold a few cycles
# of most series' main season, short enough to follow a change of regime. On the quality suite
# (three seeds) 8 put all five series within 75-85% coverage; 4 made glucose's pinball loss 5%
# worse, 16 took sea temperature to 84% (bench/README.md, "Recent coverage").
RECENT_HORIZONS = 8
RECENT_ORIGINS = 32  # sampled evenly from that stretch: bounded work per forecast
RECENT_CLIP = 4.0  # the recent coverage moves the width by at most this factor either way


@dataclass(frozen=True)
class Intervals:
    """Offsets (quantiles x horizon x targets) in window-relative units around the forecast."""

    quantiles: tuple[float, ...]
    offsets: F64
    gap_factor: float
    calibration_origins: int
    gappy_origins: int
    # Mean absolute calibration residual around the median offset, per target: how large the
    # errors the offsets came from were. None in documents stored before the recent rescaling,
    # whose intervals stay static as they were stored.
    error_scale: F64 | None = None
    # The spread of each phase of the day or week, which the offsets were calibrated in units of
    # (None: the same at every phase; absent from documents stored before).
    phase: PhaseScale | None = None

    @property
    def median(self) -> F64:
        """(horizon, k) the median offset (0 without a 0.5 quantile)."""
        if 0.5 in self.quantiles:
            return np.asarray(self.offsets[self.quantiles.index(0.5)], dtype=np.float64)
        return np.zeros(self.offsets.shape[1:])

    def recent_steps(self, horizon: int) -> int:
        """Grid steps of history before the lookback that the recent coverage is measured on."""
        return RECENT_HORIZONS * horizon if self.error_scale is not None else 0

    def spread(self, target_ts: NDArray[np.int64] | None) -> F64 | float:
        """(n, horizon, k) the phase spread at each forecast step ``target_ts`` (n, horizon), in
        which the offsets are calibrated; 1.0 without a phase profile or times."""
        if self.phase is None or target_ts is None:
            return 1.0
        return self.phase.at(target_ts)

    def recent_factor(
        self,
        residuals: F64,
        observed_fraction: F64 | None = None,
        target_ts: NDArray[np.int64] | None = None,
    ) -> F64:
        """(k,) how much wider the interval gets from the model's relative residuals (n, horizon,
        k) at origins just before a forecast, each in its own window's units: the nominal-level
        quantile of the factors each of their points needed to fall inside the outer interval
        that origin was given (:func:`needed_factors`; the gap factor already widened those whose
        ``observed_fraction`` (n,) was under 1, the phase spread at their ``target_ts`` (n,
        horizon) those at busy phases), within [1/RECENT_CLIP, RECENT_CLIP]; 1 per target
        with fewer than two horizons of known residuals, without an outer interval (fewer than two
        quantiles) or without a stored ``error_scale``."""
        r = np.asarray(residuals, dtype=np.float64)
        k = self.offsets.shape[2]
        if self.error_scale is None or r.size == 0 or len(self.quantiles) < 2:
            return np.ones(k)
        r = r / self.spread(target_ts)
        need = needed_factors(r, self.offsets[:, : r.shape[1]], self.quantiles)
        if observed_fraction is not None:
            gappy = np.asarray(observed_fraction) < 1.0
            need = need / np.where(gappy, self.gap_factor, 1.0)[:, None, None]
        level = self.quantiles[-1] - self.quantiles[0]
        out = np.ones(k)
        for j in range(k):
            known = need[..., j][np.isfinite(need[..., j])]
            if known.size >= 2 * r.shape[1]:
                factor = float(np.quantile(known, level))
                out[j] = np.clip(factor, 1 / RECENT_CLIP, RECENT_CLIP)
        return out

    def relative(
        self,
        point: F64,
        observed_fraction: F64,
        recent: F64 | None = None,
        target_ts: NDArray[np.int64] | None = None,
    ) -> F64:
        """(quantiles, n, horizon, k) in window-relative units, from the point forecast (n,
        horizon, k) in those units, the observed fraction (n,) of each window's lookback, the
        recent factors (n, k) from :meth:`recent_factor` (none: 1) and the forecast steps' times
        ``target_ts`` (n, horizon), whose phase spread the offsets are multiplied by."""
        factor = np.where(np.asarray(observed_fraction) < 1.0, self.gap_factor, 1.0)
        scale = factor[:, None, None] * np.ones((1, 1, self.offsets.shape[2]))
        if recent is not None:
            scale = scale * np.asarray(recent, dtype=np.float64)[:, None, :]
        spread = self.spread(target_ts)
        median = self.median
        # Widened around the median offset, so the median itself never moves with the width.
        return np.stack(
            [point + (median + (offset - median) * scale) * spread for offset in self.offsets]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "split-conformal, window-relative residuals per lead time, rescaled to the "
            "recent coverage",
            "quantiles": list(self.quantiles),
            "offsets": self.offsets.tolist(),
            "gap_factor": self.gap_factor,
            "calibration_origins": self.calibration_origins,
            "gappy_origins": self.gappy_origins,
            "error_scale": None if self.error_scale is None else self.error_scale.tolist(),
        } | ({} if self.phase is None else {"phase_scale": self.phase.to_dict()})

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Intervals:
        scale = doc.get("error_scale")
        return cls(
            quantiles=tuple(float(q) for q in doc["quantiles"]),
            offsets=np.asarray(doc["offsets"], dtype=np.float64),
            gap_factor=float(doc["gap_factor"]),
            calibration_origins=int(doc["calibration_origins"]),
            gappy_origins=int(doc["gappy_origins"]),
            error_scale=None if scale is None else np.asarray(scale, dtype=np.float64),
            phase=PhaseScale.from_dict(doc["phase_scale"]) if doc.get("phase_scale") else None,
        )


def isotonic(values: F64) -> F64:
    """The non-decreasing sequence closest to ``values`` in least squares (pool adjacent
    violators): where a later lead's estimate dips below an earlier one, both become their mean,
    instead of the later one being lifted to the earlier one's noise."""
    blocks: list[list[float]] = []  # [mean, count]
    for v in np.asarray(values, dtype=np.float64):
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, c2 = blocks.pop()
            m1, c1 = blocks.pop()
            blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
    return np.concatenate([np.full(int(c), m) for m, c in blocks])


def _monotone(offsets: F64, quantiles: tuple[float, ...]) -> F64:
    """Quantiles sorted at every step, and the upper (lower) ones never shrinking (growing) along
    the lead time: an interval that narrows further ahead is sampling noise."""
    out = np.sort(offsets, axis=0)
    for i, q in enumerate(quantiles):
        for j in range(out.shape[2]):
            if q > 0.5:
                out[i, :, j] = isotonic(out[i, :, j])
            elif q < 0.5:
                out[i, :, j] = -isotonic(-out[i, :, j])
    return np.sort(out, axis=0)


def calibrate(
    residuals: F64,
    observed_fraction: F64,
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
    phase: PhaseScale | None = None,
    target_ts: NDArray[np.int64] | None = None,
) -> Intervals | None:
    """Intervals from relative residuals (truth - forecast) / spread, (n, horizon, k), NaN where
    the truth was not observed, each divided by the ``phase`` spread at its forecast step's time
    ``target_ts`` (n, horizon) when both are given; None when no residual is known."""
    r = np.asarray(residuals, dtype=np.float64)
    if phase is not None and target_ts is not None:
        r = r / phase.at(target_ts)
    else:
        phase = None
    if not np.isfinite(r).any() or not quantiles:
        return None
    q = tuple(sorted(float(v) for v in quantiles))
    gappy = np.asarray(observed_fraction) < 1.0
    # Offsets from complete histories when there are enough (the gap factor then measures how
    # much more room the others need); from all origins otherwise.
    complete = r[~gappy] if int((~gappy).sum()) >= MIN_COMPLETE_ORIGINS else r
    with np.errstate(all="ignore"):
        raw = np.nanquantile(complete, q, axis=0)  # (len(q), horizon, k)
        pooled = np.nanquantile(complete, q, axis=(0, 1))  # (len(q), k)
    # A lead time whose own residuals are too few for the outer quantiles (a short series'
    # validation part holds one or two origins) takes those of every lead pooled: the 10%
    # quantile of one value is that value, and P10, P50 and P90 would collapse onto it.
    few = np.isfinite(complete).sum(axis=0) < min_origins_per_lead(q)  # (horizon, k)
    raw = np.where(few[None], pooled[:, None, :], raw)
    # A lead time with no known residual borrows the nearest earlier one.
    for i in range(1, raw.shape[1]):
        raw[:, i] = np.where(np.isfinite(raw[:, i]), raw[:, i], raw[:, i - 1])
    raw = np.nan_to_num(raw, nan=0.0)
    offsets = _monotone(raw, q)
    factor = 1.0
    if int(gappy.sum()) >= MIN_GAPPY_ORIGINS and len(q) >= 3:
        factor = _gap_factor(r[gappy], offsets, q)
    median = offsets[q.index(0.5)] if 0.5 in q else np.zeros(offsets.shape[1:])
    with np.errstate(all="ignore"):
        scale = np.nanmean(np.abs(complete - median[None]), axis=(0, 1))
    # 0 marks a target without a known non-zero residual: its intervals stay static.
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 0.0)
    return Intervals(q, offsets, factor, int(r.shape[0]), int(gappy.sum()), scale, phase)


def min_origins_per_lead(quantiles: tuple[float, ...]) -> int:
    """Residuals a lead time needs before its own empirical quantiles reach the outer levels
    (tail share t: (1 - t) / t of them, 9 for P10-P90) rather than sitting on its extremes."""
    tail = min(*quantiles, 1 - max(quantiles))
    return int(np.ceil((1 - tail) / tail - 1e-9)) if tail > 0 else 1


def _gap_factor(residuals: F64, offsets: F64, quantiles: tuple[float, ...]) -> float:
    """The smallest factor (at least 1) on the outer offsets that makes the outer interval cover
    the split-conformal share ceil((n + 1) x nominal) / n of the residuals (n, horizon, k) of the
    n histories with gaps. The origin, not the point, is the unit counted: one origin's errors
    along its horizon move together."""
    nominal = quantiles[-1] - quantiles[0]
    need = needed_factors(residuals, offsets, quantiles)
    need = need[np.isfinite(need)]
    if not need.size:
        return 1.0
    n = residuals.shape[0]
    level = min(1.0, np.ceil((n + 1) * nominal - 1e-9) / n)
    return float(max(1.0, np.quantile(need, level, method="higher")))


def needed_factors(residuals: F64, offsets: F64, quantiles: tuple[float, ...]) -> F64:
    """(n, horizon, k) the factor on the outer offsets (quantiles x horizon x k) around the median
    offset (the point forecast without a 0.5 quantile, as :meth:`Intervals.relative` widens them)
    that each relative residual needed to fall inside the outer interval (0 on the median, 1 on
    the edge); NaN where the residual is unknown or the side it falls on has no width."""
    lo, hi = offsets[0], offsets[-1]
    median = offsets[quantiles.index(0.5)] if 0.5 in quantiles else np.zeros_like(lo)
    r = np.asarray(residuals, dtype=np.float64)
    side = np.where(r < median, median - lo, hi - median)
    with np.errstate(all="ignore"):
        need = np.abs(r - median) / side
    return np.where(np.isfinite(r) & (side > 0), need, np.nan)


def pinball(
    truth: F64, forecasts: F64, quantiles: tuple[float, ...], scored: NDArray[Any]
) -> float:
    """Mean pinball (quantile) loss over the quantiles and the scored points; ``forecasts`` is
    (quantiles, n, horizon, k)."""
    losses = []
    for q, f in zip(quantiles, forecasts, strict=True):
        diff = truth - f
        losses.append(np.where(diff >= 0, q * diff, (q - 1) * diff)[scored])
    return float(np.mean(losses)) if losses and scored.any() else float("nan")


def interval_scores(
    truth: F64,
    forecasts: F64,
    quantiles: tuple[float, ...],
    scored: NDArray[np.bool_],
    gappy: NDArray[np.bool_],
    target_ts: NDArray[np.int64] | None = None,
    step_ns: int | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    """Coverage and mean width of the outer interval (overall, for origins with and without gaps
    in their lookback, and at the hour of the day or day of the week where it held least, from
    the forecast steps' times ``target_ts`` (n, horizon) on a grid of ``step_ns``, read in
    ``zone``) and the mean pinball loss."""
    lo, hi = forecasts[0], forecasts[-1]
    inside = (truth >= lo) & (truth <= hi)
    worst = None
    if target_ts is not None and step_ns is not None:
        worst = worst_phase_coverage(inside, scored, target_ts, step_ns, zone)

    def coverage(mask: NDArray[np.bool_]) -> float | None:
        m = scored & mask
        return float(inside[m].mean()) if m.any() else None

    everything = np.ones_like(scored)
    with_gaps = np.broadcast_to(np.asarray(gappy)[:, None, None], scored.shape)
    return {
        "level": round(quantiles[-1] - quantiles[0], 6),
        "coverage": coverage(everything),
        "coverage_gappy_history": coverage(with_gaps),
        "coverage_complete_history": coverage(~with_gaps),
        "coverage_worst_phase": None if worst is None else worst[0],
        "coverage_worst_phase_at": None if worst is None else worst[1],
        "width": float((hi - lo)[scored].mean()) if scored.any() else None,
        "pinball": pinball(truth, forecasts, quantiles, scored),
    }


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOUR_NS = 3_600 * 10**9
DAY_NS = 24 * HOUR_NS
MIN_PHASE_POINTS = 50  # an hour or a weekday with fewer scored points is not judged


def worst_phase_coverage(
    inside: NDArray[np.bool_],
    scored: NDArray[np.bool_],
    target_ts: NDArray[np.int64],
    step_ns: int,
    zone: str | None = None,
) -> tuple[float, str] | None:
    """(coverage, where) at the hour of the day of a sub-daily grid, or the day of the week of a
    daily one, where the interval held the least share of its scored points (``inside`` and
    ``scored``: (n, horizon, k)): a range right on average can be wrong at every busy hour.
    Hours and days are the wall clock's of ``zone`` (the zone the data was imported in, so the
    hour reads as the user's own, and a day of local midnights is not taken for the day before;
    UTC without one). None for coarser grids, or with fewer than two hours or days of
    MIN_PHASE_POINTS points."""
    ts = np.asarray(target_ts, dtype=np.int64)
    if step_ns > DAY_NS:
        return None
    clock = wall_clock(ts, zone)
    if step_ns < DAY_NS:
        phase, names = (clock // HOUR_NS) % 24, [f"{h:02d}:00 {zone or 'UTC'}" for h in range(24)]
    else:
        phase, names = (clock // DAY_NS + 3) % 7, list(WEEKDAYS)  # 1970-01-01 was a Thursday
    phases = np.broadcast_to(phase[..., None], scored.shape)[scored]
    held = inside[scored]
    count = np.bincount(phases, minlength=len(names))
    covered = np.bincount(phases, weights=held, minlength=len(names))
    judged = np.flatnonzero(count >= MIN_PHASE_POINTS)
    if judged.size < 2:
        return None
    share = covered[judged] / count[judged]
    worst = int(np.argmin(share))
    return float(share[worst]), names[int(judged[worst])]


def empirical_quantiles(train: F64, season: int, horizon: int, quantiles: tuple[float, ...]) -> F64:
    """(quantiles, horizon, k) quantiles of the seasonal-naive forecast's in-sample errors on the
    training part ``train`` (k, T), per lead time: the interval a seasonal naive user would draw,
    which the model's intervals are measured against."""
    v = np.asarray(train, dtype=np.float64)
    k, t_len = v.shape
    out = np.zeros((len(quantiles), horizon, k))
    for h in range(horizon):
        back = season * (h // season + 1)
        if t_len <= back:
            continue
        err = v[:, back:] - v[:, : t_len - back]  # y(t + h) - y(t + h - back), one per start t
        for j in range(k):
            known = err[j][np.isfinite(err[j])]
            if known.size:
                out[:, h, j] = np.quantile(known, quantiles)
    return out
