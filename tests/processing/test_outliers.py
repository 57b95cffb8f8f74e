"""The mask_outliers step: glitches become missing readings; events, shifts and counts stay."""

from __future__ import annotations

import numpy as np
import pytest

from gapcast.processing import MaskOutliers, SeriesFrame, outliers
from gapcast.processing.outliers import glitches, step_spread

HOUR = 3_600 * 10**9


def noisy(n: int = 400, seed: int = 0) -> np.ndarray:
    """A daily cycle with noise: step-to-step changes of about 0.3."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 20 + 2 * np.sin(2 * np.pi * t / 24) + 0.2 * rng.normal(size=n)


def frame_of(values: np.ndarray, split: tuple[int, int] | None = None) -> SeriesFrame:
    ts = np.arange(values.size, dtype=np.int64) * HOUR
    return SeriesFrame(ts, values[np.newaxis, :], ("temp",), HOUR, split=split)


def test_spikes_and_short_runs_far_from_both_neighbours_are_masked() -> None:
    values = noisy()
    values[50] = 5000.0  # a sensor's spike
    values[120:123] = -40.0  # three readings of a stuck logger, then back
    values[200] = 0.0  # a stray zero
    step = MaskOutliers()
    out = step.fit_transform(frame_of(values, split=(280, 340)))
    assert np.flatnonzero(step.report_[0]).tolist() == [50, 120, 121, 122, 200]
    assert np.isnan(out.values[0, [50, 120, 121, 122, 200]]).all()
    assert not out.mask[0, [50, 120, 121, 122, 200]].any()
    untouched = np.setdiff1d(np.arange(values.size), [50, 120, 121, 122, 200])
    assert np.array_equal(out.values[0, untouched], values[untouched])


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("a run longer than max_run is an event", lambda v: v.__setitem__(slice(50, 54), 60.0)),
        ("a level shift stays away", lambda v: v.__setitem__(slice(150, None), v[150:] + 100)),
        ("the last reading has no next one yet", lambda v: v.__setitem__(-1, 5000.0)),
        ("a mild spike is a reading", lambda v: v.__setitem__(50, v[50] + 4.0)),
        (
            "after an outage the next reading may be at a new level",
            lambda v: (v.__setitem__(slice(40, 60), np.nan), v.__setitem__(60, 5000.0)),
        ),
    ],
)
def test_what_is_not_a_glitch(case: str, change: object) -> None:
    values = noisy()
    change(values)  # type: ignore[operator]
    step = MaskOutliers()
    step.fit_transform(frame_of(values, split=(280, 340)))
    assert not step.report_.any(), case


def test_a_channel_whose_changes_are_mostly_zero_is_never_checked() -> None:
    counts = np.zeros(300)
    counts[[20, 90, 91, 200]] = [7.0, 40.0, 3.0, 900.0]  # intermittent demand: all real orders
    assert step_spread(counts) == 0.0
    step = MaskOutliers()
    step.fit_transform(frame_of(counts))
    assert not step.report_.any()


def test_the_typical_change_is_the_training_parts_and_transform_reuses_it() -> None:
    values = noisy()
    values[300:] = noisy(100, seed=1)[:] * 50  # a stormy test part does not loosen the rule
    step = MaskOutliers(threshold=20)
    step.fit(frame_of(values, split=(200, 250)))
    assert step.spread_["temp"] == pytest.approx(step_spread(values[:200]))
    recent = noisy(48, seed=2)
    recent[30] = 5000.0
    assert np.flatnonzero(step.found(frame_of(recent))[0]).tolist() == [30]


def test_glitches_read_the_grid_with_its_missing_readings() -> None:
    values = noisy(100)
    values[[10, 11, 13]] = np.nan
    values[12] = 5000.0  # its neighbours are readings 9 and 14: near enough to judge by
    assert np.flatnonzero(glitches(values, 0.3, 20.0, 3)).tolist() == [12]


def test_judged_in_stretches_it_finds_what_it_finds_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    values = noisy(3000, seed=3)
    values[rng.random(values.size) < 0.05] = np.nan
    starts, runs = rng.choice(2990, 120, replace=False), rng.integers(1, 5, 120)
    for start, run in zip(starts, runs, strict=True):
        values[start : start + run] = rng.choice([-500.0, 500.0])
    spread = step_spread(values)
    whole = glitches(values, spread, 20.0, 3)
    assert 50 < whole.sum() < 400
    for chunk in (5, 64, 1000):
        monkeypatch.setattr(outliers, "CHUNK", chunk)
        assert np.array_equal(glitches(values, spread, 20.0, 3), whole), chunk


def test_the_typical_change_reads_the_readings_not_values_filled_between_them() -> None:
    values = noisy()
    read = np.ones(values.size, dtype=bool)
    read[1::2] = False  # every other point filled in by a fill step, halfway between its neighbours
    filled = values.copy()
    filled[1:-1:2] = (values[0:-2:2] + values[2::2]) / 2
    ts = np.arange(values.size, dtype=np.int64) * HOUR
    frame = SeriesFrame(ts, filled[np.newaxis, :], ("temp",), HOUR, read[np.newaxis, :])
    step = MaskOutliers().fit(frame)
    readings = step_spread(np.where(read, filled, np.nan))
    assert step.spread_["temp"] == pytest.approx(readings)
    assert step_spread(filled) < 0.7 * readings  # what the filled values would have said
