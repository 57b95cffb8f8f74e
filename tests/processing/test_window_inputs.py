"""Model inputs of a window: calendar, seasons, observed mask, relative scaling, reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gapcast.processing.calendar import (
    Calendar,
    cycle_features,
    cycles_for,
    phase,
    window_cycle_features,
)
from gapcast.processing.seasons import (
    DAY_NS,
    HOUR_NS,
    Season,
    confirmed_seasons,
    default_horizon,
    default_lookback,
    fitted_sizes,
    longer_season,
    winsorized,
)
from gapcast.processing.window_inputs import Layout, build_batch

MINUTE_NS = 60 * 10**9


def ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def test_calendar_features_are_exact_for_known_utc_timestamps() -> None:
    # Monday 2024-01-01 06:00 UTC: a quarter of the day, 6 h into the week, the year's start.
    t = np.array([ns("2024-01-01T06:00")])
    assert phase(t, "time_of_day")[0] == pytest.approx(0.25)
    assert phase(t, "day_of_week")[0] == pytest.approx(6 / (7 * 24))
    assert phase(t, "day_of_year")[0] == pytest.approx(6 / (366 * 24))  # 2024 is a leap year
    # Sunday 18:00 is three quarters of a day before the next Monday.
    assert phase(np.array([ns("2024-01-07T18:00")]), "day_of_week")[0] == pytest.approx(
        (6 * 24 + 18) / (7 * 24)
    )
    # 2023-07-02 12:00: day 182.5 of 365.
    assert phase(np.array([ns("2023-07-02T12:00")]), "day_of_year")[0] == pytest.approx(182.5 / 365)
    f = cycle_features(t, ["time_of_day", "day_of_week"])
    assert f.shape == (1, 4) and f.dtype == np.float32
    np.testing.assert_allclose(f[0, :2], [1.0, 0.0], atol=1e-6)  # sin, cos of a quarter turn


def test_calendar_cycles_follow_the_frequency_and_span() -> None:
    year = 365 * DAY_NS
    assert cycles_for(30 * MINUTE_NS, 100 * DAY_NS) == ["time_of_day", "day_of_week"]
    assert cycles_for(DAY_NS, year) == ["day_of_week"]  # one year: no yearly cycle yet
    assert cycles_for(DAY_NS, 3 * year) == ["day_of_week", "day_of_year"]
    assert cycles_for(7 * DAY_NS, 40 * year) == ["day_of_year"]
    step = Calendar().fit(_frame(np.arange(96.0), 30 * MINUTE_NS))
    assert step.cycles_ == ["time_of_day", "day_of_week"] and step.n_features == 4
    # Two calendar years of daily data (2011-01-01 to 2012-12-31, 731 points) cover two years;
    # a day fewer does not.
    two_years = Calendar().fit(_frame(np.arange(731.0), DAY_NS, start="2011-01-01"))
    assert two_years.cycles_ == ["day_of_week", "day_of_year"]
    short = Calendar().fit(_frame(np.arange(730.0), DAY_NS, start="2011-01-02"))
    assert short.cycles_ == ["day_of_week"]


def _frame(values: np.ndarray, freq: int, start: str = "2024-01-01"):  # type: ignore[no-untyped-def]
    from gapcast.processing.frame import SeriesFrame

    ts = ns(start) + freq * np.arange(values.size)
    return SeriesFrame.from_arrays(ts, values, ["v"], freq_ns=freq)


def test_seasons_are_confirmed_by_autocorrelation() -> None:
    t = np.arange(24 * 7 * 6)
    daily = np.sin(2 * np.pi * t / 24)
    assert [s.name for s in confirmed_seasons(daily, HOUR_NS)] == ["1 day", "1 week"]
    assert confirmed_seasons(np.random.default_rng(1).normal(size=t.size), HOUR_NS) == []
    # A random walk correlates with itself a day later (0.9+) without any cycle: not a season.
    walk = np.cumsum(np.random.default_rng(2).normal(size=t.size))
    assert confirmed_seasons(walk, HOUR_NS) == []
    # A daily cycle riding on a random walk is still found.
    assert [s.name for s in confirmed_seasons(walk + 5 * daily, HOUR_NS)][:1] == ["1 day"]
    assert default_horizon(HOUR_NS) == 24 and default_horizon(5 * MINUTE_NS) == 48
    # Four hours, but within half the lookback budget: 10-second data forecasts 512 steps.
    assert default_horizon(MINUTE_NS) == 240 and default_horizon(MINUTE_NS // 6) == 512
    assert default_horizon(DAY_NS) == 14 and default_horizon(7 * DAY_NS) == 13
    assert default_lookback(HOUR_NS, [], Season("1 day", 24), horizon=24) == 48
    assert default_lookback(MINUTE_NS, [], Season("1 day", 1440), horizon=240) == 1024  # budget
    assert default_lookback(7 * DAY_NS, [], Season("1 year", 52), horizon=13) == 104


def test_one_level_shift_or_spike_does_not_hide_a_season() -> None:
    """A sensor recalibrated once (+50 on a daily cycle of amplitude 3): unclipped, the shift is
    most of the changes' variance and the day read 0.10 (under the threshold) while the week read
    0.20, so the run corrected last week's value with two weeks of lookback and lost 2.7x to the
    seasonal naive; a page's one-day spike hides a week the same way."""
    t = np.arange(1050)
    noise = np.random.default_rng(7).normal(0, 0.3, t.size)
    daily = 10 + 3 * np.sin(2 * np.pi * t / 24) + noise
    shifted = daily + 50 * (t >= 1000)
    assert [s.name for s in confirmed_seasons(shifted, HOUR_NS)] == ["1 day", "1 week"]
    spiky = daily.copy()
    spiky[[200, 600]] += 400
    assert [s.name for s in confirmed_seasons(spiky, HOUR_NS)] == ["1 day", "1 week"]
    # Clipping leaves ordinary changes alone and stops at five robust deviations.
    changes = np.diff(shifted)[None, :]
    clipped = winsorized(changes)
    typical = np.abs(changes[0] - np.median(changes[0])) < 2
    np.testing.assert_array_equal(clipped[0, typical], changes[0, typical])
    assert clipped[0, 999] < 5 and changes[0, 999] > 49
    # Mostly equal changes (a counter that rarely moves) have no spread to clip by: kept.
    flat = np.zeros((1, 50))
    flat[0, 10] = 3.0
    np.testing.assert_array_equal(winsorized(flat), flat)
    # Through a run's preparation: the shifted series corrects yesterday, reading two days.
    from gapcast.model_training.training_data import prepare
    from gapcast.training_config import TrainingConfig

    data = prepare(_frame(np.concatenate([shifted, shifted[-450:]]), HOUR_NS), TrainingConfig())
    assert data.pipeline.layout.season == 24 and data.pipeline.layout.lookback == 48


