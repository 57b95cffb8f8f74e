"""Seasons from the frequency, confirmed on the data; the default lookback and horizon they imply.

A grid's candidate seasons follow from its step alone (a day and a week for sub-daily data, a week
and a year for daily data, a year for weekly or monthly data). A candidate counts only when the
training part covers it at least twice and its autocorrelation says the cycle is really there, so
a random walk sampled hourly does not get a "daily season" it does not have.

The defaults (``docs/configuration.md`` has the same table); the lookback is two cycles of the
reference season — the shortest confirmed one — or one of the frequency's natural cycle when the
data has none, never shorter than the horizon, at most 1,024 steps (the table assumes the natural
season is confirmed; without it, daily data still reads two weeks, its horizon):

======================  =====================  ==========================================
grid step               horizon                lookback
======================  =====================  ==========================================
under 15 minutes        4 hours, at most 512   two days (1,024 steps for 1-minute data)
                        steps
15 minutes to sub-daily 1 day                  two days
1 day                   14 days                two weeks
1 week                  13 weeks (a quarter)   two years (104 weeks)
about a month           12 months              two years
a quarter               8 steps                two years (8 quarters)
otherwise               8 steps                32 steps
======================  =====================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gapcast.processing.outliers import MAD_TO_SD

MINUTE_NS = 60 * 10**9
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS
WEEK_NS = 7 * DAY_NS
MAX_LOOKBACK = 1_024
# A default horizon leaves the lookback budget room for two of it (N-BEATS and NHITS read 2 to 7
# horizons); four hours of 10-second data (1,440 steps) made a linear model of 17 million
# weights and a run of ten minutes on 17,000 points.
MAX_HORIZON = MAX_LOOKBACK // 2
# Below this the lag correlation is noise, or too weak for a seasonal naive to help.
MIN_AUTOCORRELATION = 0.2
ACF_POINTS = 50_000  # at least this many of the latest training points judge a season
# Changes beyond this many robust standard deviations (1.4826 MAD) from their median are clipped
# before a season is judged: Gaussian noise never reaches it, a level shift or a spike does.
CHANGE_CLIP = 5.0


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


def winsorized(changes: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row of ``changes`` (k, T) clipped at :data:`CHANGE_CLIP` robust standard deviations
    from its median (NaN stays NaN; a row whose changes are mostly equal stays as it is).

    One change of 50 among changes of 0.6 (a sensor recalibrated, a page's one-day spike) is most
    of the series' variance, so it alone pulls every lag's correlation toward zero: a daily cycle
    with one level shift in three months read 0.10 at a day, under the threshold, and 0.20 at a
    week, just over it. Clipped, it reads the cycle that is there (the robust-statistics practice
    of winsorizing before a correlation)."""
    out = np.array(changes, dtype=np.float64, copy=True)
    for row in out:
        known = row[np.isfinite(row)]
        if known.size == 0:
            continue
        median = float(np.median(known))
        spread = MAD_TO_SD * float(np.median(np.abs(known - median)))
        if spread > 0:
            np.clip(row, median - CHANGE_CLIP * spread, median + CHANGE_CLIP * spread, out=row)
    return out


