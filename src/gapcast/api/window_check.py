"""Whether a dataset's observed points can fill one training window, judged before a run exists.

``submit.check_length`` compares sizes with the time span; a series with a long outage passes that
and still has no window with enough observed inputs, which the worker finds only after loading and
preparing the data (a run that fails seconds after it was accepted). Here the target channels'
timestamps are placed on the dataset's grid and the training windows are counted with the worker's
rule (:meth:`gapcast.processing.windows.Window.window_starts`): ``min_observed`` of the lookback and
one target observed, the targets inside the training part of the split. Sizes left unset are tried
at every value the worker may resolve them to, so nothing the worker would accept is refused.
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
from gapcast.processing._time import round_step
from gapcast.processing.config import SplitStep, WindowStep
from gapcast.processing.resample import bin_numbers, grid_origin, own_step, phase_shift
from gapcast.processing.seasons import (
    Season,
    candidate_seasons,
    default_horizon,
    default_lookback,
    fitted_sizes,
)
from gapcast.training_config import TrainingConfig

# Above this many target points the check is left to the worker: loading them here would hold a
# request thread (and memory) for seconds, and a series that long rarely lacks one window.
MAX_CHECKED_POINTS = 5_000_000


def check_windows(session: Session, dataset: Dataset, config: TrainingConfig) -> None:
    """Refuse (InvalidInput naming the window step) a config whose lookback and horizon no
    training window of the dataset can fill. A size left unset is judged by every value the
    worker may resolve it to (the lookback depends on the seasons it confirms): the config is
    refused only when none of them fits."""
    window = next((s for s in config.preprocessing if isinstance(s, WindowStep)), None)
    split = next((s for s in config.preprocessing if isinstance(s, SplitStep)), None)
    freq_ns = _grid_freq(dataset, config)
    if window is None or split is None or freq_ns is None:
        return
    targets = config.target or [s.name for s in dataset.series[:1]]
    series = [s for s in dataset.series if s.name in targets]
    if not series or sum(s.point_count for s in series) > MAX_CHECKED_POINTS:
        return
    conn = session.connection()
    stamps = np.concatenate([load_points(conn, s.id)[0] for s in series])
    if len(stamps) == 0:
        return
    own = round_step(dataset.frequency_ns or freq_ns)
    if len(series) < len(dataset.series) and freq_ns == own:
        # A target logged on a coarser step than the dataset's rows runs on that step, as the
        # resample step chooses it (processing/resample.py, grid_source).
        coarser = own_step(np.unique(stamps), own)
        freq_ns = own = coarser or freq_ns
    observed = _observed_grid(stamps, freq_ns, own=freq_ns == own)
    n = len(observed)
    # The split step's own arithmetic (processing/split.py) on the grid.
    n_test = max(1, round(n * split.test))
    n_val = round(n * split.val)
    train = observed[: max(n - n_test - n_val, 0)]
    horizon = window.horizon if window.horizon is not None else default_horizon(freq_ns)
    lookbacks = possible_lookbacks(window, freq_ns, horizon)
    # A short series' unset sizes are cut to fit it, as the worker's window step cuts them.
    sized = [
        fitted_sizes(
            lb,
            horizon,
            train=len(train),
            held_out=min(n_test, n_val) if n_val > 0 else n_test,
            season=None,
            lookback_given=window.lookback is not None,
            horizon_given=window.horizon is not None,
        )[:2]
        for lb in lookbacks
    ]
    if any(_usable_windows(train, lb, hz, window.min_observed) for lb, hz in sized):
        return
    index = next(i for i, s in enumerate(config.preprocessing) if isinstance(s, WindowStep))
    lookback = (
        str(window.lookback)
        if window.lookback is not None
        else " or ".join(map(str, lookbacks)) + " (the defaults this frequency may resolve to)"
    )
    said = "" if window.horizon is not None else " (the default for this frequency)"
    # The size the user chose is the one to change: the lookback when given, else the horizon.
    named = "lookback" if window.lookback is not None else "horizon"
    raise InvalidInput(
        f"dataset {dataset.name!r} cannot fill one training window of lookback {lookback} + "
        f"horizon {horizon}{said}: its training part has {int(train.sum())} observed of "
        f"{len(train)} steps, and no stretch of it has {window.min_observed:.0%} of a lookback "
        "and one target observed (outages leave too little). Use a shorter lookback or horizon, "
        "a lower min_observed, or more data",
        field=f"config.preprocessing[{index}].{named}",
    )


def possible_lookbacks(window: WindowStep, freq_ns: int, horizon: int) -> list[int]:
    """The lookback the worker uses: the one given, or one of those ``Window._resolve`` may
    choose — two cycles of a confirmed season, or the frequency's natural season without one,
    never shorter than the ``horizon``."""
    if window.lookback is not None:
        return [window.lookback]
    references = [None, *candidate_seasons(freq_ns)]
    if isinstance(window.season, int):
        references.append(Season(f"{window.season} steps", window.season))
    found = {default_lookback(freq_ns, [], ref, horizon=horizon) for ref in references}
    return sorted(found)


def _grid_freq(dataset: Dataset, config: TrainingConfig) -> int | None:
    """The step of the grid the windows run on: the dataset's, or a coarser resample's."""
    if not dataset.frequency_ns:
        return None
    freq_ns = round_step(dataset.frequency_ns)  # as the resample step rounds a stored step
    for step in config.preprocessing:
        if step.step == "resample" and step.freq is not None:
            try:
                freq_ns = max(freq_ns, int(pd.to_timedelta(step.freq).value))
            except ValueError:
                return None  # a calendar alias ('MS'): its grid is not a fixed step; worker judges
    return int(freq_ns)


def _observed_grid(stamps: NDArray[np.int64], freq_ns: int, own: bool) -> NDArray[np.bool_]:
    """(T,) True where some point falls in that step of the grid, binned as the worker's
    resample step bins it (on the data's ``own`` step, bins follow the readings' phase)."""
    origin = grid_origin(int(stamps.min()), freq_ns)
    shift = phase_shift(stamps, freq_ns, origin) if own else 0
    slots = bin_numbers(stamps, freq_ns, origin, shift)
    slots -= slots.min()
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
