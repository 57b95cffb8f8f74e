"""Durations and frequencies in integer nanoseconds: the one time unit the processing code uses."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapcast.errors import InvalidInput

NS_PER_DAY = 86_400 * 1_000_000_000
# The grid step of monthly data: the mean Gregorian month (365.2425 / 12 days). Months are 28-31
# days long, so no fixed step bins them one to one; a monthly series is binned by calendar month
# instead (``Resample``), on grid points this far apart, which stay inside their months.
MONTH_NS = 2_629_746 * 1_000_000_000
# A series is monthly when its readings' typical step is a month and nearly every reading has a
# calendar month of its own (a 4-weekly cycle puts two readings in one month once a year: 12 of
# 13 readings, under the share).
MONTHLY_STEPS = (27 * NS_PER_DAY, 32 * NS_PER_DAY)
MONTHLY_SHARE = 0.95
# Quarterly and yearly data are binned the same way, by calendar quarter (from January, April,
# July, October) and calendar year: their steps are 90-92 and 365-366 days, and a fixed step
# would drift off the periods it names (a 91-day grid labels the next quarter 24 November).
QUARTER_NS = 3 * MONTH_NS
YEAR_NS = 12 * MONTH_NS
# grid step -> (months per step, the median steps between readings that make such a series)
CALENDAR_STEPS = {
    MONTH_NS: (1, MONTHLY_STEPS),
    QUARTER_NS: (3, (88 * NS_PER_DAY, 93 * NS_PER_DAY)),
    YEAR_NS: (12, (360 * NS_PER_DAY, 370 * NS_PER_DAY)),
}
_PERIOD_NAMES = {MONTH_NS: "month", QUARTER_NS: "quarter", YEAR_NS: "year"}


def parse_duration(value: str, *, field: str | None = None, where: str = "duration") -> int:
    """A fixed-length duration string ('1h', '15min', '7D', '1W') in nanoseconds.

    Calendar units (months, years) are refused: their length varies, and every step here needs a
    grid with one step length.
    """
    import pandas as pd  # here, not at module level: the API imports configs without pandas

    try:
        ns = int(pd.Timedelta(value).value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{where}: expected a fixed duration such as '15min', '1h' or '7D', "
            f"received {value!r} ({exc})",
            field=field,
        ) from exc
    if ns <= 0:
        raise InvalidInput(
            f"{where}: expected a positive duration, received {value!r}", field=field
        )
    return ns


# Readings are irregular (events, report-on-change sensors) when fewer than REGULAR_SHARE of the
# steps between them lie within IRREGULAR_TOLERANCE of the median step: a logger's, jittered or
# with outages, nearly all do; Poisson arrivals' about 1 in 6. At the median spacing half the
# grid of such a series would be missing; in steps about IRREGULAR_SPACINGS mean spacings long
# about e^-3 = 5% are (Poisson arrivals), and the readings in a step are aggregated.
REGULAR_SHARE = 0.5
IRREGULAR_TOLERANCE = 0.25
IRREGULAR_SPACINGS = 3
# A logger whose clock jitters more than that (normal, sd over a fifth of its step) has fewer
# steps near the median, but its readings still keep to the grid's phase, which arrivals never
# do: regular when Rayleigh's test makes that clustering certain (n R^2 >= PHASE_EVIDENCE, a
# chance of e^-10 for phases spread evenly).
PHASE_EVIDENCE = 10.0
PHASE_SAMPLE = 100_000  # timestamps a phase is estimated from, at most (evenly spaced)
_ROUND_SECONDS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)
ROUND_STEPS = tuple(s * 10**9 for s in (*_ROUND_SECONDS, 10_800, 21_600, 43_200, 86_400, 604_800))


def format_duration(ns: int) -> str:
    """The shortest pandas-style spelling of ``ns`` ('1h', '15min', '7D'; '1 month')."""
    if ns in _PERIOD_NAMES:
        return f"1 {_PERIOD_NAMES[ns]}"
    for unit, size in (("D", NS_PER_DAY), ("h", 3_600 * 10**9), ("min", 60 * 10**9)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    for unit, size in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def infer_frequency(timestamps_ns: ArrayLike) -> int:
    """The typical step of a series in nanoseconds: the median of the positive differences.

    The median (not the minimum) so a few duplicated or jittered samples do not shrink the grid,
    and gaps (long differences) do not stretch it; rounded to a whole number of days, hours,
    minutes, ... when within 2% of one, so clock jitter does not make the period 901 s.
    """
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    if ts.ndim != 1:
        raise InvalidInput(f"expected 1-D timestamps, received shape {ts.shape}", field="timestamp")
    if ts.size > 1 and bool(np.any(ts[1:] < ts[:-1])):
        ts = np.sort(ts)
    steps = np.diff(ts)
    steps = steps[steps > 0]
    if steps.size == 0:
        raise InvalidInput(
            "cannot infer a frequency: the series needs at least two distinct timestamps, "
            f"received {np.unique(ts).size}",
            field="timestamp",
        )
    median = int(np.median(steps))
    for step, (months, (shortest, longest)) in CALENDAR_STEPS.items():
        if shortest <= median <= longest and is_calendar(ts, months):
            return step
    near = np.abs(steps - median) <= IRREGULAR_TOLERANCE * median
    step = round_step(median)
    spread = float(np.mean(near)) < REGULAR_SHARE
    # Tested for a grid's phase only when that could change the step (a logger's round step
    # needs no test).
    if (spread or not tiles_the_day(step)) and not phase_locked(ts, step):
        if spread:
            return irregular_step(steps, median)
        # Evenly spaced but on no grid: a sensor reporting on change through a smooth daily
        # swing, about every 82 minutes. A day is 17.6 such steps, so no season and no
        # seasonal baseline can read yesterday's value, and a run is judged against the last
        # value alone: a thermostat's run claimed 90% over naive where yesterday's value, on
        # an hourly grid, was as good as the model. The round step at or above the spacing
        # keeps the day whole, and the readings still fill its grid.
        return next((s for s in ROUND_STEPS if s >= step), step)
    return step


def tiles_the_day(step: int) -> bool:
    """Whether a day is a whole number of ``step`` (or ``step`` a whole number of days): the
    steps whose grid has a daily (weekly) cycle at a whole lag."""
    return step % NS_PER_DAY == 0 or NS_PER_DAY % step == 0


def phase(timestamps_ns: ArrayLike, freq: int, origin: int = 0) -> tuple[float, float, int]:
    """(R, angle, n): how tightly the timestamps' phases within the period ``freq`` cluster (mean
    resultant length, 0: spread evenly, 1: all at one phase), around which angle (radians from
    ``origin``), from how many of them (at most PHASE_SAMPLE, evenly spaced)."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    if ts.size > PHASE_SAMPLE:
        ts = ts[np.linspace(0, ts.size - 1, PHASE_SAMPLE).astype(np.int64)]
    angle = ((ts - origin) % freq).astype(np.float64) * (2 * np.pi / freq)
    c, s = float(np.cos(angle).mean()), float(np.sin(angle).mean())
    return float(np.hypot(c, s)), float(np.arctan2(s, c) % (2 * np.pi)), int(ts.size)


