"""Model inputs of a window: relative to its own level, with an observed mask and known futures.

Every forecast gapcast makes — in training, in the backtest, in ``predict`` — reads its inputs from
:func:`build_batch`, so what is scored is exactly what a user gets. A window is its *origin* (the
grid index of the first forecast step) and the ``lookback`` steps before it; only those are read,
so a forecast never sees its own future.

Per step, the model gets one row of features (``Layout.n_features``)::

    values (C)      inputs relative to the window: (x - level) / spread, missing points carried
                    forward from the last observed one; 0 in the forecast steps, except for a
                    covariate known in advance (``future_inputs``: holidays, planned work, a
                    weather forecast), whose forecast steps hold its values as well, scaled by
                    its training part's mean and spread instead
    observed (C)    1 where the point was really measured (filled points are not)
    reference (k)   in the forecast steps, the seasonal-naive value of each target (the value one
                    season earlier, relative like the rest; season 1 is the last value, naive;
                    where it was not measured, the same phase a cycle earlier in the lookback,
                    moved by how far the last cycle lies above that one);
                    0 in the lookback
    calendar (2f)   sin/cos of the calendar cycles, for the lookback and the forecast steps alike
    long ref. (k)   only for a candidate that reads a longer season than the reference's (a
                    week of hourly data, whose lookback covers two days; training.long_season_lag):
                    in the forecast steps, each target's value one long season earlier, relative
                    like the rest, mostly from before the lookback (the reference where it is
                    unknown or hidden); 0 in the lookback
    is_future (1)   1 in the forecast steps

``level`` is the mean and ``spread`` the standard deviation of each channel's observed lookback
values (the spread floored at a tenth of the channel's spread in the training part, so a flat
night does not blow up), as in RevIN and N-BEATS; a model's output is mapped back with them. A
window with no known value of a channel in its lookback (an outage longer than it) takes them from
the last ``lookback`` known values before it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from gapcast.processing.calendar import window_cycle_features

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
# A window's spread is floored at this share of its channel's spread in the training part.
SPREAD_FLOOR = 0.1


@dataclass(frozen=True)
class Layout:
    """How a window becomes model inputs; fitted by the window step and stored with the model."""

    lookback: int
    horizon: int
    n_targets: int
    n_inputs: int  # targets first, then covariates
    cycles: tuple[str, ...] = ()
    season: int | None = None
    scaling: str = "window"
    spread_floor: tuple[float, ...] = field(default=())
    # Input channels (indices) whose values are known for the forecast steps too.
    future_inputs: tuple[int, ...] = ()
    train_mean: tuple[float, ...] = field(default=())  # per input, over the training part
    # A confirmed season longer than ``season`` whose seasonal-naive values are inputs as well.
    long_season: int | None = None

    @property
    def n_features(self) -> int:
        long = self.n_targets if self.long_season else 0
        return 2 * self.n_inputs + self.n_targets + 2 * len(self.cycles) + long + 1

    @property
    def steps(self) -> int:
        return self.lookback + self.horizon

    @property
    def calendar_columns(self) -> slice:
        """Where the calendar's sin/cos features sit among a window's features."""
        first = 2 * self.n_inputs + self.n_targets
        return slice(first, first + 2 * len(self.cycles))

    @property
    def long_reference_columns(self) -> slice:
        """Where the long season's reference values sit (an empty slice without one)."""
        first = self.calendar_columns.stop
        return slice(first, first + (self.n_targets if self.long_season else 0))


