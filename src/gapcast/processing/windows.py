"""Window: (lookback inputs, horizon targets) pairs as views of one shared array.

A window set is the prepared series (T, C) plus the int64 start index of each valid window; ``X``
and ``y`` are lazy: indexing them gathers only the windows asked for from
``sliding_window_view``, so the lookback-fold copy of the series is never built unless someone
asks for all of it (``np.asarray(ws.X)``, fine for small data).

Which windows are usable (gap-tolerant: enough observed inputs and at least one observed target)
is decided by :class:`Window`; what a model reads from a window is built by
:mod:`gapcast.processing.window_inputs`. The arrays here are the raw prepared values (NaN where
unknown).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, DTypeLike, NDArray

from gapcast.errors import InvalidInput
from gapcast.processing.base import Step
from gapcast.processing.frame import PARTS, SeriesFrame
from gapcast.processing.seasons import (
    MAX_LOOKBACK,
    Season,
    confirmed_seasons,
    default_horizon,
    default_lookback,
    fitted_sizes,
    longer_season,
    reference_season,
)
from gapcast.processing.value_grid import value_grid
from gapcast.processing.window_inputs import SPREAD_FLOOR, Layout

# Models train in float32: gathered windows are cast batch by batch, so the series itself is
# never copied into a second dtype.
WINDOW_DTYPE = np.float32


class WindowArray:
    """A lazily gathered (n, length, ...) array: row i is ``base[index[i]]`` (cast to ``dtype``)."""

    def __init__(
        self, base: NDArray[Any], index: NDArray[np.int64], dtype: DTypeLike | None = None
    ) -> None:
        self._base = base
        self._index = index
        self._dtype = np.dtype(base.dtype if dtype is None else dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return (int(self._index.shape[0]), *self._base.shape[1:])

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return int(self._index.shape[0])

    def __getitem__(self, key: int | slice | ArrayLike) -> NDArray[Any]:
        gathered = np.asarray(self._base[self._index[key]])  # type: ignore[index]
        return gathered.astype(self._dtype, copy=False)

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> NDArray[Any]:
        if copy is False:
            # numpy's contract: copy=False must fail when a copy is unavoidable, as a gather is.
            raise ValueError(
                "a WindowArray is gathered on demand; it cannot be viewed without a copy"
            )
        return self._base[self._index].astype(self._dtype if dtype is None else dtype, copy=False)

    def __repr__(self) -> str:
        return f"WindowArray(shape={self.shape}, dtype={self.dtype})"


@dataclass(frozen=True, eq=False)
class WindowSet:
    """The windows of one part. ``X``: (n, lookback, n_inputs); ``y``: (n, horizon, n_targets)."""

    data: NDArray[np.float64]  # (T, n_inputs): a transposed view of the prepared frame
    timestamps: NDArray[np.int64]  # (T,)
    starts: NDArray[np.int64]  # (n,) grid index of each window's first input point
    lookback: int
    horizon: int
    target_index: tuple[int, ...]
    part: str = "train"

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def __getstate__(self) -> dict[str, Any]:
        # Leave out the cached lazy arrays: pickling a sliding-window view would write out the
        # full lookback-fold copy it stands for. They are rebuilt on first use.
        return {k: v for k, v in self.__dict__.items() if k not in ("X", "y", "target_timestamps")}

    @property
    def n_inputs(self) -> int:
        return int(self.data.shape[1])

    @property
    def n_targets(self) -> int:
        return len(self.target_index)

    def _windows(
        self, array: NDArray[Any], length: int, offset: int, dtype: DTypeLike | None = None
    ) -> WindowArray:
        index = self.starts + offset
        if array.shape[0] < length:
            empty = np.empty((0, length, *array.shape[1:]), dtype=array.dtype)
            return WindowArray(empty, index, dtype)
        view = sliding_window_view(array, length, axis=0)
        # sliding_window_view puts the window axis last; models want (time, channel).
        return WindowArray(np.moveaxis(view, -1, 1) if array.ndim == 2 else view, index, dtype)

    @cached_property
    def X(self) -> WindowArray:  # noqa: N802 - the conventional name for model inputs
        return self._windows(self.data, self.lookback, 0, WINDOW_DTYPE)

    @cached_property
    def y(self) -> WindowArray:
        k = self.n_targets
        if self.target_index == tuple(range(k)):
            targets = self.data[:, :k]
        else:
            targets = self.data[:, list(self.target_index)]
        return self._windows(targets, self.horizon, self.lookback, WINDOW_DTYPE)

    @cached_property
    def target_timestamps(self) -> WindowArray:
        """(n, horizon) int64 timestamps of each window's targets (what inverse_targets needs)."""
        return self._windows(self.timestamps, self.horizon, self.lookback)

    def take(self, indices: ArrayLike) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(X, y) of the windows at ``indices`` only."""
        idx = np.asarray(indices, dtype=np.int64)
        return self.X[idx], self.y[idx]

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        seed: int | None = None,
        drop_remainder: bool = False,
    ) -> Iterator[tuple[NDArray[np.float32], NDArray[np.float32]]]:
        """(X, y) batches gathered one at a time; ``drop_remainder`` keeps batch shapes stable."""
        if batch_size < 1:
            raise InvalidInput(f"expected batch_size >= 1, received {batch_size}")
        n = len(self)
        order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
        stop = n - n % batch_size if drop_remainder else n
        for begin in range(0, stop, batch_size):
            yield self.take(order[begin : begin + batch_size])

    def n_batches(self, batch_size: int, *, drop_remainder: bool = False) -> int:
        return len(self) // batch_size if drop_remainder else -(-len(self) // batch_size)

    def __repr__(self) -> str:
        return (
            f"WindowSet(part={self.part!r}, n={len(self)}, lookback={self.lookback}, "
            f"horizon={self.horizon}, n_inputs={self.n_inputs}, n_targets={self.n_targets})"
        )


@dataclass(frozen=True, eq=False)
class WindowSplits:
    train: WindowSet
    val: WindowSet
    test: WindowSet

    def __getitem__(self, part: str) -> WindowSet:
        return {"train": self.train, "val": self.val, "test": self.test}[part]


def observed_steps(frame: SeriesFrame, channels: Sequence[int]) -> NDArray[np.bool_]:
    """(T,) True where any of ``channels`` was really measured."""
    return np.asarray(frame.mask[list(channels)].any(axis=0), dtype=bool)


class Window(Step):
    """Windows of ``lookback`` inputs and ``horizon`` targets every ``stride`` points.

    Gap-tolerant: a window is usable when at least ``min_observed`` of its lookback steps and at
    least one of its target steps were really observed (targets default to channel 0). Its part is
    the part its targets lie in (the lookback may reach back into an earlier part: that is
    history, not leakage). ``lookback``, ``horizon`` and ``season`` left to ``None``/"auto" are
    resolved when fitting, from the frequency and the seasons of the training part, and the
    fitted step stores the resolved values. ``season="auto"`` picks the shortest confirmed
    season as the forecast's reference, or 1 (the last value: naive) when the data has none;
    ``"none"`` gives the model no reference at all.
    """

    name = "window"

    def __init__(
        self,
        lookback: int | None = None,
        horizon: int | None = None,
        stride: int = 1,
        targets: Sequence[str] | None = None,
        min_observed: float = 0.5,
        scaling: str = "window",
        season: int | str = "auto",
    ) -> None:
        self.lookback = lookback  # type: ignore[assignment]  # an int once fitted
        self.horizon = horizon  # type: ignore[assignment]
        self.stride = stride
        self.targets = None if targets is None else tuple(targets)
        self.min_observed = min_observed
        self.scaling = scaling
        self.season = season

    lookback: int
    horizon: int
    # The starts fit counted, for the transform of the same frame that follows it.
    _fit_starts: tuple[SeriesFrame, dict[str, NDArray[np.int64]]] | None = None
    # Covariates known in advance (set by the pipeline, like targets): their values at the
    # forecast steps are model inputs too.
    future: tuple[str, ...] = ()
    # Whether the frames it is fitted on hold real units (no global scale or detrend before it):
    # only then can it tell a target that never goes below zero (set by the pipeline).
    real_units: bool = True

    def get_params(self) -> dict[str, Any]:
        return {
            "lookback": self.lookback,
            "horizon": self.horizon,
            "stride": self.stride,
            "min_observed": self.min_observed,
            "scaling": self.scaling,
            "season": self.season,
        }

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "inputs_", None) is None:
            return {}
        # Stored only when set (a long season, a target on a grid of values), so a pipeline
        # without them stores what it stored before.
        optional: dict[str, Any] = {"long_season": self.long_season_} if self.long_season_ else {}
        if any(self.value_grid_):
            optional["value_grid"] = [None if g is None else list(g) for g in self.value_grid_]
        return optional | {
            "inputs": list(self.inputs_),
            "targets": list(self.targets_),
            "seasons": [s.as_dict() for s in self.seasons_],
            "spread_floor": list(self.spread_floor_),
            "freq_ns": self.freq_ns_,
            "nonnegative": list(self.nonnegative_),
            "future": list(self.future_),
            "train_mean": list(self.train_mean_),
        }

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.inputs_: tuple[str, ...] = tuple(fitted["inputs"])
        self.targets_: tuple[str, ...] = tuple(fitted["targets"])
        self.seasons_: list[Season] = [
            Season(str(s["name"]), int(s["steps"])) for s in fitted.get("seasons", [])
        ]
        floor = fitted.get("spread_floor") or [1e-12] * len(self.inputs_)
        self.spread_floor_: tuple[float, ...] = tuple(float(v) for v in floor)
        self.freq_ns_: int | None = fitted.get("freq_ns")
        # Per target: never below zero in the training part (counts, loads, prices of a kind),
        # so neither are its forecasts. Absent from a pipeline stored before: no such floor.
        nonnegative = fitted.get("nonnegative") or [False] * len(self.targets_)
        self.nonnegative_: tuple[bool, ...] = tuple(bool(v) for v in nonnegative)
        # Per target: the grid [step, anchor] its observed training values lie on (whole numbers,
        # half degrees), which its quantile forecasts are read off (None: no grid; absent from a
        # pipeline stored before, or whose targets lie on none).
        grids = fitted.get("value_grid") or [None] * len(self.targets_)
        self.value_grid_: tuple[tuple[float, float] | None, ...] = tuple(
            None if g is None else (float(g[0]), float(g[1])) for g in grids
        )
        # Absent from a pipeline stored before covariates could be known in advance: none are.
        self.future_: tuple[str, ...] = tuple(fitted.get("future") or ())
        self.train_mean_: tuple[float, ...] = tuple(
            float(v) for v in fitted.get("train_mean") or ()
        )
        # Set by with_long_season alone (model "auto"'s candidates that read it).
        long_season = fitted.get("long_season")
        self.long_season_: int | None = None if long_season is None else int(long_season)

    @property
    def length(self) -> int:
        return self.lookback + self.horizon

    @property
    def season_steps(self) -> int | None:
        """The resolved reference season in grid steps (None: no seasonal reference)."""
        return self.season if isinstance(self.season, int) else None

    def longer_season(self) -> Season | None:
        """The longest confirmed season beyond the reference's that holds once the reference's
        cycle is taken out (a week of hourly data with quiet weekends, whose lookback covers
        two days; :func:`~.seasons.longer_season`), found on the training part when fitting:
        a candidate of model "auto" may read each target one such cycle before each forecast
        step as well (:meth:`with_long_season`). None without one, or when not fitted here."""
        self._require_fitted()
        return getattr(self, "_longer_season", None)

    def with_long_season(self, steps: int) -> Window:
        """A copy of this fitted step whose windows also read each target ``steps`` before
        each forecast step (``Layout.long_season``)."""
        self._require_fitted()
        out = copy.copy(self)
        out.long_season_ = steps
        return out

    def fit(self, frame: SeriesFrame) -> Window:
        targets = self.targets if self.targets is not None else frame.channels[:1]
        rows = [frame.channel_index(name) for name in targets]
        train = frame.train_part()
        for name, row in zip(targets, rows, strict=True):
            if not train.mask[row].any():
                # Nothing to learn from: the model would forecast it from the others (or from
                # nothing) and report a confident range around zero.
                raise InvalidInput(
                    f"{self.where()}: target '{name}' has no observed value in the training part "
                    f"({train.n_points:,} grid steps); a model cannot learn it — leave it out of "
                    "the targets or give it data",
                    field="target",
                )
        for name in frame.channels:
            if name not in targets and not train.mask[frame.channel_index(name)].any():
                # Most often a wrong column or a sensor that never reported: say so, rather than
                # train on a channel that is all filler.
                raise InvalidInput(
                    f"{self.where()}: covariate '{name}' has no observed value in the training "
                    f"part ({train.n_points:,} grid steps); leave it out of the covariates or give "
                    "it data",
                    field="covariates",
                )
        self._resolve(frame, rows)
        with np.errstate(invalid="ignore"):
            spread = np.nanstd(np.where(train.mask, train.values, np.nan), axis=1)
            mean = np.nanmean(np.where(train.mask, train.values, np.nan), axis=1)
        floor = np.where(np.isfinite(spread) & (spread > 0), SPREAD_FLOOR * spread, 1e-12)
        with np.errstate(invalid="ignore"):
            lowest = np.nanmin(np.where(train.mask[rows], train.values[rows], np.nan), axis=1)
        self._set_fitted(
            {
                "inputs": list(frame.channels),
                "targets": list(targets),
                "seasons": [s.as_dict() for s in getattr(self, "_seasons", [])],
                "spread_floor": floor.tolist(),
                "freq_ns": frame.freq_ns,
                "nonnegative": [bool(self.real_units and v >= 0) for v in lowest],
                "value_grid": [
                    value_grid(train.values[row][train.mask[row]]) if self.real_units else None
                    for row in rows
                ],
                "future": [n for n in frame.channels if n in self.future and n not in targets],
                "train_mean": np.nan_to_num(mean).tolist(),
            }
        )
        self._fit_starts = None
        starts = self.window_starts(frame)
        self._fit_starts = (frame, starts)
        if not len(starts["train"]):
            del self.inputs_  # an unusable fit leaves the step unfitted
            raise InvalidInput(
                f"{self.where()}: no training window of lookback={self.lookback} + "
                f"horizon={self.horizon} has {self.min_observed:.0%} of its inputs and one of "
                f"its targets observed in the training part ({train.n_points:,} grid steps, "
                f"{int(train.mask[rows].any(axis=0).sum()):,} with a target observed); use a "
                "shorter lookback or horizon, a lower min_observed, or more data",
                field=self.field("horizon"),
            )
        return self

    def _resolve(self, frame: SeriesFrame, rows: list[int]) -> None:
        """Fill in lookback, horizon and season left unset, from the training part."""
        freq = frame.freq_ns
        train = frame.train_part()
        values = np.where(train.mask[rows], train.values[rows], np.nan)
        seasons = confirmed_seasons(values, freq) if freq else []
        self._seasons = seasons
        limit = self.lookback if self.lookback is not None else MAX_LOOKBACK
        if self.season == "auto":
            best = reference_season([s for s in seasons if s.steps <= limit])
            # Without a cycle the last value is the best simple forecast to correct (naive).
            self.season = best.steps if best is not None else 1
        elif (
            isinstance(self.season, int)
            and self.lookback is not None
            and self.season > self.lookback
        ):
            raise InvalidInput(
                f"{self.where()}: season={self.season} needs lookback >= {self.season}, "
                f"received lookback={self.lookback}",
                field=self.field("season"),
            )
        self._longer_season = longer_season(values, seasons, self.season_steps)
        reference = next((s for s in seasons if s.steps == self.season_steps), None)
        if reference is None and self.season_steps is not None and self.season_steps > 1:
            reference = Season(f"{self.season_steps} steps", self.season_steps)
        given = {"lookback": self.lookback is not None, "horizon": self.horizon is not None}
        if self.horizon is None:
            self.horizon = default_horizon(freq) if freq else 24
        if self.lookback is None:
            if freq:
                self.lookback = default_lookback(freq, seasons, reference, horizon=self.horizon)
            else:
                self.lookback = max(48, self.horizon)
        bounds = frame.part_bounds()
        train_steps = bounds["train"][1] - bounds["train"][0]
        if given["horizon"] and self.horizon >= train_steps:
            # No lookback fits: said as such, not as a lookback cut to 1 that still fails.
            raise InvalidInput(
                f"{self.where()}: horizon={self.horizon} is not shorter than the training part "
                f"({train_steps:,} grid steps), and a training window holds the lookback and the "
                "horizon; use a shorter horizon, or more data",
                field=self.field("horizon"),
            )
        held = [end - begin for part, (begin, end) in bounds.items() if part != "train"]
        self.lookback, self.horizon, self.shortened_ = fitted_sizes(
            self.lookback,
            self.horizon,
            train=bounds["train"][1],
            held_out=min((h for h in held if h > 0), default=0),
            season=self.season_steps,
            lookback_given=given["lookback"],
            horizon_given=given["horizon"],
        )

    @property
    def layout(self) -> Layout:
        """How windows become model inputs (needs the calendar's cycles: see the pipeline)."""
        self._require_fitted()
        return Layout(
            lookback=self.lookback,
            horizon=self.horizon,
            n_targets=len(self.targets_),
            n_inputs=len(self.inputs_),
            season=self.season_steps,
            scaling=self.scaling,
            spread_floor=self.spread_floor_,
            future_inputs=tuple(self.inputs_.index(name) for name in self.future_),
            train_mean=self.train_mean_,
            long_season=self.long_season_,
        )

    def window_starts(self, frame: SeriesFrame) -> dict[str, NDArray[np.int64]]:
        """Start index (first lookback point) of every usable window, per part.

        Counted with cumulative sums of the observed steps, read through strided views: memory
        in proportion to the grid, not to lookback x windows.
        """
        if self._fit_starts is not None and self._fit_starts[0] is frame:
            return self._fit_starts[1]  # fit just counted them on this very frame
        rows = [frame.channel_index(name) for name in self.targets_]
        lb, hz, stride = self.lookback, self.horizon, self.stride
        n = frame.n_points
        last = n - hz  # the last origin whose horizon fits
        if last < lb:
            empty = np.zeros(0, dtype=np.int64)
            return dict.fromkeys(PARTS, empty)
        seen = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(observed_steps(frame, rows), out=seen[1:])
        at = seen[lb : last + 1 : stride]  # observed steps before each origin
        need = max(1, int(np.ceil(self.min_observed * lb - 1e-9)))
        ok = (at - seen[: last + 1 - lb : stride]) >= need
        ok &= (seen[lb + hz : last + hz + 1 : stride] - at) >= 1
        starts = np.flatnonzero(ok).astype(np.int64)
        starts *= stride  # origin - lookback, in grid steps
        out: dict[str, NDArray[np.int64]] = {}
        for part, (begin, end) in frame.part_bounds().items():
            # A window's part is where its targets lie: begin <= origin and origin + hz <= end.
            lo = np.searchsorted(starts, begin - lb, side="left")
            hi = np.searchsorted(starts, end - hz - lb, side="right")
            out[part] = starts[lo:hi]
        return out

    def transform(self, frame: SeriesFrame) -> WindowSplits:
        self._require_fitted()
        if frame.channels != self.inputs_:
            raise InvalidInput(
                f"{self.where()} was fitted on channels {list(self.inputs_)}, "
                f"received {list(frame.channels)}"
            )
        return self.windows_from_starts(frame, self.window_starts(frame))

    def windows_from_starts(
        self, frame: SeriesFrame, starts: dict[str, NDArray[np.int64]]
    ) -> WindowSplits:
        """Window sets for known starts (a cached preparation), skipping the validity scan."""
        self._require_fitted()
        data = frame.values.T
        target_index = tuple(frame.channels.index(name) for name in self.targets_)
        sets = {
            part: WindowSet(
                data=data,
                timestamps=frame.timestamps,
                starts=np.asarray(starts[part], dtype=np.int64),
                lookback=self.lookback,
                horizon=self.horizon,
                target_index=target_index,
                part=part,
            )
            for part in PARTS
        }
        return WindowSplits(**sets)
