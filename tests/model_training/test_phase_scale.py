"""Ranges that widen where the errors are larger: the spread of each phase of a day or week."""

from __future__ import annotations

import numpy as np
import pandas as pd

import gapcast
from gapcast.model_training.intervals import Intervals, calibrate
from gapcast.model_training.phase_scale import PhaseScale, fit_phase_scale

HOUR = 3_600 * 10**9


def busy_noon_counts(days: int, scale: float = 5.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hourly Poisson counts of a rate 1.5 at night and up to 16.5 at noon: (rate, counts)."""
    hour = np.arange(24 * days) % 24
    rate = scale * (0.3 + 3 * np.clip(np.sin((hour - 6) / 24 * 2 * np.pi), 0, None))
    return rate, np.random.default_rng(seed).poisson(rate).astype(float)


def hourly_errors(errors: np.ndarray, horizon: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """A model's errors as at origins every hour, ``horizon`` steps each: (errors (n, horizon,
    1), their steps' times (n, horizon))."""
    n = errors.size - horizon + 1
    steps = np.arange(n)[:, None] + np.arange(horizon)[None, :]
    return errors[steps][..., None], steps.astype(np.int64) * HOUR


def test_the_spread_follows_the_phase_where_the_errors_are_larger() -> None:
    rate, counts = busy_noon_counts(60)
    errors, times = hourly_errors(counts - rate)  # a model that knows the rate
    phase = fit_phase_scale(errors, times, 24, HOUR)
    assert phase is not None and phase.scale.shape == (24, 1)
    # Poisson: the error's spread grows with the square root of the rate.
    expected = np.sqrt(rate[:24]) / np.sqrt(rate[:24]).mean()
    np.testing.assert_allclose(phase.scale[:, 0], expected, atol=0.25)
    assert phase.scale[12, 0] > 2.5 * phase.scale[2, 0]
    np.testing.assert_allclose(phase.scale.mean(axis=0), [1.0])
    # The phase of a time is its hour (of UTC) for an hourly day.
    at = phase.at(np.array([[12 * HOUR, 24 * HOUR + 2 * HOUR]]))
    np.testing.assert_array_equal(at, [[[phase.scale[12, 0]], [phase.scale[2, 0]]]])
    # Through JSON, as stored with the intervals.
    again = PhaseScale.from_dict(phase.to_dict())
    np.testing.assert_array_equal(again.scale, phase.scale)
    # Outages: the errors not measured are left out, the profile is still read.
    gappy = np.where(np.random.default_rng(3).random(errors.shape) < 0.3, np.nan, errors)
    assert fit_phase_scale(gappy, times, 24, HOUR) is not None