@dataclass(frozen=True, eq=False)
class ModelBatch:
    """Inputs of ``n`` windows and, when their targets are known, what to train them towards."""

    x: F32  # (n, lookback + horizon, n_features)
    level: F64  # (n, n_inputs) prepared units
    spread: F64  # (n, n_inputs)
    reference: F32  # (n, horizon, n_targets) relative units (0 without a reference season)
    observed_fraction: F64  # (n,) share of lookback steps with a target really measured
    target_ts: NDArray[np.int64]  # (n, horizon)
    y: F32 | None = None  # (n, horizon, n_targets) relative units, 0 where never observed
    weight: F32 | None = None  # (n, horizon) share of targets observed at each step

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def to_real(self, relative: F64 | F32) -> F64:
        """Relative target values (n, horizon, k) → the prepared grid's units."""
        k = relative.shape[-1]
        return np.asarray(relative, np.float64) * self.spread[:, None, :k] + self.level[:, None, :k]


def _carry_forward(values: F64) -> F64:
    """NaN replaced by the last finite value before it along the last axis (NaN if none)."""
    finite = np.isfinite(values)
    idx = np.where(finite, np.arange(values.shape[-1]), 0)
    np.maximum.accumulate(idx, axis=-1, out=idx)
    out = np.take_along_axis(values, idx, axis=-1)
    # Leading NaNs take index 0, which is NaN itself unless finite: keep them NaN.
    seen = np.maximum.accumulate(finite, axis=-1)
    return np.where(seen, out, np.nan)