def test_the_default_lookback_is_never_shorter_than_the_horizon() -> None:
    """Daily data without a confirmed week reads its 14-day horizon, not one week (8 days);
    with the week confirmed it reads two weeks either way; a long horizon the user sets lengthens
    an unset lookback, within the budget."""
    assert default_lookback(DAY_NS, [], None, horizon=1) == 8
    assert default_lookback(DAY_NS, [], None, horizon=default_horizon(DAY_NS)) == 14
    assert default_lookback(DAY_NS, [], Season("1 week", 7), horizon=14) == 14
    assert default_lookback(HOUR_NS, [], Season("1 day", 24), horizon=72) == 72
    assert default_lookback(HOUR_NS, [], None, horizon=5000) == 1024
    # Through a run's preparation: a daily random walk (no weekly cycle to confirm).
    from gapcast.model_training.training_data import prepare
    from gapcast.training_config import TrainingConfig

    walk = 100 + np.cumsum(np.random.default_rng(3).normal(size=500))
    data = prepare(_frame(walk, DAY_NS), TrainingConfig())
    assert data.seasons == [] and data.horizon == 14
    assert data.pipeline.layout.lookback == 14


def layout(**changes: object) -> Layout:
    base = {
        "lookback": 8,
        "horizon": 4,
        "n_targets": 1,
        "n_inputs": 1,
        "cycles": ("time_of_day",),
        "season": 4,
        "scaling": "window",
        "spread_floor": (1e-6,),
    }
    base.update(changes)
    return Layout(**base)  # type: ignore[arg-type]


