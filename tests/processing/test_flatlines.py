"""A continuous sensor that repeats one value for a day or more is found; values that repeat by
nature (counts, report-on-change sensors, short runs) are not."""

from __future__ import annotations

import numpy as np

from gapcast.processing.flatlines import Flatline, longest_flatline, min_readings

HOUR_NS = 3600 * 10**9


def sensor(n: int = 1500, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    return 10 + 3 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(seed).normal(0, 0.3, n)


def test_a_stuck_sensor_is_found_across_the_missing_readings_inside_it() -> None:
    v = sensor()
    v[300:701] = 12.0
    v[400:420] = np.nan  # an outage inside the run: the run goes on after it
    v[900:930] = 7.5  # a second, shorter run of a day and more
    assert longest_flatline(v, HOUR_NS) == Flatline(300, 700, 381, 12.0, 2)


def test_short_runs_and_channels_that_repeat_by_nature_are_not_reported() -> None:
    assert min_readings(HOUR_NS) == 24 and min_readings(60 * 10**9) == 1440
    assert min_readings(7 * 24 * HOUR_NS) == 12  # weekly data: twelve weeks, not a day
    v = sensor()
    assert longest_flatline(v, HOUR_NS) is None
    v[300:323] = 12.0  # 23 hours: under a day
    assert longest_flatline(v, HOUR_NS) is None
    # A count that is often zero (night-time solar power, a sales count): never judged, even
    # with a long run of zeros.
    solar = np.maximum(sensor(), 10.0) - 10.0
    solar[300:400] = 0.0
    assert longest_flatline(solar, HOUR_NS) is None
    # Too few readings to say anything.
    assert longest_flatline(np.array([1.0, np.nan]), HOUR_NS) is None
    # One value throughout (or nearly): nothing changes outside the run, so no "otherwise".
    assert longest_flatline(np.full(500, 5.0), HOUR_NS) is None
    nearly = np.full(500, 5.0)
    nearly[:5] = [1.0, 2.0, 3.0, 4.0, 4.5]
    assert longest_flatline(nearly, HOUR_NS) is None