def window_level(past: F64, floor: F64, scaling: str) -> tuple[F64, F64]:
    """(level, spread), each (C, n), of lookback values (C, n, L) with NaN where unknown."""
    count = np.isfinite(past).sum(axis=-1)
    if scaling != "window":
        shape = past.shape[:2]
        return np.zeros(shape), np.ones(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(past, axis=-1)
        level = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        dev = np.where(np.isfinite(past), past - level[..., None], 0.0)
        spread = np.sqrt((dev**2).sum(axis=-1) / np.maximum(count, 1))
    spread = np.maximum(spread, floor[:, None])
    return level, spread


def _anchor_unseen(
    values: F64,
    starts: NDArray[np.int64],
    lookback: int,
    seen: NDArray[np.bool_],
    level: F64,
    spread: F64,
    floor: F64,
) -> None:
    """Windows with no known value of a channel in their lookback (an outage longer than it)
    take that channel's level and spread from its last ``lookback`` known values before the
    window, in place: the forecast then starts from where the series was last seen, as the naive
    baseline's does, not from 0. Nothing known before either: left as they are."""
    for c in np.flatnonzero(~seen.all(axis=1)):
        known = np.flatnonzero(np.isfinite(values[c]))
        for i in np.flatnonzero(~seen[c]):
            end = int(np.searchsorted(known, starts[i]))
            last = values[c, known[max(end - lookback, 0) : end]]
            if last.size:
                level[c, i] = last.mean()
                spread[c, i] = max(float(last.std()), float(floor[c]))


def _read(
    values: F64, observed: NDArray[np.bool_], idx: NDArray[np.int64]
) -> tuple[F64, NDArray[np.bool_]]:
    """(values, observed), each (C, *idx.shape), at grid indices ``idx``: NaN and False where
    an index lies outside the grid."""
    t_len = values.shape[1]
    if not t_len:
        shape = (values.shape[0], *idx.shape)
        return np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    inside = (idx >= 0) & (idx < t_len)
    safe = np.clip(idx, 0, t_len - 1)
    return np.where(inside, values[:, safe], np.nan), observed[:, safe] & inside


def _seasonal_reference(measured: F64, carried: F64, season: int, horizon: int) -> F64:
    """(k, n, horizon): each forecast step's value one season earlier in the lookback; where that
    was not measured, the same phase a cycle further back (the lookback holds two by default)
    moved by the mean difference between the last cycle and that one; where no cycle of the
    lookback has it, the value carried forward to it.

    ``measured`` is the relative lookback with NaN where nothing was measured, ``carried`` the
    same with those carried forward. Carrying forward alone made the reference of the hours
    after yesterday's outage the last value before it, hours out of phase. The move keeps a
    trending series' fill level with the last cycle: unmoved, the half-hourly demand series
    gained 15% and CO2 lost 1% on the quality suite, moved 20% and gained 1% (bench/README.md,
    "A missing reference").
    """
    lb = measured.shape[-1]
    src = lb - season + (np.arange(horizon) % season)
    out = measured[:, :, src]
    if season > 1:  # for season 1 the step before a missing one is what carrying forward reads
        last = np.arange(lb - season, lb)
        for back in range(season, lb, season):
            earlier = src - back
            fill = np.isnan(out) & (earlier >= 0)
            if not fill.any():
                break
            # Moved by how far the last cycle lies above that one where both were measured: a
            # year-old reading of a trending series is a year of trend behind.
            pairs = last[last >= back]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # no pair measured: no shift
                shift = np.nanmean(measured[:, :, pairs] - measured[:, :, pairs - back], axis=-1)
            shift = np.nan_to_num(shift, nan=0.0)[..., None]
            out = np.where(fill, measured[:, :, np.clip(earlier, 0, None)] + shift, out)
    return np.where(np.isnan(out), carried[:, :, src], out)


def _long_reference(
    values: F64,
    observed: NDArray[np.bool_],
    origins: NDArray[np.int64],
    season: int,
    layout: Layout,
    level: F64,
    spread: F64,
    reference: F32,
    hide: NDArray[np.bool_] | None,
) -> F32:
    """(n, horizon, k): each target's value ``season`` steps before each forecast step (the
    last cycle's, for a horizon longer than the season), relative to the window; where it was
    not observed, lies outside the grid or in the lookback under ``hide``, the short
    reference's value instead."""
    lb, hz = layout.lookback, layout.horizon
    ahead = np.arange(hz, dtype=np.int64) % season - season  # (H,) steps from the origin
    raw, seen = _read(values, observed, origins[:, None] + ahead)  # (k, n, H)
    if hide is not None and season <= lb:
        # A lookback longer than the season: the lag lies in it, where a drawn outage hides it.
        at = lb + ahead  # position in the lookback, valid where >= 0
        hidden = np.where(at >= 0, hide[:, np.clip(at, 0, lb - 1)], False)
        seen &= ~hidden
    raw = np.where(seen, raw, np.nan)
    with np.errstate(invalid="ignore"):
        rel = (raw - level[..., None]) / spread[..., None]
    out = np.where(np.isfinite(rel), rel, np.moveaxis(reference, -1, 0))
    return np.moveaxis(out, 0, -1).astype(np.float32)


def build_batch(
    values: F64,
    observed: NDArray[np.bool_],
    start_ts: int,
    freq_ns: int,
    origins: NDArray[np.int64],
    layout: Layout,
    *,
    with_targets: bool = False,
    hide: NDArray[np.bool_] | None = None,
    calendar: bool = True,
) -> ModelBatch:
    """Model inputs of the windows whose first forecast step is at each of ``origins``.

    ``values`` (C, T) is the prepared grid (NaN where unknown), ``observed`` (C, T) what was
    really measured, ``start_ts`` the timestamp of grid index 0. Origins may lie past the grid's
    end (a forecast "as of" a time when data stopped arriving): steps outside the grid count as
    missing. ``with_targets`` adds ``y`` and ``weight`` from the grid's forecast steps.
    ``hide`` (n, lookback), True where a lookback step is to be read as missing in every channel
    not known in advance: an outage drawn onto a training window (:mod:`~.outage_draws`).
    ``calendar=False`` leaves the calendar features (``layout.calendar_columns``) 0, for a caller
    that has them already: they depend on the window's timestamps alone.
    """
    lb, hz, k = layout.lookback, layout.horizon, layout.n_targets
    c_in = layout.n_inputs
    origins = np.asarray(origins, dtype=np.int64)
    n = origins.shape[0]
    idx = origins[:, None] + np.arange(-lb, hz, dtype=np.int64)  # (n, L + H)
    grid, seen = _read(values[:c_in], observed[:c_in], idx)
    if hide is not None:
        blank = np.zeros((n, lb + hz), dtype=bool)
        blank[:, :lb] = hide
        for c in range(c_in):
            if c not in layout.future_inputs:
                grid[c] = np.where(blank, np.nan, grid[c])
                seen[c] &= ~blank
    past = grid[:, :, :lb]
    floor = np.asarray(layout.spread_floor or (1e-12,) * c_in, dtype=np.float64)
    level, spread = window_level(past, floor, layout.scaling)
    if layout.scaling == "window":
        known = np.asarray(np.isfinite(past).any(axis=-1), dtype=bool)
        _anchor_unseen(values[:c_in], origins - lb, lb, known, level, spread, floor)
    for c in layout.future_inputs:
        # Known in advance is mostly a flag (a holiday, a planned shutdown) or a level with a
        # meaning of its own (a forecast temperature, a tariff): scaled by its training part,
        # not by its lookback, where a flag is mostly flat, its spread the floor, and one
        # holiday ahead would read as about 60 (bench/README.md, "future_covariates").
        level[c] = layout.train_mean[c] if layout.train_mean else 0.0
        spread[c] = floor[c] / SPREAD_FLOOR if floor[c] > 1e-12 else 1.0
    relative = (_carry_forward(past) - level[..., None]) / spread[..., None]
    relative = np.nan_to_num(relative, nan=0.0)

    x = np.zeros((n, lb + hz, layout.n_features), dtype=np.float32)
    x[:, :lb, :c_in] = np.moveaxis(relative, 0, -1)
    x[:, :lb, c_in : 2 * c_in] = np.moveaxis(seen[:, :, :lb], 0, -1)
    for c in layout.future_inputs:
        # Scaled as its past (above); a missing future value is carried forward and marked
        # unobserved, as a gap in the lookback is.
        ahead = (_carry_forward(grid[c])[:, lb:] - level[c][:, None]) / spread[c][:, None]
        x[:, lb:, c] = np.nan_to_num(ahead, nan=0.0)
        x[:, lb:, c_in + c] = seen[c, :, lb:]
    reference = np.zeros((n, hz, k), dtype=np.float32)
    if layout.season is not None and layout.season <= lb:
        with np.errstate(invalid="ignore"):
            measured = (past[:k] - level[:k, :, None]) / spread[:k, :, None]
        reference[:] = np.moveaxis(
            _seasonal_reference(measured, relative[:k], layout.season, hz), 0, -1
        )
    x[:, lb:, 2 * c_in : 2 * c_in + k] = reference
    if layout.long_season:
        x[:, lb:, layout.long_reference_columns] = _long_reference(
            values[:k],
            observed[:k],
            origins,
            layout.long_season,
            layout,
            level[:k],
            spread[:k],
            reference,
            hide,
        )
    ts = start_ts + freq_ns * idx
    if calendar:
        x[:, :, layout.calendar_columns] = window_cycle_features(
            start_ts, freq_ns, origins - lb, lb + hz, list(layout.cycles)
        )
    x[:, lb:, -1] = 1.0

    target_seen = seen[:k]
    observed_fraction = target_seen[:, :, :lb].any(axis=0).mean(axis=-1) if lb else np.ones(n)
    batch = ModelBatch(
        x=x,
        level=level.T.copy(),
        spread=spread.T.copy(),
        reference=reference,
        observed_fraction=np.asarray(observed_fraction, dtype=np.float64),
        target_ts=ts[:, lb:],
    )
    if not with_targets:
        return batch
    future = grid[:k, :, lb:]
    known = target_seen[:, :, lb:] & np.isfinite(future)
    y_rel = (future - level[:k, :, None]) / spread[:k, :, None]
    # A target never observed trains towards nothing: zero weight, and its value is irrelevant.
    y = np.where(known, y_rel, np.moveaxis(reference, -1, 0))
    weight = known.mean(axis=0)
    return replace(
        batch, y=np.moveaxis(y, 0, -1).astype(np.float32), weight=weight.astype(np.float32)
    )
