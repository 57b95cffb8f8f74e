"""Split: chronological train / validation / test parts of the grid.

The boundaries are decided here, before any trend or scale fitting, so those are fitted on the
training part alone. They are stored as timestamps (not indices), so a fitted pipeline applied to
other data of the same series splits it at the same moments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gapcast.errors import InvalidInput
from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame


class Split(FrameStep):
    """The last ``test`` fraction is the test part, the ``val`` fraction before it validation:
    fractions of the grid up to its last observed point. A series whose sensor went dark
    before the export ended (rows with no value at the end) keeps a test part with data to score;
    the dark steps join the test part, where nothing is scored."""

    name = "split"

    def __init__(self, val: float = 0.15, test: float = 0.15) -> None:
        self.val = val
        self.test = test

    def get_params(self) -> dict[str, Any]:
        return {"val": self.val, "test": self.test}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "val_start_ns_", None) is None:
            return {}
        return {"val_start_ns": self.val_start_ns_, "test_start_ns": self.test_start_ns_}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.val_start_ns_: int = int(fitted["val_start_ns"])
        self.test_start_ns_: int = int(fitted["test_start_ns"])

    def fit(self, frame: SeriesFrame) -> Split:
        n = frame.n_points
        seen = np.flatnonzero(np.asarray(frame.mask).any(axis=0))
        end = int(seen[-1]) + 1 if seen.size else n
        n_test = max(1, round(end * self.test)) if self.test > 0 else 0
        n_val = round(end * self.val)
        test_start = end - n_test
        val_start = test_start - n_val
        if val_start < 1:
            raise InvalidInput(
                f"{self.where()}: {n} points"
                + (f" ({end} up to the last observed one)" if end < n else "")
                + f" leave no training part with val={self.val} and test={self.test}",
                field=self.field(),
            )
        ts = frame.timestamps
        self._set_fitted(
            {
                "val_start_ns": int(ts[val_start]),
                "test_start_ns": int(ts[test_start]) if test_start < n else int(ts[-1]) + 1,
            }
        )
        return self

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._require_fitted()
        ts = frame.timestamps
        val_start = int(np.searchsorted(ts, self.val_start_ns_, side="left"))
        test_start = int(np.searchsorted(ts, self.test_start_ns_, side="left"))
        return frame.replace(split=(val_start, test_start))