def test_a_short_series_gets_default_sizes_that_fit_it() -> None:
    # Five years of monthly sales: 42 training steps, 9 of validation and 9 of test.
    sizes = {"train": 42, "held_out": 9, "season": 12}
    assert fitted_sizes(24, 12, **sizes, lookback_given=False, horizon_given=False) == (
        24,
        9,
        "a short series: horizon 9 instead of 12: the test and validation parts hold 9 steps",
    )
    # Sizes the user gave are never cut (the run is refused, naming them, as before).
    assert fitted_sizes(24, 12, **sizes, lookback_given=True, horizon_given=True)[:2] == (24, 12)
    # Three years: the lookback shrinks to leave 8 training windows, never below one season.
    three = fitted_sizes(
        24, 12, train=26, held_out=5, season=12, lookback_given=False, horizon_given=False
    )
    assert three[:2] == (14, 5) and "holds 8 windows" in str(three[2])
    assert fitted_sizes(
        24, 12, train=20, held_out=5, season=12, lookback_given=False, horizon_given=False
    )[:2] == (12, 5)
    # A series long enough keeps the defaults and says nothing.
    assert fitted_sizes(
        48, 24, train=7_000, held_out=1_500, season=24, lookback_given=False, horizon_given=False
    ) == (48, 24, None)


def test_a_hole_in_the_inputs_has_mask_zero_and_carries_the_last_value() -> None:
    values = np.arange(20.0)[None, :]
    observed = np.ones((1, 20), bool)
    values[0, 10:13] = np.nan  # a 3-step hole inside the lookback [6, 14) of origin 14
    observed[0, 10:13] = False
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([14]), layout())
    mask = batch.x[0, :8, 1]
    assert mask.tolist() == [1, 1, 1, 1, 0, 0, 0, 1]
    rel = batch.x[0, :8, 0] * batch.spread[0, 0] + batch.level[0, 0]
    np.testing.assert_allclose(rel, [6, 7, 8, 9, 9, 9, 9, 13], rtol=1e-6)
    known = np.array([6, 7, 8, 9, 13.0])
    assert batch.level[0, 0] == pytest.approx(known.mean())
    assert batch.spread[0, 0] == pytest.approx(known.std())
    assert batch.observed_fraction[0] == pytest.approx(5 / 8)
    assert batch.x[0, 8:, 0].tolist() == [0.0] * 4 and batch.x[0, 8:, -1].tolist() == [1.0] * 4


def test_hidden_lookback_steps_read_as_an_outage_in_every_channel_not_known_ahead() -> None:
    # Channels: the target, a past-only covariate, a covariate known in advance.
    values = np.vstack([np.arange(20.0), 100 + np.arange(20.0), np.tile([0.0, 1.0], 10)])
    observed = np.ones((3, 20), bool)
    shape = layout(n_inputs=3, future_inputs=(2,), spread_floor=(1e-6,) * 3, train_mean=(0,) * 3)
    origins = np.array([14])
    plain = build_batch(values, observed, 0, HOUR_NS, origins, shape, with_targets=True)
    hide = np.zeros((1, 8), bool)
    hide[0, 3:7] = True  # steps 9 to 12 of the lookback [6, 14)
    drawn = build_batch(values, observed, 0, HOUR_NS, origins, shape, with_targets=True, hide=hide)
    for c in (0, 1):
        assert drawn.x[0, :8, 3 + c].tolist() == [1, 1, 1, 0, 0, 0, 0, 1]  # mask 0 there
        known = values[c, [6, 7, 8, 13]]
        assert drawn.level[0, c] == pytest.approx(known.mean())  # level of what is left
        real = drawn.x[0, :8, c] * drawn.spread[0, c] + drawn.level[0, c]
        np.testing.assert_allclose(real, values[c, [6, 7, 8, 8, 8, 8, 8, 13]], rtol=1e-6)
    # The covariate known in advance is untouched, and so are the targets and their weights.
    np.testing.assert_array_equal(drawn.x[:, :, [2, 5]], plain.x[:, :, [2, 5]])
    assert drawn.y is not None and plain.y is not None
    np.testing.assert_allclose(drawn.to_real(drawn.y), plain.to_real(plain.y), rtol=1e-6)
    np.testing.assert_array_equal(drawn.weight, plain.weight)  # type: ignore[arg-type]
    assert drawn.observed_fraction[0] == pytest.approx(4 / 8)


def test_a_shift_of_the_series_shifts_only_the_level() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(1, 40))
    observed = np.ones_like(values, dtype=bool)
    origins = np.array([10, 20, 30])
    a = build_batch(values, observed, 0, HOUR_NS, origins, layout(), with_targets=True)
    b = build_batch(values + 1000, observed, 0, HOUR_NS, origins, layout(), with_targets=True)
    np.testing.assert_allclose(a.x, b.x, atol=1e-4)
    np.testing.assert_allclose(b.level - a.level, 1000.0)
    np.testing.assert_allclose(b.to_real(a.y) - a.to_real(a.y), 1000.0, atol=1e-4)  # type: ignore[arg-type]