def phase_locked(timestamps_ns: ArrayLike, freq: int) -> bool:
    """Whether readings keep to one phase of a ``freq`` grid beyond chance (Rayleigh's test)."""
    r, _, n = phase(timestamps_ns, freq)
    return n > 0 and n * r * r >= PHASE_EVIDENCE


def irregular_step(steps: NDArray[np.int64], median: int) -> int:
    """The grid step of irregular readings: the round step nearest to
    :data:`IRREGULAR_SPACINGS` mean spacings (outages, steps over ten medians, left out)."""
    spacing = float(np.mean(steps[steps <= 10 * median]))
    wanted = IRREGULAR_SPACINGS * spacing
    if wanted > ROUND_STEPS[-1]:
        return round_step(int(wanted))
    return min(ROUND_STEPS, key=lambda s: abs(np.log(s / wanted)))


def month_number(timestamps_ns: ArrayLike) -> NDArray[np.int64]:
    """Calendar months since January 1970 (UTC) of int64 nanosecond timestamps."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    months = ts.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return np.asarray(months, np.int64)


def month_start(months: ArrayLike) -> NDArray[np.int64]:
    """Nanoseconds of the first instant of each calendar month numbered as by ``month_number``."""
    starts = np.asarray(months, np.int64).astype("datetime64[M]").astype("datetime64[ns]")
    return np.asarray(starts.astype(np.int64), np.int64)


def calendar_period(freq_ns: int) -> str | None:
    """'month', 'quarter' or 'year' for a grid binned by calendar period, None for a fixed step."""
    return _PERIOD_NAMES.get(int(freq_ns))


def months_per_step(freq_ns: int) -> int | None:
    """How many calendar months a grid step bins (1, 3, 12), None for a fixed step."""
    found = CALENDAR_STEPS.get(int(freq_ns))
    return found[0] if found else None


def period_number(timestamps_ns: ArrayLike, months: int) -> NDArray[np.int64]:
    """Calendar periods of ``months`` months since January 1970 (UTC), aligned to January."""
    return np.asarray(month_number(timestamps_ns) // months, np.int64)


def period_start(periods: ArrayLike, months: int) -> NDArray[np.int64]:
    """Nanoseconds of the first instant of each period numbered as by ``period_number``."""
    return month_start(np.asarray(periods, np.int64) * months)


def is_calendar(timestamps_ns: ArrayLike, months: int) -> bool:
    """Whether sorted readings follow calendar periods of ``months`` months."""
    periods = np.unique(period_number(timestamps_ns, months))
    distinct = np.unique(np.asarray(timestamps_ns, np.int64)).size
    # Two readings in one month fold into one value: a finer series, or a 4-weekly one.
    return periods.size > 1 and periods.size >= MONTHLY_SHARE * distinct


# Units a logger's period is a whole number of, largest first.
_UNITS = (NS_PER_DAY, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3)
# How far a median step may sit from a whole number of units and still be that period: clock
# jitter moves the median of a 15-minute sensor's steps by a second or two (901 s would otherwise
# become the grid, drifting a step behind the readings every 15 hours).
STEP_TOLERANCE = 0.02


def round_step(step: int) -> int:
    """``step`` rounded to a whole number of the largest unit within :data:`STEP_TOLERANCE`
    (a month, quarter or year of :data:`CALENDAR_STEPS` stays one)."""
    if step in CALENDAR_STEPS:
        return step
    for unit in _UNITS:
        whole = round(step / unit) * unit
        if whole > 0 and abs(step - whole) <= STEP_TOLERANCE * step:
            return int(whole)
    return step


def wall_clock(timestamps_ns: NDArray[np.int64], zone: str | None) -> NDArray[np.int64]:
    """UTC times (ns, any shape) shifted by ``zone``'s offset at each: the wall clock's time as
    if it were UTC, so its hour of the day and day of the week are those of ``//`` and ``%``.
    Unchanged without a zone."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    if zone is None or zone == "UTC":
        return ts
    import pandas as pd

    utc = pd.DatetimeIndex(ts.ravel().astype("datetime64[ns]"), tz="UTC")
    local = utc.tz_convert(zone).tz_localize(None).as_unit("ns")
    return np.asarray(local.asi8, dtype=np.int64).reshape(ts.shape)
