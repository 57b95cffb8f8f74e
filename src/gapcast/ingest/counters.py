"""Running totals (a meter's kWh register, a pulse counter, a Prometheus counter) read as their
increase per reading, which is what a forecast of consumption or throughput is about: the total
itself only ever climbs, and its level says nothing of the next hour's use.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.ingest.common import TotalEnds, split_unit

# A drop to under this share of the reading before is the counter starting again from zero (a
# meter replaced, a logger restarted, a register rolling over): the new reading is the increase
# since. Any other drop is no running total's.
RESTART_SHARE = 0.5
# An increase over a span longer than this many of the counter's usual steps covers readings that
# never came: it cannot be told apart by step, and is left missing.
OUTAGE_STEPS = 1.5
# More drops than this share of the readings that are no restart: the column is not a total.
MAX_DROPS = 0.01


def increase_since(before_at: int, before: float, ends: TotalEnds, step_ns: int) -> float | None:
    """The increase at a file's first reading since the total ``before`` read at ``before_at``
    (the last one stored), by the rules of :func:`increases` with the counter's usual step
    ``step_ns``: from zero after a restart; None when that reading is not earlier, spans an
    outage, or is a drop that is no restart."""
    span = ends.first_at - before_at
    if span <= 0 or span > OUTAGE_STEPS * step_ns:
        return None
    if ends.first < RESTART_SHARE * before:
        return ends.first
    if ends.first < before:
        return None
    return ends.first - before


def increases(
    timestamps: NDArray[np.int64],
    values: NDArray[np.float64],
    name: str,
) -> tuple[NDArray[np.float64], str, TotalEnds | None]:
    """The increase of the running total ``values`` (at sorted, unique ``timestamps``) at each
    of its readings since the one before: NaN at the first reading, after an outage and at a
    drop that is no restart; a note of what was read; and the total's first and last reading
    (None without a reading)."""
    seen = np.flatnonzero(~np.isnan(values))
    out = np.full(values.shape, np.nan)
    if seen.size < 2:
        alone = f"{name!r} read as a running total: fewer than two readings, no increase"
        if not seen.size:
            return out, alone, None
        at, total = int(timestamps[seen[0]]), float(values[seen[0]])
        return out, alone, TotalEnds(at, total, at, total, step_ns=0)
    level = values[seen]
    change = np.diff(level)
    spans = np.diff(timestamps[seen])
    step = float(np.median(spans))
    restart = level[1:] < RESTART_SHARE * level[:-1]
    drop = (change < 0) & ~restart
    if drop.sum() > max(MAX_DROPS * change.size, 1):
        first = np.datetime64(int(timestamps[seen[1:][drop][0]]), "ns").astype("datetime64[s]")
        raise InvalidInput(
            f"column {name!r} is not a running total (counter): it falls without starting "
            f"again from zero {int(drop.sum()):,} times, first at {first}Z",
            field="counter",
        )
    increase = np.where(restart, level[1:], change)
    gone = spans > OUTAGE_STEPS * step
    increase[gone | drop] = np.nan
    out[seen[1:]] = increase
    said = [f"{name!r} read as a running total: its increase per reading"]
    if restart.any():
        said.append(f"{int(restart.sum()):,} restart(s) of the count: the increase from zero")
    if gone.any():
        said.append(f"{int(gone.sum()):,} increase(s) over an outage left missing")
    if drop.any():
        said.append(f"{int(drop.sum()):,} drop(s) left missing")
    ends = TotalEnds(
        first_at=int(timestamps[seen[0]]),
        first=float(level[0]),
        last_at=int(timestamps[seen[-1]]),
        last=float(level[-1]),
        step_ns=int(step),
    )
    return out, "; ".join(said), ends


# A column looks like a running total not read as one when it never falls, but to start again
# from zero, over at least this many readings, and rises at more than this share of them.
LOOKS_MIN_READINGS = 48
LOOKS_RISING = 0.5


def looks_like_total(values: NDArray[np.float64]) -> tuple[int, float] | None:
    """(readings, share of their changes that rise) when ``values`` (NaN: no reading) look like
    a running total read as levels: never below zero, never falling but to start again from zero
    (at most :data:`MAX_DROPS` of the readings, one at least), over :data:`LOOKS_MIN_READINGS`
    readings or more, rising at more than :data:`LOOKS_RISING` of them. None otherwise: a level
    that ever falls is none."""
    level = values[~np.isnan(values)]
    if level.size < LOOKS_MIN_READINGS or level.min() < 0:
        return None
    change = np.diff(level)
    restart = level[1:] < RESTART_SHARE * level[:-1]
    if ((change < 0) & ~restart).any() or restart.sum() > max(MAX_DROPS * change.size, 1):
        return None
    rising = float(np.mean(change > 0))
    return (int(level.size), rising) if rising > LOOKS_RISING else None


def total_hint(name: str, values: NDArray[np.float64], *, use: str | None = None) -> str | None:
    """What to say of a column that looks like a running total read as levels (its level only
    climbs: a forecast of it says nothing of the next hour's use), else None. ``use``: what the
    increase per reading is for, where not a forecast (a covariate's)."""
    looks = looks_like_total(values)
    if looks is None:
        return None
    readings, rising = looks
    # Named as each way in takes it: the option is `counter` on REST and in the client, and
    # `--counter` on the command line, where a name with a space needs quoting.
    return (
        f"{name!r} never falls over its {readings:,} readings and rises at {rising:.0%} of them: "
        f"a running total (a meter's register)? Read as one (import with counter={[name]!r}; "
        f"the CLI's --counter {shlex.quote(name)}) it is the increase per reading, "
        f"{use or 'the use a forecast is usually about'}"
    )


def counter_columns(counters: Sequence[str], headers: Sequence[str]) -> list[int]:
    """The positions among the value columns' ``headers`` of the ``counters``, named by header
    ('energy [kWh]') or by name ('energy'); refused by name when the file has no such column."""
    names = [split_unit(h)[0] for h in headers]
    found = []
    for counter in counters:
        if counter in headers:
            found.append(list(headers).index(counter))
        elif counter in names:
            found.append(names.index(counter))
        else:
            raise InvalidInput(
                f"counter: {counter!r} is not a value column; the file has {', '.join(headers)}",
                field="counter",
            )
    return found
