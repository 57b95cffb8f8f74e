"""How the size of a model's errors moves through a daily or weekly cycle, for the intervals.

Orders in an hour are 0 to 3 at night and 10 to 20 at noon; a grid's load swings most at its
peaks. The intervals' offsets, calibrated per lead time over origins at every time of day, are
right on average and wrong at every hour: a series like the first (Poisson counts of a daily
rate) had P10-P90 ranges of the same width all day, holding all of the night's points and 43-60%
of the day's, 83% in all. Dividing each calibration error by the spread of the step it forecast
and multiplying the offsets back by the spread of the step they are drawn for (the normalised
score of locally adaptive conformal prediction, Lei et al. 2018, with the spread a function of
the phase of the cycle) keeps the coverage and puts the width where the errors are.

The spread of a phase is the mean absolute error of the model at that phase, over its forecasts
from origins of the training part (relative to each window's spread, as the calibration's
errors are). Not the series' own changes from one cycle to the next: on half-hourly demand those
are largest at the weekday peaks, which the model reads from its calendar inputs, and ranges
widened there were 14% wider and covered less. A profile is kept only where the first half of the
training part's origins and the second agree on it (their profiles correlate beyond what errors
of one size everywhere reach one time in a hundred), and shrunk toward the average by the
split-half reliability (Spearman-Brown): a series whose errors are the same all day has no
profile, rather than one made of its noise. In-sample errors read the hours the model fits
closely calmer than they forecast, so the profile is then damped to the contrast the validation
part's errors show (:func:`damped`: one slope per target). Split conformal stays valid with any
such profile fixed before the calibration — this one shares that one slope with the errors
calibrated in its units — so a profile read from noise costs width, not coverage. Only cycles
fixed in absolute time have phases (a day or a week of a sub-daily grid, a week of a daily one);
a year of weekly steps drifts against the calendar, and has none. Phases are read on the wall
clock of the zone the data was imported in (UTC without one): a Berlin office's busy 08:00 is
06:00 UTC in summer and 07:00 in winter, and a profile read in UTC from a summer's errors would
widen the ranges an hour early all winter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.processing._time import wall_clock

F64 = NDArray[np.float64]
DAY_NS = 86_400 * 10**9
WEEK_NS = 7 * DAY_NS
MIN_ERRORS = 8  # a phase's spread needs at least this many errors in each half to be read
# The two halves of the training part must agree on a profile (correlation) at least this well,
# and beyond what flat noise reaches one time in a hundred over as many phases.
MIN_AGREEMENT = 0.5
NOISE_Z = 2.33  # the one-sided 1% point of the standard normal
# A phase's spread is never read as less than this share of the average: one that never moved in
# the training part may still move, and a zero would make its calibration errors infinite.
FLOOR = 0.1
# A phase's spread is read from the phases within this time either side of it too: an hour of a
# 5-minute day's 288 phases, none of an hourly day's 24.
POOLED_NS = 30 * 60 * 10**9


@dataclass(frozen=True, eq=False)
class PhaseScale:
    """Per target, the relative spread (mean 1 over a cycle) of each phase of a cycle of
    ``scale.shape[0]`` grid steps of ``step_ns``; the phase of a time is its step count since
    the epoch modulo the cycle, on the wall clock of ``zone`` (UTC without one)."""

    step_ns: int
    scale: F64  # (season, k)
    zone: str | None = None

    def at(self, timestamps: NDArray[np.int64]) -> F64:
        """(..., k) the relative spread at each of ``timestamps`` (int64 ns, any shape)."""
        phase = _phase(timestamps, self.step_ns, self.scale.shape[0], self.zone)
        return np.asarray(self.scale[phase], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        zoned = {} if self.zone is None else {"zone": self.zone}
        return {"step_ns": self.step_ns, "scale": self.scale.tolist(), **zoned}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> PhaseScale:
        scale = np.asarray(doc["scale"], dtype=np.float64)
        return cls(int(doc["step_ns"]), scale, doc.get("zone"))


def has_phases(season: int | None, step_ns: int) -> bool:
    """Whether a cycle of ``season`` grid steps of ``step_ns`` is a day or a week."""
    return season is not None and season >= 2 and season * step_ns in (DAY_NS, WEEK_NS)


def fit_phase_scale(
    errors: F64,
    target_ts: NDArray[np.int64],
    season: int | None,
    step_ns: int,
    zone: str | None = None,
) -> PhaseScale | None:
    """The relative spread per phase of the reference ``season`` (grid steps) from the model's
    ``errors`` (n, horizon, k) at origins of the training part, in time order (NaN where the
    truth was not observed), whose forecast steps fell at ``target_ts`` (n, horizon); None when
    the season is not a day or a week, too few errors fell on a phase, or no target's spread
    differs between phases beyond noise."""
    if season is None or not has_phases(season, step_ns):
        return None
    e = np.abs(np.asarray(errors, dtype=np.float64))
    if e.ndim != 3 or e.shape[0] < 2:
        return None
    phase = _phase(target_ts, step_ns, season, zone)
    scale = np.ones((season, e.shape[2]))
    for j in range(e.shape[2]):
        profile = _profile(e[..., j], phase, season, step_ns)
        if profile is not None:
            scale[:, j] = profile
    if np.array_equal(scale, np.ones_like(scale)):
        return None
    return PhaseScale(step_ns, scale, zone)


def damped(scale: PhaseScale, errors: F64, target_ts: NDArray[np.int64]) -> PhaseScale | None:
    """``scale`` with each target's profile moved toward flat by the slope of the model's
    out-of-sample ``errors`` (n, horizon, k; the validation part's) per phase on it, within
    [0, 1]; None when no profile is left.

    A profile read from the training part's errors is the model's in-sample view: where it fits
    the training data closely at some hours it reads those hours calmer than they forecast. On
    one hourly series of M4 the training part's profile ran from 0.32 to 2.77 and the ranges
    drawn with it held 69% of the test part (78% without): the slope of the validation part's
    spreads on it says how much of that contrast holds out of sample."""
    season = scale.scale.shape[0]
    e = np.abs(np.asarray(errors, dtype=np.float64))
    phase = _phase(target_ts, scale.step_ns, season, scale.zone)
    out = np.ones_like(scale.scale)
    for j in range(out.shape[1]):
        count, total = _sums(e[..., j], phase, season)
        seen = count > 0
        if seen.sum() < 2 or total[seen].sum() <= 0:
            continue
        spread = total[seen] / count[seen]
        x = scale.scale[seen, j] - 1.0
        y = spread / np.average(spread, weights=count[seen]) - 1.0
        if not np.any(x):
            continue
        slope = float(np.clip(np.sum(count[seen] * x * y) / np.sum(count[seen] * x * x), 0, 1))
        profile = 1.0 + slope * (scale.scale[:, j] - 1.0)
        out[:, j] = profile / profile.mean()
    if np.array_equal(out, np.ones_like(out)):
        return None
    return PhaseScale(scale.step_ns, out, scale.zone)


def _profile(size: F64, phase: NDArray[np.int64], season: int, step_ns: int) -> F64 | None:
    """(season,) one target's relative spread per phase, from the absolute errors ``size``
    (n, horizon; NaN unknown) whose steps fell at ``phase``; None when it cannot be read or the
    first half of the origins and the second do not agree on it."""
    width = min(POOLED_NS // step_ns, season // 4)
    half = size.shape[0] // 2
    means = []
    for part in (slice(None, half), slice(half, None), slice(None)):
        count, total = _sums(size[part], phase[part], season)
        if count.min() < MIN_ERRORS:
            return None
        if width:  # neighbouring phases pooled: a 5-minute day's 288 are each a few errors
            count, total = _circular_sum(count, width), _circular_sum(total, width)
        means.append(total / count)
    first, second, mean = means
    overall = float(mean.mean())
    if overall <= 0 or first.std() == 0 or second.std() == 0:
        return None
    # The profile of the first half against the second's: errors of the same size at every
    # phase give profiles that do not agree, a real one gives the same profile twice. Their
    # correlation r is the split-half reliability, 2r / (1 + r) of the whole (Spearman-Brown),
    # and the share of the profile's variation kept (shrunk toward flat by the rest).
    r = float(np.corrcoef(first, second)[0, 1])
    if not r >= agreement_needed(season // (2 * width + 1)):
        return None
    shrunk = overall + 2 * r / (1 + r) * (mean - overall)
    shrunk = np.maximum(shrunk, FLOOR * overall)
    return np.asarray(shrunk / shrunk.mean(), dtype=np.float64)


def agreement_needed(phases: int) -> float:
    """The correlation two halves' profiles over ``phases`` independent phases must reach: flat
    noise exceeds it one time in a hundred (Fisher's z: atanh(r) sqrt(n - 3) is standard normal
    when nothing correlates), and never under :data:`MIN_AGREEMENT`. A week of days has 7
    phases, and needs 0.82; a day of hours 0.50."""
    if phases <= 4:
        return 1.0
    return max(MIN_AGREEMENT, float(np.tanh(NOISE_Z / np.sqrt(phases - 3))))


def _phase(
    timestamps: NDArray[np.int64], step_ns: int, season: int, zone: str | None
) -> NDArray[np.int64]:
    """The phase of each time in a cycle of ``season`` steps: its step count since the epoch,
    on ``zone``'s wall clock."""
    return (wall_clock(timestamps, zone) // step_ns) % season


def _sums(size: F64, phase: NDArray[np.int64], season: int) -> tuple[F64, F64]:
    """(count, sum) of the known values of ``size`` at each of the ``season`` phases."""
    d, p = size.ravel(), phase.ravel()
    known = np.isfinite(d)
    count = np.bincount(p[known], minlength=season).astype(np.float64)
    return count, np.bincount(p[known], weights=d[known], minlength=season).astype(np.float64)


def _circular_sum(x: F64, width: int) -> F64:
    """Each entry of the cycle ``x`` summed with the ``width`` entries either side of it."""
    padded = np.concatenate([x[-width:], x, x[:width]])
    return np.asarray(np.convolve(padded, np.ones(2 * width + 1), "valid"), dtype=np.float64)
