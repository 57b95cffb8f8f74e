"""Resample: put a raw series onto a regular grid.

Grid points with no sample stay NaN (missing), never zero: gap detection downstream must see them.
The grid is anchored at midnight UTC of the first day. Bins are left-closed and left-labelled —
pandas' ``resample(freq).agg()`` defaults, so results can be compared with it — except where that
would invent gaps: a sensor that reports every 15 minutes with a few seconds of clock jitter around
each quarter hour has half its samples just before a bin edge, so floor-binning puts two samples in
one bin and none in the next (a quarter of the steps would be reported missing). When a series is
put on its own frequency and its samples cluster at one phase of the period, the bin edges are
moved half a period away from that phase (:func:`phase_shift`): jittered samples then land in the
bin of the grid point nearest to them, and samples at a constant offset (readings at half past)
keep the grid point before them. Samples spread over the period (aggregating finer data into
coarser bins, or irregular data) keep pandas' bins.

Monthly data (:data:`~gapcast.processing._time.MONTH_NS`) is binned by calendar month: months
are 28-31 days long, and a fixed 31-day step put two months into one bin every four or five
years. Its grid points are a mean month apart from the middle of the first month, so each lies
inside its own month (within a few days of the middle) and every fixed-step computation
downstream holds. Quarterly and yearly data are binned by calendar quarter and year alike
(:data:`~gapcast.processing._time.CALENDAR_STEPS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.processing._time import (
    IRREGULAR_TOLERANCE,
    NS_PER_DAY,
    PHASE_EVIDENCE,
    PHASE_SAMPLE,
    format_duration,
    infer_frequency,
    months_per_step,
    parse_duration,
    period_number,
    period_start,
    phase,
    round_step,
)
from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame

Agg = Literal["mean", "sum", "min", "max", "first", "last", "hold"]

# A typo such as '1s' for hourly data would otherwise try to allocate billions of grid points.
MAX_GRID_POINTS = 200_000_000
# How tightly the samples' phases must cluster (mean resultant length R, 0: spread evenly over
# the period, 1: all at one phase) for the bins to follow them: R >= PHASE_CONCENTRATION, or less
# where that many samples make the clustering certain (Rayleigh's test, see phase_locked). A
# sensor whose clock jitters by a fifth of its step (normal, sd 3 min on 15 min) gives R 0.45:
# pandas' floor bins would split its readings around the grid points and report a quarter of the
# steps missing.
PHASE_CONCENTRATION = 0.5


def bin_numbers(
    timestamps: NDArray[np.int64], freq: int, origin: int, shift: int
) -> NDArray[np.int64]:
    """The grid step (from ``origin``) each timestamp is binned into: by calendar month on a
    monthly grid, else into ``[g - shift, g - shift + freq)`` for grid point ``g``."""
    ts = np.asarray(timestamps, dtype=np.int64)
    if months := months_per_step(freq):
        out: NDArray[np.int64] = period_number(ts, months) - int(period_number(origin, months))
        return out
    bins = ts - origin
    bins += shift
    bins //= freq
    return bins


def grid_origin(first: int, freq: int) -> int:
    """The fitted grid's first point for a series starting at ``first``: midnight UTC of its day,
    or the middle of its month (quarter, year) on a monthly (quarterly, yearly) grid."""
    if months := months_per_step(freq):
        return int(period_start(period_number(np.int64(first), months), months)) + freq // 2
    return first - first % NS_PER_DAY


def phase_shift(timestamps: NDArray[np.int64], freq: int, origin: int) -> int:
    """Nanoseconds to add to a timestamp before flooring it to the grid, so that bins are centred
    on where the samples typically fall within the period: 0 (pandas' bins) when they do not
    cluster (see PHASE_CONCENTRATION), ``freq // 2`` (the nearest grid point) when they cluster on
    the grid points; between ``-freq // 4`` and ``3 * freq // 4``."""
    if months_per_step(freq):
        return 0  # binned by calendar period, wherever in it the readings fall
    r, angle, n = phase(timestamps, freq, origin)
    if r < PHASE_CONCENTRATION and n * r * r < PHASE_EVIDENCE:
        return 0
    phase_ns = round(angle * freq / (2 * np.pi))
    # Samples in the last quarter of the period are early readings of the next grid point; the
    # others belong to the grid point before them, as with pandas. (The label must switch
    # somewhere on the period; here it is as far as it can be from jitter around grid points
    # and from readings at half past.)
    if phase_ns > 3 * freq // 4:
        phase_ns -= freq
    # The bin of grid point g is [g - shift, g - shift + freq): its middle sits at g + phase.
    return int(freq // 2 - phase_ns)


# A target logged on a coarser step than the rows (a slow channel beside fast ones) gets its own
# step when at least this share of the steps between its readings is that step.
OWN_STEP_SHARE = 0.8


def own_step(target_stamps: NDArray[np.int64], rows_step: int) -> int | None:
    """The step of the targets' readings when it is regular and at least twice the rows' step
    (a battery voltage logged every 10 minutes in a file of 1-minute temperatures), else None.
    Outages and random missing readings do not make a step: their rows' steps vary."""
    if target_stamps.size < 3:
        return None
    steps = np.diff(target_stamps)
    step = float(np.median(steps))
    regular = float(np.mean(np.abs(steps - step) <= IRREGULAR_TOLERANCE * step))
    if step < 2 * rows_step or regular < OWN_STEP_SHARE:
        return None
    return round_step(int(step))


# A logger reconfigured to a coarser step (every 15 minutes, then hourly) is read on the step of
# its last readings when those of the last tenth of its time span keep it, and are at least 50.
# A share of the time, not of the readings: an hourly tail holds a quarter of the readings a
# 15-minute one would, and the test part (15% of the time) was all hourly well before the
# hourly readings were a tenth of the file.
RECENT_ROWS = 50
RECENT_SHARE = 0.1


def recent_step(
    timestamps: NDArray[np.int64], observed: NDArray[np.bool_], step: int
) -> tuple[int, int] | None:
    """``(its step, the reading it began after)`` when the last readings keep a regular step of
    their own at least twice ``step`` (the series' typical one) — and every channel read before
    then is read at that step since: the same sensors logged less often, not a fast one that
    died beside a slow one — else None. ``observed``: (channels, rows), which channel has a
    reading in a row.

    The typical step is the median over the whole series, so a logger's older, finer history
    sets the grid; on it the recent readings fill a quarter of the steps (an hourly logger on a
    15-minute grid), no recent window is observed enough to train or forecast from, and the run
    failed with "too little data". Forecasts are made from readings at the logger's current
    step, so that is the grid; the older readings are aggregated into it."""
    ts = np.asarray(timestamps, dtype=np.int64)
    seen = np.asarray(observed, dtype=bool)
    read = ts[seen.any(axis=0)]
    if read.size < 2 * RECENT_ROWS:
        return None
    tail = read[read >= read[-1] - RECENT_SHARE * (read[-1] - read[0])]
    if tail.size < RECENT_ROWS:
        return None
    new = own_step(tail, step)
    if new is None:
        return None
    finer = np.flatnonzero(np.diff(read) < new * (1 - IRREGULAR_TOLERANCE))
    since = int(read[finer[-1] + 1]) if finer.size else int(read[0])
    after = ts >= since
    for channel in seen:
        if channel[~after].any() and own_step(ts[channel & after], step) != new:
            return None
    return new, since


def grid_source(frame: SeriesFrame, targets: Sequence[str]) -> SeriesFrame:
    """The rows a grid is inferred from: every row, unless the targets keep a step of their own
    (:func:`own_step`), when it is the rows holding a target reading. Forecast on the rows' step,
    such a target would be mostly missing and no window usable; on its own step, the faster
    channels are aggregated into its bins."""
    seen = np.asarray(frame.select(targets).mask).any(axis=0)
    if seen.all():
        return frame
    rows = round_step(frame.freq_ns) if frame.freq_ns else infer_frequency(frame.timestamps)
    if own_step(frame.timestamps[seen], rows) is None:
        return frame
    return SeriesFrame(
        timestamps=frame.timestamps[seen],
        values=frame.values[:, seen],
        channels=frame.channels,
        observed=frame.mask[:, seen],
    )


class Resample(FrameStep):
    """Aggregate samples into bins of ``freq`` (None: the series' own inferred frequency)."""

    name = "resample"

    def __init__(self, freq: str | None = None, agg: Agg = "mean", max_hold: str | None = None):
        self.freq = freq
        self.agg = agg
        self.max_hold = max_hold

    def get_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"freq": self.freq, "agg": self.agg}
        if self.max_hold is not None:
            params["max_hold"] = self.max_hold
        return params

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "freq_ns_", None) is None:
            return {}
        fitted: dict[str, Any] = {
            "freq_ns": self.freq_ns_,
            "origin_ns": self.origin_ns_,
            "shift_ns": self.shift_ns_,
        }
        if self.held_steps_:
            fitted["held_steps"] = dict(self.held_steps_)
        return fitted

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.freq_ns_: int = int(fitted["freq_ns"])
        self.origin_ns_: int = int(fitted["origin_ns"])
        # Pipelines stored before bins followed the samples' phase used pandas' bins.
        self.shift_ns_: int = int(fitted.get("shift_ns", 0))
        # Pipelines stored before slow channels were held have none.
        self.held_steps_: dict[str, int] = {
            str(k): int(v) for k, v in fitted.get("held_steps", {}).items()
        }

    def hold_slow_channels(self, frame: SeriesFrame, skip: Sequence[str] = ()) -> dict[str, int]:
        """Find the channels of ``frame`` (but ``skip``: the targets) read on a regular step of
        their own at least twice the fitted grid's (:func:`own_step`: an outdoor temperature
        every 30 minutes beside power every 5), and hold each of their readings on the grid
        until the next one is due. Returns (and keeps) how many grid steps each is held for.

        On the grid such a channel would miss 5 steps in 6: each run of them counted as a gap,
        the run's report read as broken data, and the model saw the channel through its
        observed mask only. Held, not interpolated: a value on the grid is the channel's last
        reading as of that step (an as-of join), so a forecast made between two readings sees
        what the training windows saw, never a reading not yet taken."""
        self._require_fitted()
        held: dict[str, int] = {}
        for channel in frame.channels:
            if channel in skip:
                continue
            seen = np.asarray(frame.select([channel]).mask[0])
            step = own_step(frame.timestamps[seen], self.freq_ns_)
            if step is not None:
                held[channel] = -(-step // self.freq_ns_) - 1
        self.held_steps_ = held
        return dict(held)

    def grid_index(self, ts_ns: int) -> int:
        """The grid step (from the fitted origin) a sample at ``ts_ns`` is binned into."""
        stamp = np.asarray([ts_ns], np.int64)
        return int(bin_numbers(stamp, self.freq_ns_, self.origin_ns_, self.shift_ns_)[0])

    def grid_point(self, ts_ns: int) -> int:
        """The grid point a sample at ``ts_ns`` is binned into."""
        return self.origin_ns_ + self.grid_index(ts_ns) * self.freq_ns_

    def point_after(self, ts_ns: int) -> int:
        """The first grid point after an instant: the next reading due. A reading a little early
        (11:59:50 on a 15-minute grid) is already the 12:00 one, so the point after it is 12:15;
        a row of faster channels at 23:59 on a 10-minute target's grid leaves 00:00 due."""
        point = self.grid_point(ts_ns)
        calendar = months_per_step(self.freq_ns_) is not None
        return point if point > ts_ns and not calendar else point + self.freq_ns_

    def on_grid(self, ts_ns: int) -> int | None:
        """The grid point a forecast start at ``ts_ns`` names: itself when it is one, on a
        monthly (quarterly, yearly) grid also the first instant of its period; None when it
        names none."""
        if months_per_step(self.freq_ns_) is None:
            return int(ts_ns) if (int(ts_ns) - self.origin_ns_) % self.freq_ns_ == 0 else None
        point = self.grid_point(ts_ns)
        return point if int(ts_ns) in (point, self.bin_start(point)) else None

    def labels(self, grid_ns: NDArray[np.int64]) -> NDArray[np.int64]:
        """How grid points are shown: themselves, a monthly (quarterly, yearly) grid's as the
        first day of its period."""
        if months := months_per_step(self.freq_ns_):
            return period_start(period_number(grid_ns, months), months)
        return np.asarray(grid_ns, np.int64)

    def bin_start(self, grid_ns: int) -> int:
        """The earliest sample time binned into grid point ``grid_ns``."""
        if months := months_per_step(self.freq_ns_):
            return int(period_start(period_number(np.int64(grid_ns), months), months))
        return int(grid_ns) - self.shift_ns_

    def _hold_steps(self) -> int | None:
        """How many grid steps a reading holds past its own (None: until the next one)."""
        if self.max_hold is None:
            return None
        hold = parse_duration(self.max_hold, field=self.field("max_hold"), where=self.where())
        return hold // self.freq_ns_

    def fit(self, frame: SeriesFrame) -> Resample:
        if self.max_hold is not None and self.agg != "hold":
            raise InvalidInput(
                f"{self.where()}: max_hold applies to agg 'hold' only (agg is {self.agg!r})",
                field=self.field("max_hold"),
            )
        if frame.n_points == 0:
            raise InvalidInput(f"{self.where()}: the series is empty", field=self.field())
        # The series' own step: a stored dataset's, rounded as inferring it rounds (one stored
        # before that rounding may say 901 s for a 15-minute meter), else inferred — from the
        # first rows only when it is just compared with a requested step.
        own: int | None = round_step(frame.freq_ns) if frame.freq_ns else None
        # (the step before, the reading the grid's step began after) when the readings' step grew
        self.step_changed_: tuple[int, int] | None = None
        phased = frame.timestamps
        if self.freq is None:
            freq_ns = own or infer_frequency(frame.timestamps)
            if changed := recent_step(frame.timestamps, frame.mask, freq_ns):
                self.step_changed_ = (freq_ns, changed[1])
                freq_ns = changed[0]
                phased = frame.timestamps[frame.timestamps >= changed[1]]
            own = freq_ns
        else:
            freq_ns = parse_duration(self.freq, field=self.field("freq"), where=self.where())
            if own is None and frame.n_points > 1:
                own = infer_frequency(frame.timestamps[: PHASE_SAMPLE + 1])
        origin = grid_origin(int(frame.timestamps[0]), freq_ns)
        # Only a series put on its own frequency has bins that follow its phase: aggregating into
        # a coarser (or finer) grid keeps pandas' bins, which users compare against.
        shift = phase_shift(phased, freq_ns, origin) if freq_ns == own else 0
        self._set_fitted({"freq_ns": freq_ns, "origin_ns": origin, "shift_ns": shift})
        return self

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._require_fitted()
        freq, origin = self.freq_ns_, self.origin_ns_
        ts = frame.timestamps
        if frame.n_points == 0:
            raise InvalidInput(f"{self.where()}: the series is empty", field=self.field())
        # New data keeps the fitted grid's phase, so recent inputs line up with training windows.
        bins = bin_numbers(ts, freq, origin, self.shift_ns_)
        first_bin = int(bins[0])
        bins -= first_bin
        n_grid = int(bins[-1]) + 1
        if n_grid > MAX_GRID_POINTS:
            raise InvalidInput(
                f"{self.where()}: freq={format_duration(freq)} turns {frame.n_points:,} samples "
                f"into {n_grid:,} grid points (limit {MAX_GRID_POINTS:,}); choose a coarser "
                "frequency",
                field=self.field("freq"),
            )
        grid = np.arange(n_grid, dtype=np.int64)
        grid *= freq
        grid += origin + first_bin * freq
        if self.agg == "hold":
            values = _hold(frame.values, bins, n_grid, self._hold_steps(), frame.ended)
        elif bool(np.all(bins[1:] > bins[:-1])):
            # At most one sample per grid point (the common case): nothing to aggregate.
            if n_grid == frame.n_points:
                values = frame.values  # read-only, so shared instead of copied
            else:
                values = np.full((frame.n_channels, n_grid), np.nan)
                values[:, bins] = frame.values
        else:
            values = _aggregate(frame.values, bins, n_grid, self.agg)
        if self.held_steps_ and self.agg != "hold":
            values = _held(values, frame.channels, self.held_steps_)
        return SeriesFrame(
            timestamps=grid, values=values, channels=frame.channels, freq_ns=freq, observed=None
        )


def _hold(
    values: NDArray[np.float64],
    bins: NDArray[np.int64],
    n_grid: int,
    steps: int | None,
    ended: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    """Each grid step's last reading, and in a step without one the reading of the last step
    that had one, for at most ``steps`` steps (None: any number): a sensor reporting on change
    only (a deadband, Home Assistant's state changes) keeps its value until it reports again —
    or until its source said it had none (``ended``: Home Assistant's 'unavailable'), after
    which the steps are missing until its next reading. Per channel, so a row of another
    channel's readings (NaN in this one) breaks no hold; ``bins`` is sorted."""
    out = np.full((values.shape[0], n_grid), np.nan)
    steps_ = np.arange(n_grid)
    for c in range(values.shape[0]):
        finite = np.isfinite(values[c])
        marked = np.zeros_like(finite) if ended is None else ended[c] & ~finite
        v, b = values[c, finite], bins[finite]
        if not v.size:
            continue
        ends = np.r_[np.flatnonzero(b[1:] != b[:-1]), b.size - 1]
        own = np.full(n_grid, np.nan)
        own[b[ends]] = v[ends]
        # Each step's last event, a reading or a mark: a step whose last event is a mark
        # holds nothing past itself.
        event = finite | marked
        eb = bins[event]
        last_ends = np.r_[np.flatnonzero(eb[1:] != eb[:-1]), eb.size - 1]
        stops = np.zeros(n_grid, dtype=bool)
        stops[eb[last_ends]] = marked[event][last_ends]
        has_event = np.zeros(n_grid, dtype=bool)
        has_event[eb] = True
        last = np.maximum.accumulate(np.where(has_event, steps_, -1))
        held = (last >= 0) & np.isfinite(own[np.maximum(last, 0)])
        held &= (last == steps_) | ~stops[np.maximum(last, 0)]
        if steps is not None:
            held &= steps_ - last <= steps
        out[c, held] = own[last[held]]
    return out


def _held(
    values: NDArray[np.float64], channels: Sequence[str], held_steps: dict[str, int]
) -> NDArray[np.float64]:
    """``values`` with each listed channel's readings carried forward over at most its number
    of steps (:meth:`Resample.hold_slow_channels`); a missed reading stays a gap."""
    out: NDArray[np.float64] | None = None
    positions = np.arange(values.shape[1])
    for c, channel in enumerate(channels):
        steps = held_steps.get(channel)
        if not steps:
            continue
        row = values[c]
        last = np.maximum.accumulate(np.where(np.isfinite(row), positions, -1))
        fill = np.isnan(row) & (last >= 0) & (positions - last <= steps)
        if not fill.any():
            continue
        if out is None:
            out = np.array(values)  # the unresampled values may be shared, read-only
        out[c, fill] = row[last[fill]]
    return values if out is None else out


def _aggregate(
    values: NDArray[np.float64], bins: NDArray[np.int64], n_grid: int, agg: Agg
) -> NDArray[np.float64]:
    """Per-bin aggregate of the finite samples of each channel; NaN where a bin has none.

    ``bins`` is sorted, so each bin's samples are one contiguous run.
    """
    out = np.full((values.shape[0], n_grid), np.nan)
    for c in range(values.shape[0]):
        row = values[c]
        finite = ~np.isnan(row)
        v, b = row[finite], bins[finite]
        if v.size == 0:
            continue
        if agg in ("mean", "sum"):
            sums = np.bincount(b, weights=v, minlength=n_grid)
            counts = np.bincount(b, minlength=n_grid)
            if agg == "sum":
                np.copyto(out[c], sums, where=counts > 0)
            else:
                np.divide(sums, counts, out=out[c], where=counts > 0)
            continue
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        labels = b[starts]
        if agg == "min":
            out[c, labels] = np.minimum.reduceat(v, starts)
        elif agg == "max":
            out[c, labels] = np.maximum.reduceat(v, starts)
        elif agg == "first":
            out[c, labels] = v[starts]
        else:
            ends = np.r_[starts[1:], v.size] - 1
            out[c, labels] = v[ends]
    return out
