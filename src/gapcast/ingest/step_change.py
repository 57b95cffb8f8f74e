"""A logger reconfigured to a coarser step: every 15 minutes for a month, then hourly.

Said at import, since the dataset's step is then that of its latest readings
(:func:`~gapcast.processing.resample.recent_step`), not the one most of its rows keep: a user
comparing the step with the file would otherwise read it as a mistake.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def step_change_hint(timestamps_ns: NDArray[np.int64], values: NDArray[np.float64]) -> str | None:
    """What to say of a table (times sorted; values (columns, rows)) whose readings' step grew
    coarser before the end; None when it did not."""
    from gapcast.processing._time import format_duration, infer_frequency
    from gapcast.processing.resample import recent_step

    observed = np.isfinite(values)
    read = timestamps_ns[observed.any(axis=0)]
    if read.size < 2:
        return None
    before = infer_frequency(read)
    changed = recent_step(timestamps_ns, observed, before)
    if changed is None:
        return None
    step, since = changed
    at = str(np.datetime64(since, "ns").astype("datetime64[m]")).replace("T", " ")
    return (
        f"the readings' step went from {format_duration(before)} to {format_duration(step)} "
        f"after {at} UTC: the dataset's step is {format_duration(step)}, that of its latest "
        "readings, which forecasts are made from; a run averages the earlier readings into it"
    )
