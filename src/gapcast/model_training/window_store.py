"""The training windows of a small series, built once and indexed after.

A run trains the same windows many times: every epoch of every candidate, and the refit copies
(10 of them when ``auto`` keeps an average). Built from the grid as each batch is asked for, they
were 42% of the demo run's training time (profiled: 5.8 s of 13.9 s in ``fit_model``). Where all of
them fit in :data:`STORE_MAX_BYTES` they are built once per run and every batch is read from
them; past it (a minute series has more windows than memory) batches are built as training goes
(:func:`~gapcast.model_training.forecaster.window_dataset`). A window is built on its own, so one
read from the store is the one built for its batch, to the bit.

The store is the one place windows are copied rather than viewed: a cache bounded per run, traded
for time (the suite's glucose series, 26,417 readings, stores 260 MB of windows and trains in
25 s instead of 45 s; bench/README.md, run_speed). Preparation keeps windows as views whatever
the size.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gapcast.processing.frame import SeriesFrame
from gapcast.processing.pipeline import ProcessingPipeline
from gapcast.processing.window_inputs import Layout

F32 = NDArray[np.float32]

STORE_MAX_BYTES = 256 * 1024**2
# Windows built per call while filling the store: building holds a few times one call's bytes.
BUILD_CHUNK = 4096


def window_bytes(layout: Layout) -> int:
    """Bytes one stored window takes: inputs, relative targets, reference and weights."""
    inputs = layout.steps * layout.n_features
    return 4 * (inputs + 2 * layout.horizon * layout.n_targets + layout.horizon)


class WindowStore:
    """Model inputs, targets, references and weights of the windows at ``origins``."""

    def __init__(
        self, pipeline: ProcessingPipeline, frame: SeriesFrame, origins: NDArray[np.int64]
    ) -> None:
        self.origins = np.unique(np.asarray(origins, dtype=np.int64))
        n, layout = self.origins.size, pipeline.layout
        self.x: F32 = np.empty((n, layout.steps, layout.n_features), np.float32)
        self.y: F32 = np.empty((n, layout.horizon, layout.n_targets), np.float32)
        self.reference: F32 = np.empty_like(self.y)
        self.weight: F32 = np.empty((n, layout.horizon), np.float32)
        for first in range(0, n, BUILD_CHUNK):
            part = slice(first, first + BUILD_CHUNK)
            batch = pipeline.model_batch(frame, self.origins[part], with_targets=True)
            assert batch.y is not None and batch.weight is not None
            self.x[part], self.y[part] = batch.x, batch.y
            self.reference[part], self.weight[part] = batch.reference, batch.weight

    @classmethod
    def fits(cls, layout: Layout, n_windows: int) -> bool:
        return n_windows * window_bytes(layout) <= STORE_MAX_BYTES

    def holds(self, origins: NDArray[np.int64]) -> bool:
        """Whether every window at ``origins`` is stored."""
        at = np.searchsorted(self.origins, origins)
        inside = at < self.origins.size
        return bool(inside.all() and np.array_equal(self.origins[at], origins))

    def take(self, origins: NDArray[np.int64], correction: bool) -> tuple[F32, F32, F32]:
        """Inputs, what to train towards (the relative targets, minus the reference when
        correcting it, as ``training_target``) and the weights of the windows at ``origins``;
        new arrays, so a caller may change them."""
        at = np.searchsorted(self.origins, origins)
        y = self.y[at] - self.reference[at] if correction else self.y[at]
        return self.x[at], np.ascontiguousarray(y, dtype=np.float32), self.weight[at]