def confirmed_seasons(values: NDArray[np.float64], freq_ns: int) -> list[Season]:
    """The candidate seasons that the series covers twice and whose lag autocorrelation, on the
    series' step-to-step changes, is at least ``MIN_AUTOCORRELATION``; ``values`` (T,) or (k, T)
    is the training part, NaN unknown (with several channels, each season must hold on their
    average correlation).

    Changes, not levels: a slowly wandering series (a random walk, sea temperature) correlates
    with itself at every lag, a daily one included, without any cycle; its changes do not. A
    real cycle repeats in the changes too (the textbook practice: test seasonality after
    differencing). The changes are :func:`winsorized` first, so one level shift or spike does not
    hide a cycle."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    out = []
    for season in candidate_seasons(freq_ns):
        if v.shape[1] < 2 * season.steps:
            continue
        # The latest stretch says enough (and a minute series' millions of points cost seconds).
        recent = winsorized(np.diff(v[:, -max(ACF_POINTS, 20 * season.steps) - 1 :], axis=1))
        acf = [lag_autocorrelation(row, season.steps) for row in recent]
        known = [a for a in acf if np.isfinite(a)]
        if known and float(np.mean(known)) >= MIN_AUTOCORRELATION:
            out.append(season)
    return out


def longer_season(
    values: NDArray[np.float64], seasons: list[Season], reference: int | None
) -> Season | None:
    """The longest of ``seasons`` beyond ``reference`` whose cycle holds once the reference's is
    taken out: the lag autocorrelation of the ``reference``-differenced training part (T,) or
    (k, T) at its length is at least ``MIN_AUTOCORRELATION``; None without one.

    A week of hourly data always looks like a season when the day is one (168 hours are seven
    days); only a week whose days differ (quiet weekends) repeats in the day-to-day changes."""
    v = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if reference is None or reference < 2:
        return None
    for season in sorted(seasons, key=lambda s: -s.steps):
        if season.steps <= reference or v.shape[1] < 2 * season.steps + reference:
            continue
        recent = v[:, -max(ACF_POINTS, 20 * season.steps) - reference :]
        changes = winsorized(recent[:, reference:] - recent[:, :-reference])
        acf = [lag_autocorrelation(row, season.steps) for row in changes]
        known = [a for a in acf if np.isfinite(a)]
        if known and float(np.mean(known)) >= MIN_AUTOCORRELATION:
            return season
    return None


def fitting_seasons(freq_ns: int, history_points: int) -> list[Season]:
    """Candidate seasons that fit in ``history_points`` (what seasonal naive baselines can use,
    confirmed by the data or not: a baseline is only ever measured, never trusted)."""
    return [s for s in candidate_seasons(freq_ns) if s.steps < history_points]


def default_horizon(freq_ns: int) -> int:
    """Forecast steps a run makes when the configuration leaves ``horizon`` unset."""
    if freq_ns < 15 * MINUTE_NS:
        return min(max(1, (4 * HOUR_NS) // freq_ns), MAX_HORIZON)
    if freq_ns < DAY_NS:
        return max(1, DAY_NS // freq_ns)
    if freq_ns == DAY_NS:
        return 14
    if 6 * DAY_NS <= freq_ns <= 8 * DAY_NS:
        return 13
    if 28 * DAY_NS <= freq_ns <= 31 * DAY_NS:
        return 12
    return 8


def default_lookback(
    freq_ns: int, seasons: list[Season], reference: Season | None, *, horizon: int
) -> int:
    """Input steps a run reads when the configuration leaves ``lookback`` unset (see the table):
    two cycles of the reference season (the correction reads one, the level the other), or one
    cycle of the frequency's natural season when the data has none (without a cycle to repeat,
    older history helps little); never shorter than the ``horizon`` (N-BEATS and NHITS read 2 to
    7 horizons), within ``MAX_LOOKBACK``. Measured on the quality suite from every step: daily
    bike sharing, without a confirmed week, gained 6.5% reading 14 days instead of 8 for its
    14-day horizon (bench/README.md)."""
    if reference is not None:
        steps = max(2 * reference.steps, 8)
    else:
        natural = candidate_seasons(freq_ns)
        steps = max(natural[0].steps if natural else 32, 8)
    return int(min(max(steps, horizon), MAX_LOOKBACK))


# A short series' default lookback leaves at least this many training windows when it can.
MIN_TRAINING_WINDOWS = 8


def fitted_sizes(
    lookback: int,
    horizon: int,
    *,
    train: int,
    held_out: int,
    season: int | None,
    lookback_given: bool,
    horizon_given: bool,
) -> tuple[int, int, str | None]:
    """The default sizes cut to a short series (five years of monthly sales: 60 steps, whose
    test part of 9 cannot hold the default horizon of 12), and what was cut, or None. Only sizes
    left unset are cut: the horizon to the shorter of the validation and test parts
    (``held_out`` steps), the lookback so the ``train`` steps hold
    :data:`MIN_TRAINING_WINDOWS` windows, never below one cycle of the reference ``season``."""
    said = []
    if not horizon_given and 0 < held_out < horizon:
        said.append(
            f"horizon {held_out} instead of {horizon}: the test and validation parts hold "
            f"{held_out} steps"
        )
        horizon = held_out
    room = train - horizon - MIN_TRAINING_WINDOWS + 1
    if not lookback_given and room < lookback:
        shorter = max(room, season or 1, 1)
        if shorter < lookback:
            said.append(
                f"lookback {shorter} instead of {lookback}, so the training part "
                f"({train} steps) holds {max(train - shorter - horizon + 1, 0)} windows"
            )
            lookback = shorter
    if not said:
        return lookback, horizon, None
    return lookback, horizon, "a short series: " + "; ".join(said)


def reference_season(seasons: list[Season]) -> Season | None:
    """The season whose seasonal naive value each forecast step is given and corrects: the
    shortest confirmed one (the most recent cycle; longer cycles such as the week of sub-daily
    data are left to the calendar inputs). Measured on the quality suite: on half-hourly demand
    the daily reference with two days of lookback beat the weekly one with a week, by 40%."""
    return min(seasons, key=lambda s: s.steps) if seasons else None
