"""Window: (lookback inputs, horizon targets) pairs as views of one shared array.

A window set is the prepared series (T, C) plus the int64 start index of each valid window; ``X``
and ``y`` are lazy: indexing them gathers only the windows asked for from
``sliding_window_view``, so the lookback-fold copy of the series is never built unless someone
asks for all of it (``np.asarray(ws.X)``, fine for small data).

A window is valid when every input channel is known at every one of its lookback + horizon points
(it never spans a large gap) and all of it lies inside one part (train, val or test).
"""

from __future__ import annotations

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
from gapcast.processing.gaps import find_runs

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


def usable_points(frame: SeriesFrame) -> NDArray[np.bool_]:
    """(T,) True where every channel is known: where a window may lie."""
    return np.logical_not(np.isnan(frame.values).any(axis=0))


def longest_segment(usable: NDArray[np.bool_]) -> int:
    _, lengths = find_runs(usable)
    return int(lengths.max()) if lengths.size else 0


def _ranges(first: NDArray[np.int64], counts: NDArray[np.int64], stride: int) -> NDArray[np.int64]:
    """Concatenation of ``first[i] + stride * arange(counts[i])`` without a Python loop."""
    keep = counts > 0
    first, counts = first[keep], counts[keep]
    total = int(counts.sum())
    steps = np.full(total, stride, dtype=np.int64)
    if total == 0:
        return steps
    heads = np.cumsum(counts) - counts
    # Each run's head jumps from the previous run's last start to its own first one.
    steps[heads[0]] = first[0]
    steps[heads[1:]] = first[1:] - (first[:-1] + stride * (counts[:-1] - 1))
    return np.cumsum(steps, out=steps)


class Window(Step):
    """Cut (lookback, horizon) windows every ``stride`` points; ``targets`` default to channel 0."""

    name = "window"

    def __init__(
        self,
        lookback: int = 48,
        horizon: int = 24,
        stride: int = 1,
        targets: Sequence[str] | None = None,
    ) -> None:
        self.lookback = lookback
        self.horizon = horizon
        self.stride = stride
        self.targets = None if targets is None else tuple(targets)

    def get_params(self) -> dict[str, Any]:
        return {"lookback": self.lookback, "horizon": self.horizon, "stride": self.stride}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "inputs_", None) is None:
            return {}
        return {"inputs": list(self.inputs_), "targets": list(self.targets_)}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.inputs_: tuple[str, ...] = tuple(fitted["inputs"])
        self.targets_: tuple[str, ...] = tuple(fitted["targets"])

    @property
    def length(self) -> int:
        return self.lookback + self.horizon

    def fit(self, frame: SeriesFrame) -> Window:
        targets = self.targets if self.targets is not None else frame.channels[:1]
        for name in targets:
            frame.channel_index(name)
        train = frame.train_part()
        longest = longest_segment(usable_points(train))
        if longest < self.length:
            raise InvalidInput(
                f"{self.where()}: lookback={self.lookback} + horizon={self.horizon} = "
                f"{self.length} points is larger than the longest gap-free segment of the "
                f"training part ({longest} points); use a shorter lookback or horizon, a larger "
                "max_fill, or a coarser resample frequency",
                field=self.field("horizon"),
            )
        self._set_fitted({"inputs": list(frame.channels), "targets": list(targets)})
        return self

    def window_starts(self, frame: SeriesFrame) -> dict[str, NDArray[np.int64]]:
        """Start index of every valid window, per part.

        Built from the gap-free runs, clipped to each part: memory in proportion to the number of
        windows, not to lookback x windows or to a per-point scan.
        """
        run_starts, run_lengths = find_runs(usable_points(frame))
        run_ends = run_starts + run_lengths
        out: dict[str, NDArray[np.int64]] = {}
        for part, (begin, end) in frame.part_bounds().items():
            lo = np.maximum(run_starts, begin)
            hi = np.minimum(run_ends, end)
            # Starts stay on the part's stride grid: the first one at or after `lo`.
            first = lo + (begin - lo) % self.stride
            counts = np.maximum((hi - self.length - first) // self.stride + 1, 0)
            out[part] = _ranges(first, counts, self.stride)
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