def test_reference_is_the_value_one_season_earlier_and_unobserved_targets_weigh_nothing() -> None:
    values = np.arange(20.0)[None, :]
    observed = np.ones((1, 20), bool)
    observed[0, 15] = False  # never observed: its target has no weight
    values[0, 15] = np.nan
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([14]), layout(), with_targets=True)
    reference = batch.to_real(batch.reference)[0, :, 0]
    np.testing.assert_allclose(reference, [10, 11, 12, 13], rtol=1e-6)  # season 4 back
    assert batch.weight is not None and batch.weight[0].tolist() == [1, 0, 1, 1]
    y = batch.to_real(batch.y)[0, :, 0]  # type: ignore[arg-type]
    np.testing.assert_allclose(y[[0, 2, 3]], [14, 16, 17], rtol=1e-6)


def test_a_reference_never_measured_reads_the_same_phase_a_cycle_earlier_moved_by_the_trend() -> (
    None
):
    # A rising series with a peak at phase 1 of a 4-step season; lookback steps 6-13, so the
    # references of steps 14-17 are steps 10-13.
    t = np.arange(20.0)
    series = t + 100 * (t % 4 == 1)
    values, observed = series[None, :].copy(), np.ones((1, 20), bool)
    for step in (8, 12, 13):
        values[0, step], observed[0, step] = np.nan, False
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([14]), layout())
    reference = batch.to_real(batch.reference)[0, :, 0]
    # 13 is missing: the peak a cycle earlier (109), moved by how far the last cycle lies above
    # that one where both were measured (10 - 6, 11 - 7: 4), so 113; carrying forward alone
    # read 11, out of phase. 12 and 8 are both missing: carried forward to 12 (11).
    np.testing.assert_allclose(reference, [10, 11, 11, 113], rtol=1e-6)
    # A drawn outage hides its lookback steps the same way.
    hide = np.zeros((1, 8), bool)
    hide[0, 7] = True  # step 13
    complete = np.ones((1, 20), bool)
    hidden = build_batch(series[None, :], complete, 0, HOUR_NS, np.array([14]), layout(), hide=hide)
    np.testing.assert_allclose(hidden.to_real(hidden.reference)[0, :, 0], [10, 11, 12, 113])
    # The whole last cycle missing: no pair to measure the move by, so the cycle before, unmoved.
    values, observed = series[None, :].copy(), np.ones((1, 20), bool)
    values[0, 10:14], observed[0, 10:14] = np.nan, False
    day_out = build_batch(values, observed, 0, HOUR_NS, np.array([14]), layout())
    np.testing.assert_allclose(
        day_out.to_real(day_out.reference)[0, :, 0], [6, 7, 8, 109], rtol=1e-6
    )


def test_an_origin_past_the_grid_end_reads_the_missing_steps_as_missing() -> None:
    values = np.arange(10.0)[None, :]
    observed = np.ones((1, 10), bool)
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([12]), layout())
    assert batch.x[0, :8, 1].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]  # steps 10, 11 not there
    assert batch.target_ts[0].tolist() == [HOUR_NS * h for h in range(12, 16)]
    cal = batch.x[0, :, 3:5]  # time of day of steps 4 .. 15
    hours = np.arange(4, 16)
    np.testing.assert_allclose(cal[:, 0], np.sin(2 * np.pi * hours / 24), atol=1e-6)


def test_season_one_makes_the_last_observed_value_the_reference() -> None:
    values = np.arange(20.0)[None, :]
    observed = np.ones((1, 20), bool)
    values[0, 12:14] = np.nan  # the lookback ends in a hole: the last observed value is 11
    observed[0, 12:14] = False
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([14]), layout(season=1))
    reference = batch.to_real(batch.reference)[0, :, 0]
    np.testing.assert_allclose(reference, [11, 11, 11, 11], rtol=1e-6)
    none = build_batch(values, observed, 0, HOUR_NS, np.array([14]), layout(season=None))
    assert not none.reference.any()  # no reference: the input stays 0


@pytest.mark.parametrize(
    ("start", "freq"),
    [
        ("2024-02-26 13:05", "5min"),  # day and week are whole numbers of steps: the table
        ("2023-12-31 23:30", "30min"),
        ("2024-01-01 00:00", "7min"),  # a day is not: computed from the timestamps
        ("2019-03-01", "1D"),  # day of year: computed from the timestamps
    ],
)
def test_calendar_features_from_the_grid_table_are_exactly_the_computed_ones(
    start: str, freq: str
) -> None:
    start_ns = int(pd.Timestamp(start, tz="UTC").value)
    freq_ns = int(pd.Timedelta(freq).value)
    # Windows longer than a period of the time of day, from before the grid's start too.
    first = np.random.default_rng(0).integers(-3000, 40_000, size=64)
    positions = first[:, None] + np.arange(300)
    cycles = ["time_of_day", "day_of_week", "day_of_year"]
    expected = cycle_features(start_ns + freq_ns * positions, cycles)
    got = window_cycle_features(start_ns, freq_ns, first, 300, cycles)
    assert got.dtype == np.float32 and got.shape == (64, 300, 6)
    np.testing.assert_array_equal(got, expected)


