"""Seasons from the frequency, confirmed on the data; the default lookback and horizon they imply.

A grid's candidate seasons follow from its step alone (a day and a week for sub-daily data, a week
and a year for daily data, a year for weekly or monthly data). A candidate counts only when the
training part covers it at least twice and its autocorrelation says the cycle is really there, so
a random walk sampled hourly does not get a "daily season" it does not have.

The defaults (``docs/configuration.md`` has the table):

======================  =====================  ==========================================
grid step               horizon                lookback
======================  =====================  ==========================================
under 15 minutes        4 hours                two days, at most 1,024 steps
15 minutes to 1 hour    1 day                  two days, or a week when weekly
                                               (at most 1,024 steps)
over 1 hour, sub-daily  1 day                  a week
1 day                   14 days                a week, or five weeks when weekly
1 week                  13 weeks (a quarter)   a year (52 weeks)
about a month           12 months              two years
otherwise               8 steps                32 steps
======================  =====================  ==========================================

The lookback always covers at least one cycle of the reference season (the seasonal naive value
each forecast step is measured against), or the seasonal correction would have nothing to read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MINUTE_NS = 60 * 10**9
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS
WEEK_NS = 7 * DAY_NS
MAX_LOOKBACK = 1_024
# Below this the lag correlation is noise, or too weak for a seasonal naive to help.
MIN_AUTOCORRELATION = 0.2


@dataclass(frozen=True)
class Season:
    """A cycle of ``steps`` grid points, named for people ("1 day", "1 week", "1 year")."""

    name: str
    steps: int

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "steps": self.steps}


def candidate_seasons(freq_ns: int) -> list[Season]:
    """The cycles a grid of this step may have, shortest first."""
    out: list[Season] = []
    if freq_ns < DAY_NS:
        if DAY_NS % freq_ns == 0:
            out.append(Season("1 day", DAY_NS // freq_ns))
        if WEEK_NS % freq_ns == 0:
            out.append(Season("1 week", WEEK_NS // freq_ns))
    elif freq_ns == DAY_NS:
        out += [Season("1 week", 7), Season("1 year", 365)]
    elif 6 * DAY_NS <= freq_ns <= 8 * DAY_NS:
        out.append(Season("1 year", 52))
    elif 28 * DAY_NS <= freq_ns <= 31 * DAY_NS:
        out.append(Season("1 year", 12))
    elif 89 * DAY_NS <= freq_ns <= 92 * DAY_NS:
        out.append(Season("1 year", 4))
    return out


def lag_autocorrelation(values: NDArray[np.float64], lag: int) -> float:
    """Correlation of the series with itself ``lag`` steps earlier, over the pairs where both
    points are known (NaN elsewhere); NaN when fewer than ``lag`` pairs exist."""
    v = np.asarray(values, dtype=np.float64)
    if lag <= 0 or lag >= v.size:
        return float("nan")
    a, b = v[lag:], v[:-lag]
    ok = np.isfinite(a) & np.isfinite(b)
    if int(ok.sum()) < max(lag, 8):
        return float("nan")
    a, b = a[ok], b[ok]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return float("nan")
    return float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def confirmed_seasons(values: NDArray[np.float64], freq_ns: int) -> list[Season]:
    """The candidate seasons that the series covers twice and whose lag autocorrelation is at
    least ``MIN_AUTOCORRELATION``; ``values`` (T,) or (k, T) is the training part, NaN unknown
    (with several channels, each season must hold on their average correlation)."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    out = []
    for season in candidate_seasons(freq_ns):
        if v.shape[1] < 2 * season.steps:
            continue
        acf = [lag_autocorrelation(row, season.steps) for row in v]
        known = [a for a in acf if np.isfinite(a)]
        if known and float(np.mean(known)) >= MIN_AUTOCORRELATION:
            out.append(season)
    return out


def fitting_seasons(freq_ns: int, history_points: int) -> list[Season]:
    """Candidate seasons that fit in ``history_points`` (what seasonal naive baselines can use,
    confirmed by the data or not: a baseline is only ever measured, never trusted)."""
    return [s for s in candidate_seasons(freq_ns) if s.steps < history_points]


def default_horizon(freq_ns: int) -> int:
    """Forecast steps a run makes when the configuration leaves ``horizon`` unset."""
    if freq_ns < 15 * MINUTE_NS:
        return max(1, (4 * HOUR_NS) // freq_ns)
    if freq_ns < DAY_NS:
        return max(1, DAY_NS // freq_ns)
    if freq_ns == DAY_NS:
        return 14
    if 6 * DAY_NS <= freq_ns <= 8 * DAY_NS:
        return 13
    if 28 * DAY_NS <= freq_ns <= 31 * DAY_NS:
        return 12
    return 8


def default_lookback(freq_ns: int, seasons: list[Season], reference: Season | None) -> int:
    """Input steps a run reads when the configuration leaves ``lookback`` unset (see the table)."""
    steps = {s.name: s.steps for s in seasons}
    if freq_ns < DAY_NS:
        base = 2 * (DAY_NS // freq_ns) if DAY_NS % freq_ns == 0 else 48
        if freq_ns > HOUR_NS:
            base = max(base, WEEK_NS // freq_ns)
    elif freq_ns == DAY_NS:
        base = 35 if "1 week" in steps else 7
    elif 6 * DAY_NS <= freq_ns <= 8 * DAY_NS:
        base = 52
    elif 28 * DAY_NS <= freq_ns <= 31 * DAY_NS:
        base = 24
    else:
        base = 32
    if reference is not None:
        base = max(base, reference.steps)
    return int(min(base, MAX_LOOKBACK))


def seasonal_naive_error(values: NDArray[np.float64], steps: int) -> float:
    """In-sample MAE of "the value one season earlier" over the known pairs (NaN if none);
    ``values`` (T,) or (k, T)."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if v.shape[1] <= steps:
        return float("nan")
    diff = np.abs(v[:, steps:] - v[:, :-steps])
    diff = diff[np.isfinite(diff)]
    return float(diff.mean()) if diff.size else float("nan")


def best_reference(values: NDArray[np.float64], seasons: list[Season]) -> Season | None:
    """The season whose seasonal naive forecast fits ``values`` best (None without seasons)."""
    scored = [(seasonal_naive_error(values, s.steps), s) for s in seasons]
    scored = [(e, s) for e, s in scored if np.isfinite(e)]
    return min(scored, key=lambda pair: pair[0])[1] if scored else None
