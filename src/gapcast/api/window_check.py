"""Whether a dataset's observed points can fill one training window, judged before a run exists.

``submit.check_length`` compares sizes with the time span; a series with a long outage passes that
and still has no window with enough observed inputs, which the worker finds only after loading and
preparing the data (a run that fails seconds after it was accepted). Here the target channels'
timestamps are placed on the dataset's grid and the training windows are counted with the worker's
rule (:meth:`gapcast.processing.windows.Window.window_starts`): ``min_observed`` of the lookback and
one target observed, the targets inside the training part of the split.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from gapcast.db.points import load_points
from gapcast.db.tables import Dataset
from gapcast.errors import InvalidInput
from gapcast.processing.config import SplitStep, WindowStep
from gapcast.training_config import TrainingConfig

# Above this many target points the check is left to the worker: loading them here would hold a
# request thread (and memory) for seconds, and a series that long rarely lacks one window.
MAX_CHECKED_POINTS = 5_000_000


def check_windows(session: Session, dataset: Dataset, config: TrainingConfig) -> None:
    """Refuse (InvalidInput naming the window step) a config whose explicit lookback and horizon
    no training window of the dataset can fill; sizes left to the data are judged by the worker,
    which resolves them from the seasons it finds."""
    window = next((s for s in config.preprocessing if isinstance(s, WindowStep)), None)
    split = next((s for s in config.preprocessing if isinstance(s, SplitStep)), None)
    if window is None or window.lookback is None or window.horizon is None or split is None:
        return
    freq_ns = _grid_freq(dataset, config)
    targets = config.target or [s.name for s in dataset.series[:1]]
    series = [s for s in dataset.series if s.name in targets]
    if freq_ns is None or not series or sum(s.point_count for s in series) > MAX_CHECKED_POINTS:
        return
    conn = session.connection()
    stamps = np.concatenate([load_points(conn, s.id)[0] for s in series])
    if len(stamps) == 0:
        return
    observed = _observed_grid(stamps, freq_ns)
    n = len(observed)
    # The split step's own arithmetic (processing/split.py) on the grid.
    n_test = max(1, round(n * split.test))
    train_end = n - n_test - round(n * split.val)
    lb, hz = window.lookback, window.horizon
    usable = _usable_windows(observed[: max(train_end, 0)], lb, hz, window.min_observed)
    if usable:
        return
    index = next(i for i, s in enumerate(config.preprocessing) if isinstance(s, WindowStep))
    observed_train = int(observed[: max(train_end, 0)].sum())
    raise InvalidInput(
        f"dataset {dataset.name!r} cannot fill one training window of lookback {lb} + horizon "
        f"{hz}: its training part has {observed_train} observed of {max(train_end, 0)} steps, and "
        f"no stretch of it has {window.min_observed:.0%} of a lookback and one target observed "
        "(outages leave too little). Use a shorter lookback or horizon, a lower min_observed, "
        "or more data",
        field=f"config.preprocessing[{index}].lookback",
    )


def _grid_freq(dataset: Dataset, config: TrainingConfig) -> int | None:
    """The step of the grid the windows run on: the dataset's, or a coarser resample's."""
    freq_ns = dataset.frequency_ns
    if not freq_ns:
        return None
    for step in config.preprocessing:
        if step.step == "resample" and step.freq is not None:
            try:
                freq_ns = max(freq_ns, int(pd.to_timedelta(step.freq).value))
            except ValueError:
                return None  # a calendar alias ('MS'): its grid is not a fixed step; worker judges
    return int(freq_ns)


def _observed_grid(stamps: NDArray[np.int64], freq_ns: int) -> NDArray[np.bool_]:
    """(T,) True where some point falls in that step of a grid starting at the first point."""
    slots = (stamps - stamps.min()) // freq_ns
    observed = np.zeros(int(slots.max()) + 1, dtype=bool)
    observed[slots] = True
    return observed


def _usable_windows(observed: NDArray[np.bool_], lookback: int, horizon: int, share: float) -> int:
    """How many windows of ``observed`` have ``share`` of the lookback and one target observed."""
    n = len(observed)
    last = n - horizon  # the last origin whose horizon fits
    if last < lookback:
        return 0
    seen = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(observed, out=seen[1:])
    at = seen[lookback : last + 1]
    need = max(1, math.ceil(share * lookback - 1e-9))
    ok = (at - seen[: last + 1 - lookback]) >= need
    ok &= (seen[lookback + horizon : last + horizon + 1] - at) >= 1
    return int(ok.sum())