def test_a_long_season_gives_the_value_one_long_cycle_earlier_from_before_the_lookback() -> None:
    values = np.arange(40.0)[None, :]
    observed = np.ones((1, 40), bool)
    values[0, 19] = np.nan  # unobserved one long cycle back: the short reference stands in
    observed[0, 19] = False
    long = layout(long_season=12)
    assert long.n_features == layout().n_features + 1
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([30, 10]), long)
    columns = long.long_reference_columns
    assert columns.start == long.calendar_columns.stop and columns.stop == columns.start + 1
    relative = batch.x[:, 8:, columns]
    np.testing.assert_array_equal(batch.x[:, :8, columns], 0.0)  # nothing in the lookback
    real = batch.to_real(relative)[..., 0]
    # Origin 30 reads steps 18-21 (12 before 30-33), step 19 from season 4: 31 - 4 = 27.
    np.testing.assert_allclose(real[0], [18, 27, 20, 21], rtol=1e-6)
    # Origin 10: steps -2 and -1 lie before the grid, so the short reference's 6 and 7.
    np.testing.assert_allclose(real[1], [6, 7, 0, 1], atol=1e-5)
    # Everything else is what the layout without a long season gives.
    plain = build_batch(values, observed, 0, HOUR_NS, np.array([30, 10]), layout())
    keep = np.ones(long.n_features, bool)
    keep[columns] = False
    np.testing.assert_array_equal(batch.x[..., keep], plain.x)


def test_a_horizon_longer_than_the_long_season_repeats_its_last_cycle() -> None:
    values = np.arange(40.0)[None, :]
    observed = np.ones((1, 40), bool)
    long = layout(lookback=8, horizon=6, season=2, long_season=4)
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([30]), long)
    real = batch.to_real(batch.x[:, 8:, long.long_reference_columns])[0, :, 0]
    np.testing.assert_allclose(real, [26, 27, 28, 29, 26, 27], rtol=1e-6)


def test_a_longer_season_counts_only_when_it_holds_once_the_reference_is_taken_out() -> None:
    t = np.arange(6 * 168)
    noise = np.random.default_rng(5).normal(0, 0.3, t.size)
    day = 10 + 3 * np.sin(2 * np.pi * t / 24) + noise
    weekends = day - 4 * ((t // 24) % 7 >= 5)
    seasons = [Season("1 day", 24), Season("1 week", 168)]
    assert longer_season(weekends, seasons, 24) == Season("1 week", 168)
    assert longer_season(day, seasons, 24) is None
    # No reference (or naive) to take out, or no room for two cycles after it: none.
    assert longer_season(weekends, seasons, None) is None
    assert longer_season(weekends, seasons, 1) is None
    assert longer_season(weekends[: 2 * 168], seasons, 24) is None


def test_a_long_season_inside_the_lookback_reads_a_hidden_step_as_missing() -> None:
    # Lookback 8, long season 6: the lag of forecast steps 0-3 is lookback steps 2-5; an outage
    # drawn onto steps 2-3 hides the lag there, which falls back to the short reference.
    values = np.arange(40.0)[None, :]
    observed = np.ones((1, 40), bool)
    long = layout(long_season=6, season=2)
    hide = np.zeros((1, 8), bool)
    hide[0, 2:4] = True
    batch = build_batch(values, observed, 0, HOUR_NS, np.array([30]), long, hide=hide)
    real = batch.to_real(batch.x[:, 8:, long.long_reference_columns])[0, :, 0]
    # Steps 30-33: lag values 24, 25 hidden (short reference, season 2 back: 28, 29), then 26, 27.
    np.testing.assert_allclose(real, [28, 29, 26, 27], rtol=1e-6)
    plain = build_batch(values, observed, 0, HOUR_NS, np.array([30]), long)
    lag = plain.to_real(plain.x[:, 8:, long.long_reference_columns])[0, :, 0]
    np.testing.assert_allclose(lag, [24, 25, 26, 27], rtol=1e-6)
