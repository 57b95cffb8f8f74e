"""The whole preparation on the real Mauna Loa weekly CO2 series."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from gapcast.errors import InvalidInput
from gapcast.processing import ProcessingBuilder, ProcessingPipeline, SeriesFrame
from gapcast.processing.config import StepConfig, default_steps

from .conftest import WEEK

STEPS = TypeAdapter(list[StepConfig])


def co2_pipeline() -> ProcessingPipeline:
    return (
        ProcessingBuilder()
        .resample("7D")
        .detect_gaps(max_fill="3W")
        .fill_gaps("linear")
        .split(val=0.15, test=0.15)
        .remove_linear_trend()
        .scale("standard")
        .window(lookback=52, horizon=13)
        .build()
    )


def test_co2_gaps_windows_and_inverse(co2_frame: SeriesFrame) -> None:
    pipeline = co2_pipeline()
    data = pipeline.fit_transform(co2_frame)
    report = data.gap_report
    # The bundled series: 2,284 weeks, 59 without a value in 22 outages, the longest 18 weeks.
    assert data.raw_frame.n_points == 2284 and data.frame.freq_ns == WEEK
    assert (report.n_gaps, report.missing_points, report.longest_gap) == (22, 59, 18)
    assert report.max_fill == 3 and report.n_large == int((report.length > 3).sum()) > 0
    assert np.isnan(data.frame.values).sum() == report.large_missing_points
    assert min(len(data.train), len(data.val), len(data.test)) > 100
    # Detrended and standardised on the training part: the values hover around 0 there.
    train_end = data.frame.split[0]  # type: ignore[index]
    assert abs(np.nanmean(data.frame.values[0, :train_end])) < 1e-9
    # Model outputs equal to the targets come back as the measured ppm values.
    real = pipeline.inverse_targets(data.test.y[:], data.test.target_timestamps[:])
    positions = data.test.starts[:, None] + 52 + np.arange(13)
    observed = data.raw_frame.mask[0][positions]
    np.testing.assert_allclose(
        real[..., 0][observed], data.raw_frame.values[0][positions][observed], atol=1e-4
    )
    assert 300 < real.min() < real.max() < 400


def test_fitted_pipeline_round_trips_through_json(co2_frame: SeriesFrame) -> None:
    pipeline = co2_pipeline()
    data = pipeline.fit_transform(co2_frame)
    stored = STEPS.dump_json(pipeline.to_config())
    restored = ProcessingPipeline.from_config(STEPS.validate_json(stored))
    assert restored.is_fitted and restored.to_config() == pipeline.to_config()
    again = restored.transform(co2_frame)
    np.testing.assert_array_equal(again.frame.values, data.frame.values)
    np.testing.assert_array_equal(again.test.starts, data.test.starts)
    # New data: the series itself, prepared with the stored parameters for a forecast from the
    # week after its last row.
    history = restored.history(co2_frame)
    last = int(co2_frame.timestamps[-1])
    assert history.start_ns == last + WEEK and history.origin == history.frame.n_points
    batch = restored.model_batch(history.frame, np.array([history.origin]))
    # values, observed mask, reference, is_future (this pipeline has no calendar step)
    assert batch.x.shape == (1, 52 + 13, 4) and batch.x.dtype == np.float32
    tail = data.frame.values[0, -52:]
    known = np.isfinite(tail)
    level, spread = tail[known].mean(), tail[known].std()
    np.testing.assert_allclose(
        batch.x[0, :52, 0][known], ((tail - level) / spread)[known], rtol=1e-5, atol=1e-6
    )
    assert batch.x[0, 52:, -1].tolist() == [1.0] * 13  # the forecast steps are flagged
    assert batch.target_ts[0].tolist() == [last + k * WEEK for k in range(1, 14)]


def test_history_accepts_gaps_and_refuses_below_min_observed(co2_frame: SeriesFrame) -> None:
    pipeline = co2_pipeline()
    pipeline.fit_transform(co2_frame)
    values = np.array(co2_frame.values)
    values[0, -10:] = np.nan  # an outage still going on: 42 of the last 52 weeks observed
    gappy = SeriesFrame.from_arrays(co2_frame.timestamps, values, co2_frame.channels)
    history = pipeline.history(gappy)
    # The forecast starts after the last row, not after the last observed week.
    assert history.start_ns == int(co2_frame.timestamps[-1]) + WEEK
    batch = pipeline.model_batch(history.frame, np.array([history.origin]))
    assert batch.x[0, 42:52, 1].tolist() == [0.0] * 10  # observed mask off in the outage
    assert batch.observed_fraction[0] == pytest.approx(42 / 52)
    values[0, -30:] = np.nan  # 22 of 52: below min_observed=0.5
    worse = SeriesFrame.from_arrays(co2_frame.timestamps, values, co2_frame.channels)
    with pytest.raises(InvalidInput, match=r"min_observed=0\.5") as info:
        pipeline.history(worse)
    assert "42% of their points observed" in info.value.message


def test_history_inside_an_outage_longer_than_what_it_reads(co2_frame: SeriesFrame) -> None:
    pipeline = co2_pipeline()
    pipeline.fit_transform(co2_frame)
    last = int(co2_frame.timestamps[-1])
    # Two years without a row (the sensor's rows are absent, as in an export): no row falls in
    # the stretch the history reads, which is all missing — refused by min_observed like any
    # history short of it, naming when the data stopped.
    start = last + 200 * WEEK
    with pytest.raises(InvalidInput, match=r"0% of their points observed") as info:
        pipeline.history(co2_frame, start_ns=start)
    assert "min_observed=0.5" in info.value.message
    assert "the targets were last observed at 2001-12-29T00:00:00Z" in info.value.message
    # The one forecast the data allows is named, and is one.
    assert info.value.message.endswith(
        "; to forecast from the last observations instead, start at 2002-01-05T00:00:00Z"
    )
    resumed = pipeline.history(
        co2_frame, start_ns=int(np.datetime64("2002-01-05", "ns").astype(int))
    )
    assert resumed.start_ns == last + WEEK
    # The backtest forecasts such an origin anyway: from the start asked for, its lookback all
    # missing, at the level and spread of the lookback that ends where the data stopped (as the
    # naive baseline carries the last value forward), not at 0.
    stopped = pipeline.history(co2_frame)
    anchor = pipeline.model_batch(stopped.frame, np.array([stopped.origin]))
    for frame in (co2_frame, with_missing_rows(co2_frame, last + WEEK, start)):
        history = pipeline.history(frame, start_ns=start, check=False)
        batch = pipeline.model_batch(history.frame, np.array([history.origin]))
        assert int(batch.target_ts[0, 0]) == start
        assert batch.observed_fraction[0] == 0.0 and not batch.x[0, :52, 1].any()
        assert np.isfinite(batch.x).all()
        np.testing.assert_allclose(batch.level, anchor.level, rtol=1e-12)
        np.testing.assert_allclose(batch.spread, anchor.spread, rtol=1e-12)
        assert abs(float(anchor.level[0, 0])) > 0.1  # a level that 0 would miss


def with_missing_rows(frame: SeriesFrame, first: int, end: int) -> SeriesFrame:
    """``frame`` with weekly rows of NaN from ``first`` up to ``end`` (an export that keeps the
    sensor's rows through an outage)."""
    extra = np.arange(first, end, WEEK, dtype=np.int64)
    ts = np.concatenate([np.asarray(frame.timestamps), extra])
    values = np.concatenate(
        [np.asarray(frame.values), np.full((frame.n_channels, extra.size), np.nan)], axis=1
    )
    return SeriesFrame.from_arrays(ts, values, frame.channels)


def test_the_default_training_configuration_prepares_the_sample(co2_frame: SeriesFrame) -> None:
    pipeline = ProcessingPipeline.from_config(default_steps())
    data = pipeline.fit_transform(co2_frame)
    # Weekly data: a quarter ahead from two years back, the yearly season as the reference, and
    # the day of year as a calendar input (the series spans decades).
    window = pipeline.window
    assert (window.lookback, window.horizon, window.season) == (104, 13, 52)
    assert [s.name for s in window.seasons_] == ["1 year"]
    assert pipeline.layout.cycles == ("day_of_year",)
    assert data.targets == ("co2_ppm",) and data.train.X.shape[1:] == (104, 1)
    assert data.gap_report.summary()["n_gaps"] == 22
    # Resolved values are what the fitted pipeline stores: never "auto" in a stored run.
    stored = pipeline.to_config()[-1]
    assert (stored.lookback, stored.horizon, stored.season) == (104, 13, 52)


def test_a_start_off_the_grid_is_refused_naming_the_grid_points_beside_it(
    co2_frame: SeriesFrame,
) -> None:
    pipeline = co2_pipeline()
    pipeline.fit_transform(co2_frame)
    last = int(co2_frame.timestamps[-1])  # 2001-12-29, a Saturday: the grid's weekday
    with pytest.raises(InvalidInput) as info:
        pipeline.history(co2_frame, start_ns=last - 3 * 86_400 * 10**9)
    assert info.value.field == "start"
    assert info.value.message == (
        "start must lie on the model's 7D grid (the nearest are 2001-12-22T00:00:00Z and "
        "2001-12-29T00:00:00Z), received 2001-12-26T00:00:00Z"
    )
    assert pipeline.history(co2_frame, start_ns=last).start_ns == last


def test_history_of_a_jittered_sensor_starts_at_the_next_grid_point() -> None:
    # Readings every 15 minutes, up to 20 s early or late: the last one, 10 s before 12:00, is
    # the 12:00 reading, so the forecast starts at 12:15; asked to start at 12:00, that reading
    # is the future and is not read as history.
    quarter = 15 * 60 * 10**9
    rng = np.random.default_rng(3)
    n = 2_000
    noon = 1_709_251_200 * 10**9 + (n - 1) * quarter
    ts = noon - (n - 1 - np.arange(n)) * quarter + rng.integers(-20, 21, n) * 10**9
    ts[-1] = noon - 10 * 10**9
    values = np.sin(np.arange(n) * 2 * np.pi / 96)
    frame = SeriesFrame.from_arrays(ts, values, ["a"])
    pipeline = (
        ProcessingBuilder()
        .resample()
        .detect_gaps(max_fill="1h")
        .fill_gaps("linear")
        .split(val=0.15, test=0.15)
        .scale("standard")
        .window(lookback=96, horizon=8)
        .build()
    )
    data = pipeline.fit_transform(frame)
    assert data.gap_report.n_gaps == 0  # no step invented missing by the jitter
    history = pipeline.history(frame)
    assert history.start_ns == noon + quarter
    assert history.frame.mask[0][history.origin - 96 : history.origin].all()
    at_noon = pipeline.history(frame, start_ns=noon)
    assert int(at_noon.frame.timestamps[at_noon.origin - 1]) == noon - quarter
    assert at_noon.frame.n_points == at_noon.origin  # nothing at or after 12:00 was read


def test_a_history_coarser_than_the_models_grid_is_named_in_the_refusal() -> None:
    import pandas as pd

    hours = pd.date_range("2024-01-01", periods=24 * 60, freq="h")
    df = pd.DataFrame({"timestamp": hours, "v": np.sin(np.arange(hours.size) / 24 * 2 * np.pi)})
    pipeline = ProcessingBuilder().resample().split(val=0.1, test=0.1).window(48, 24).build()
    pipeline.fit_transform(SeriesFrame.from_pandas(df))
    # Daily readings for an hourly model: 2 of the 48 hours observed.
    with pytest.raises(InvalidInput) as info:
        pipeline.history(SeriesFrame.from_pandas(df.iloc[::24]))
    assert "4% of their points observed (its rows are 1D apart; the model's grid step is 1h)" in (
        info.value.message
    )
    # An hourly history short of min_observed is refused without that remark.
    gappy = df.assign(v=np.where(np.arange(hours.size) % 3 == 0, df["v"], np.nan))
    with pytest.raises(InvalidInput) as info:
        pipeline.history(SeriesFrame.from_pandas(gappy))
    assert "apart" not in info.value.message


def test_a_target_silent_through_the_whole_stretch_read_starts_from_where_it_stopped(
    co2_frame: SeriesFrame,
) -> None:
    # Two sensors of one site; the second went dark 150 weeks ago, the first still reports. The
    # forecast is accepted (a target is observed), and the dark one's level comes from its last
    # 52 weeks before it stopped, not 0 — the same as when it was last seen complete.
    values = np.array(co2_frame.values)
    both = SeriesFrame.from_arrays(
        co2_frame.timestamps, np.concatenate([values, values + 5.0]), ("co2", "co2_b")
    )
    pipeline = (
        ProcessingBuilder()
        .targets("co2", "co2_b")
        .resample("7D")
        .detect_gaps(max_fill="3W")
        .fill_gaps("linear")
        .split(val=0.15, test=0.15)
        .window(lookback=52, horizon=13)
        .build()
    )
    pipeline.fit_transform(both)
    dark = np.array(both.values)
    dark[1, -150:] = np.nan
    history = pipeline.history(SeriesFrame.from_arrays(both.timestamps, dark, both.channels))
    batch = pipeline.model_batch(history.frame, np.array([history.origin]))
    assert batch.observed_fraction[0] == 1.0 and not batch.x[0, :52, 3].any()
    cut = SeriesFrame.from_arrays(
        both.timestamps[:-150], values[:, :-150] + [[0.0], [5.0]], both.channels
    )
    then = pipeline.history(cut)
    expected = pipeline.model_batch(then.frame, np.array([then.origin]))
    np.testing.assert_allclose(batch.level[0, 1], expected.level[0, 1], rtol=1e-12)
    np.testing.assert_allclose(batch.spread[0, 1], expected.spread[0, 1], rtol=1e-12)
    assert batch.level[0, 1] == pytest.approx(
        float(np.nanmean(values[0, -202:-150])) + 5.0, rel=0.01
    )


def test_a_forecast_refused_names_what_the_data_lacks(co2_frame: SeriesFrame) -> None:
    values = np.array(co2_frame.values)
    both = SeriesFrame.from_arrays(
        co2_frame.timestamps, np.concatenate([values, values + 5.0]), ("co2_ppm", "co2_b")
    )
    pipeline = (
        ProcessingBuilder()
        .targets("co2_ppm")
        .covariates("co2_b")
        .resample("7D")
        .split(val=0.15, test=0.15)
        .window(lookback=52, horizon=13)
        .build()
    )
    pipeline.fit_transform(both)
    # A covariate left out of the recent data: which one, and what the model was trained on.
    with pytest.raises(InvalidInput) as info:
        pipeline.history(co2_frame)
    assert info.value.message == (
        "the model was trained on targets ['co2_ppm'] and covariates ['co2_b']; a forecast "
        "needs their recent values, and the data lacks ['co2_b'] (it has ['co2_ppm'])"
    )
    # Asked for a start a year past the data's end (rows still in the stretch read, none in the
    # lookback): when the targets were last seen.
    start = int(co2_frame.timestamps[-1]) + 60 * WEEK
    with pytest.raises(InvalidInput, match="0% of their points observed") as info:
        pipeline.history(both, start_ns=start)
    assert "(the targets were last observed at 2001-12-29T00:00:00Z)" in info.value.message
    assert "start at 2002-01-05T00:00:00Z" in info.value.message


def test_a_target_never_below_zero_is_never_forecast_below_it() -> None:
    hours = np.arange(24 * 30)
    counts = (np.random.default_rng(2).random(hours.size) < 0.1) * 3.0  # intermittent: 0 or 3
    ts = hours.astype(np.int64) * 3_600 * 10**9
    out = np.array([[-0.4, 0.2, 5.0]] * 1)[..., np.newaxis]  # (1 window, horizon 3, 1 target)

    def fitted(values: np.ndarray, *extra: dict[str, object]) -> ProcessingPipeline:
        steps = [{"step": "split"}, *extra, {"step": "window", "lookback": 24, "horizon": 3}]
        pipeline = ProcessingPipeline.from_config(steps)
        pipeline.fit_transform(SeriesFrame.from_arrays(ts, values, ["orders"]))
        return pipeline

    when = np.array([[0, 1, 2]], dtype=np.int64)
    pipeline = fitted(counts)
    assert pipeline.window.nonnegative_ == (True,)
    assert pipeline.inverse_targets(out, when).ravel().tolist() == [0.0, 0.2, 5.0]
    # Through JSON, as a stored model's pipeline.
    again = ProcessingPipeline.from_config(
        [TypeAdapter(StepConfig).validate_json(c.model_dump_json()) for c in pipeline.to_config()]
    )
    assert again.inverse_targets(out, when).ravel().tolist() == [0.0, 0.2, 5.0]
    # A target that went below zero once, or one judged in scaled units, keeps its sign.
    assert fitted(counts - 1).inverse_targets(out, when).ravel()[0] == -0.4
    assert fitted(counts, {"step": "scale"}).window.nonnegative_ == (False,)
    # A pipeline stored before the floor was learned has none.
    stored = [c.model_dump(mode="json") for c in pipeline.to_config()]
    del stored[-1]["fitted"]["nonnegative"]
    assert ProcessingPipeline.from_config(stored).inverse_targets(out, when).ravel()[0] == -0.4


def quiet_weekends(weeks: int = 6) -> SeriesFrame:
    """Hours with a daily cycle and lower weekends: a week that is more than seven days."""
    hour = 3_600 * 10**9
    t = np.arange(weeks * 168)
    weekend = (t // 24) % 7 >= 5
    values = 10 + 3 * np.sin(2 * np.pi * t / 24) - 4 * weekend
    values = values + np.random.default_rng(3).normal(0, 0.3, t.size)
    return SeriesFrame.from_arrays(t * hour, values[None, :], ["load"])


def test_a_week_of_quiet_weekends_is_offered_as_a_lag_the_pipeline_reads_a_week_back() -> None:
    frame = quiet_weekends()
    pipeline = ProcessingPipeline.from_config(default_steps())
    data = pipeline.fit_transform(frame)
    window = pipeline.window
    # Two days of lookback and the day as the reference, by default; the week is offered.
    assert (window.lookback, window.season, window.long_season_) == (48, 24, None)
    season = window.longer_season()
    assert season is not None and (season.name, season.steps) == ("1 week", 168)
    long = pipeline.with_long_season(168)
    assert long.layout.long_season == 168 and pipeline.layout.long_season is None
    assert long.layout.n_features == pipeline.layout.n_features + 1
    # Stored and restored with it; the pipeline without it stores what it stored before.
    assert "long_season" not in pipeline.to_config()[-1].fitted
    restored = ProcessingPipeline.from_config(
        STEPS.validate_json(STEPS.dump_json(long.to_config()))
    )
    assert restored.layout == long.layout
    # predict reads a week back, so its inputs are those the backtest builds on the whole grid.
    history = restored.history(frame)
    batch = restored.model_batch(history.frame, np.array([history.origin]))
    whole = long.model_batch(data.frame, np.array([data.frame.n_points]))
    np.testing.assert_allclose(batch.x, whole.x, atol=1e-5)
    lag = batch.to_real(batch.x[:, 48:, long.layout.long_reference_columns])[0, :, 0]
    np.testing.assert_allclose(lag, np.asarray(frame.values)[0, -168 : -168 + 24], rtol=1e-5)


def test_a_week_that_only_repeats_the_day_is_not_offered() -> None:
    hour = 3_600 * 10**9
    t = np.arange(6 * 168)
    values = 10 + 3 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(4).normal(0, 0.3, t.size)
    frame = SeriesFrame.from_arrays(t * hour, values[None, :], ["load"])
    pipeline = ProcessingPipeline.from_config(default_steps())
    pipeline.fit_transform(frame)
    # 168 hours are seven days: the week is confirmed, but holds nothing the day does not.
    assert [s.steps for s in pipeline.window.seasons_] == [24, 168]
    assert pipeline.window.longer_season() is None


def test_a_target_installed_after_the_other_series_is_prepared_from_its_first_reading() -> None:
    """A dataset's series need not start together (a meter added a month after the others):
    the stretch before the target's first reading is no outage of it, and the parts are
    fractions of the time it was read."""
    hour = 3_600 * 10**9
    t = np.arange(24 * 60)
    cycle = np.sin(2 * np.pi * t / 24)
    rng = np.random.default_rng(4)
    late = 20 + 2 * cycle + rng.normal(0, 0.1, t.size)
    late[: 24 * 30] = np.nan
    frame = SeriesFrame.from_arrays(t * hour, np.vstack([10 + cycle, late]), ["early", "late"])
    pipeline = ProcessingPipeline.from_config(default_steps(), targets=["late"])
    data = pipeline.fit_transform(frame)
    assert data.frame.timestamps[0] == 24 * 30 * hour
    assert data.gap_report.summary()["n_gaps"] == 0
    bounds = data.frame.part_bounds()
    assert bounds["test"][1] - bounds["test"][0] == round(0.15 * 24 * 30)
    # Its forecast reads the same way: the rows before its first reading change nothing.
    alone = SeriesFrame.from_arrays(t[24 * 30 :] * hour, late[None, 24 * 30 :], ["late"])
    np.testing.assert_array_equal(
        pipeline.transform(frame).test.X, pipeline.transform(alone).test.X
    )
    # The early series alone keeps every row.
    assert (
        ProcessingPipeline.from_config(default_steps(), targets=["early"])
        .fit_transform(frame)
        .frame.timestamps[0]
        == 0
    )