def test_the_phases_are_the_wall_clocks_of_the_datas_zone() -> None:
    """Errors largest at noon in Berlin, read from a summer (noon is 10:00 UTC): the ranges
    drawn for a winter's day (noon at 11:00 UTC) follow Berlin's hours, where a profile read in
    UTC draws them an hour early. The zone is stored with the profile."""
    local = pd.date_range("2025-06-02", periods=24 * 60, freq="h", tz="Europe/Berlin")
    hours = local.hour.to_numpy()
    rate = 5.0 * (0.3 + 3 * np.clip(np.sin((hours - 6) / 24 * 2 * np.pi), 0, None))
    counts = np.random.default_rng(0).poisson(rate).astype(float)
    errors, steps = hourly_errors(counts - rate)
    times = np.asarray(local.as_unit("ns").asi8)[steps // HOUR]
    zoned = fit_phase_scale(errors, times, 24, HOUR, "Europe/Berlin")
    utc = fit_phase_scale(errors, times, 24, HOUR)
    assert zoned is not None and utc is not None and zoned.zone == "Europe/Berlin"
    expected = np.sqrt(rate[:24]) / np.sqrt(rate[:24]).mean()  # local hours 0-23
    np.testing.assert_allclose(zoned.scale[:, 0], expected, atol=0.25)
    np.testing.assert_allclose(utc.scale[:, 0], np.roll(expected, -2), atol=0.25)  # UTC+2
    winter = pd.date_range("2025-12-01", periods=24, freq="h", tz="Europe/Berlin")
    at = np.asarray(winter.as_unit("ns").asi8)
    off_zoned = np.abs(zoned.at(at)[:, 0] - expected).mean()
    off_utc = np.abs(utc.at(at)[:, 0] - expected).mean()
    assert off_zoned < 0.1 < off_utc, (off_zoned, off_utc)
    again = PhaseScale.from_dict(zoned.to_dict())
    assert again.zone == "Europe/Berlin"
    np.testing.assert_array_equal(again.at(at), zoned.at(at))
    # A profile stored before zones were read stays UTC's.
    assert PhaseScale.from_dict({"step_ns": HOUR, "scale": [[1.0]] * 24}).zone is None


def test_no_profile_where_the_errors_are_the_same_all_day_or_the_cycle_has_no_fixed_length() -> (
    None
):
    rng = np.random.default_rng(1)
    same, times = hourly_errors(rng.normal(0, 1, 24 * 60))
    assert fit_phase_scale(same, times, 24, HOUR) is None
    rate, counts = busy_noon_counts(60)
    errors, _ = hourly_errors(counts - rate)
    day = 24 * HOUR
    assert fit_phase_scale(errors, times, None, HOUR) is None  # no season
    assert fit_phase_scale(errors, times * 7 * 24, 52, 7 * day) is None  # a year of weeks
    assert fit_phase_scale(errors[:96], times[:96], 24, HOUR) is None  # four days
    # Flat errors are read as flat nearly always (one time in a hundred by the rule).
    kept = sum(
        fit_phase_scale(
            hourly_errors(np.random.default_rng(s).normal(size=24 * 40))[0],
            times[: 24 * 40 - 3],
            24,
            HOUR,
        )
        is not None
        for s in range(100)
    )
    assert kept <= 5


def test_calibrated_in_units_of_the_phase_spread_each_phase_is_covered() -> None:
    """Errors twice as large at noon as at night: one offset for both covers noon's half the
    time; offsets in units of each phase's spread cover both."""
    rng = np.random.default_rng(2)
    n, horizon = 3_000, 4
    origin_hour = rng.integers(0, 24, n)
    target_ts = (origin_hour[:, None] + np.arange(horizon)[None, :]) * HOUR
    busy = ((target_ts // HOUR) % 24 >= 8) & ((target_ts // HOUR) % 24 < 20)
    spread = np.where(busy, 2.0, 1.0)[..., None]
    residuals = rng.normal(size=(n, horizon, 1)) * spread
    busy_hours = (np.arange(24) >= 8) & (np.arange(24) < 20)
    phase = PhaseScale(HOUR, (np.where(busy_hours, 2.0, 1.0) / 1.5)[:, None])

    def coverage(iv: Intervals, mask: np.ndarray) -> float:
        bands = iv.relative(np.zeros_like(residuals), np.ones(n), None, target_ts)
        inside = (residuals >= bands[0]) & (residuals <= bands[-1])
        return float(inside[mask].mean())

    flat = calibrate(residuals, np.ones(n))
    assert flat is not None and flat.phase is None
    assert coverage(flat, busy[..., None]) < 0.7 and coverage(flat, ~busy[..., None]) > 0.9
    phased = calibrate(residuals, np.ones(n), phase=phase, target_ts=target_ts)
    assert phased is not None and phased.phase is phase
    for part in (busy, ~busy):
        assert 0.76 < coverage(phased, part[..., None]) < 0.84
    # Stored and read back with the rest of the intervals; documents before it read as flat.
    stored = Intervals.from_dict(phased.to_dict()).phase
    assert stored is not None and np.array_equal(stored.scale, phase.scale)
    assert "phase_scale" not in flat.to_dict()


def test_a_run_on_counts_busy_at_noon_draws_wider_ranges_at_noon() -> None:
    """A default run's ranges on hourly orders: as wide at noon as at night before (holding 43-60%
    of noon's points and all of the night's), wider at noon now."""
    _, counts = busy_noon_counts(60, seed=5)
    t = pd.date_range("2026-01-01", periods=counts.size, freq="h", tz="UTC")
    frame = pd.DataFrame({"time": t, "orders": counts})
    result = gapcast.train(frame, target="orders", epochs=3)
    model = gapcast.load_model(result)
    assert model.pipeline.window.season_steps == 24
    forecast = model.predict(frame)  # from midnight: noon is lead 12
    when = pd.to_datetime(forecast["timestamp"]).dt.hour.to_numpy()
    width = (forecast["orders_p90"] - forecast["orders_p10"]).to_numpy()
    assert width[when == 12][0] > 2 * width[when == 2][0]


def test_a_profile_is_damped_to_the_contrast_that_holds_out_of_sample() -> None:
    """The training part's errors are in-sample: the validation part's say how much of their
    profile's contrast between phases is real."""
    from gapcast.model_training.phase_scale import damped

    rng = np.random.default_rng(4)
    busy = (np.arange(24) >= 8) & (np.arange(24) < 20)
    profile = PhaseScale(HOUR, np.where(busy, 1.5, 0.5)[:, None])

    def errors(busy_over_calm: float) -> tuple[np.ndarray, np.ndarray]:
        hour = np.arange(24 * 30) % 24
        return hourly_errors(rng.normal(size=hour.size) * np.where(busy, busy_over_calm, 1)[hour])

    # Out of sample the busy hours' errors are 3x the others', as the profile says: kept.
    kept = damped(profile, *errors(3.0))
    assert kept is not None
    np.testing.assert_allclose(kept.scale[:, 0], profile.scale[:, 0], atol=0.08)
    # Half the contrast (5/3 = 1.25 / 0.75): half the profile.
    halved = damped(profile, *errors(5 / 3))
    assert halved is not None
    np.testing.assert_allclose(halved.scale[:, 0], np.where(busy, 1.25, 0.75), atol=0.08)
    # The same at every hour: nothing of it holds.
    left = damped(profile, *errors(1.0))
    assert left is None or np.abs(left.scale - 1).max() < 0.1
