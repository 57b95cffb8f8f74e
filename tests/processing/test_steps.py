"""Behaviour of the individual steps, checked against pandas or by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gapcast.errors import InvalidInput
from gapcast.processing import (
    DetectGaps,
    FillGaps,
    RemoveLinearTrend,
    Resample,
    Scale,
    SeriesFrame,
    Split,
    detect_gaps,
)

from .conftest import HOUR

MINUTE = 60 * 10**9


def grid(values: list[float] | np.ndarray, freq: int = HOUR) -> SeriesFrame:
    arr = np.asarray(values, dtype=float)
    return SeriesFrame.from_arrays(np.arange(arr.shape[-1]) * freq, arr, ["a"], freq_ns=freq)


@pytest.mark.parametrize("agg", ["mean", "sum", "min", "max", "first", "last"])
def test_resample_matches_pandas(agg: str) -> None:
    rng = np.random.default_rng(1)
    ts = np.sort(rng.integers(0, 48 * HOUR, 400)) + 1_700_000_000 * 10**9
    values = rng.standard_normal(400)
    values[rng.random(400) < 0.1] = np.nan
    frame = SeriesFrame.from_arrays(ts, values, ["a"])
    out = Resample("1h", agg=agg).fit_transform(frame)  # type: ignore[arg-type]
    series = pd.Series(values, index=pd.to_datetime(ts, unit="ns"))
    expected = getattr(series.resample("1h"), agg)()
    if agg == "sum":  # pandas sums an empty bin to 0; a missing bin must stay missing here
        expected[series.resample("1h").count() == 0] = np.nan
    assert out.timestamps.tolist() == expected.index.as_unit("ns").asi8.tolist()
    np.testing.assert_allclose(out.values[0], expected.to_numpy(), equal_nan=True)
    assert out.freq_ns == HOUR


@pytest.mark.parametrize(("max_hold", "limit"), [(None, None), ("25min", 2)])
def test_resample_hold_keeps_each_reading_until_the_next(
    max_hold: str | None, limit: int | None
) -> None:
    """A sensor that reports on change only: a grid step without a reading keeps the last one,
    for at most ``max_hold`` (then missing: an outage), as pandas' last() then ffill(limit)."""
    rng = np.random.default_rng(4)
    ts = np.sort(rng.choice(2 * 24 * 3600, 150, replace=False)) * 10**9 + 1_700_000_000 * 10**9
    values = np.round(rng.standard_normal(150), 1)
    values[rng.random(150) < 0.1] = np.nan
    values[-1] = 0.5
    frame = SeriesFrame.from_arrays(ts, values, ["a"])
    out = Resample("10min", agg="hold", max_hold=max_hold).fit_transform(frame)
    series = pd.Series(values, index=pd.to_datetime(ts, unit="ns")).dropna()
    expected = series.resample("10min").last().ffill(limit=limit)
    assert out.timestamps.tolist() == expected.index.as_unit("ns").asi8.tolist()
    np.testing.assert_array_equal(out.values[0], expected.to_numpy())
    # A held reading is a known value: observed, so no gap is found where nothing changed.
    assert out.mask[0].tolist() == expected.notna().tolist()


def test_resample_hold_is_per_channel_and_max_hold_needs_it() -> None:
    # Channel b's rows (a missing there) do not end a's hold, nor the other way round.
    ts = np.array([0, 5, 25, 40]) * MINUTE
    values = np.array([[1.0, np.nan, 2.0, np.nan], [np.nan, 7.0, np.nan, 8.0]])
    out = Resample("10min", agg="hold").fit_transform(
        SeriesFrame.from_arrays(ts, values, ["a", "b"])
    )
    np.testing.assert_array_equal(out.values, [[1, 1, 2, 2, 2], [7, 7, 7, 7, 8]])
    with pytest.raises(InvalidInput, match="max_hold applies to agg 'hold' only") as info:
        Resample("10min", max_hold="1h").fit(SeriesFrame.from_arrays(ts, values, ["a", "b"]))
    assert info.value.field is not None and info.value.field.endswith("max_hold")
    # Kept in the stored configuration, so predict prepares recent rows the same way.
    from gapcast.processing import ProcessingPipeline

    config = [{"step": "resample", "freq": "10min", "agg": "hold", "max_hold": "6h"}]
    stored = ProcessingPipeline.from_config([*config, {"step": "window"}]).to_config()[0]
    assert stored.model_dump(exclude={"fitted"}) == config[0]


def test_hold_stops_where_the_source_said_there_was_no_reading() -> None:
    """A sensor reporting on change: its reading holds until the next — unless the source
    marked 'no reading' in between (Home Assistant's 'unavailable'), where the steps are
    missing until it reports again, however short the spell."""
    ts = np.array([0, 30, 60, 65, 100]) * MINUTE
    values = np.array([[20.0, np.nan, np.nan, 21.0, np.nan]])
    ended = np.array([[False, True, False, False, False]])
    frame = SeriesFrame.from_arrays(ts, values, ["temp"]).replace(ended=ended)
    out = Resample("10min", agg="hold", max_hold="6h").fit_transform(frame)
    expected = [20, 20, 20, np.nan, np.nan, np.nan, 21, 21, 21, 21, 21]
    np.testing.assert_array_equal(out.values[0], expected)
    # Unmarked, the same rows hold the reading over the spell, as before.
    plain = Resample("10min", agg="hold", max_hold="6h").fit_transform(frame.replace(ended=None))
    np.testing.assert_array_equal(plain.values[0], [20] * 6 + [21] * 5)
    # A reading and a later mark in one step: the step keeps its reading and holds no further.
    both = SeriesFrame.from_arrays(
        np.array([0, 5, 25]) * MINUTE, np.array([[20.0, np.nan, 21.0]]), ["temp"]
    ).replace(ended=np.array([[False, True, False]]))
    np.testing.assert_array_equal(
        Resample("10min", agg="hold").fit_transform(both).values[0], [20, np.nan, 21]
    )
    # The marks follow a frame's selections and slices, and are checked against its shape.
    assert frame.slice(1, 3).ended.tolist() == [[True, False]]  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="expected an ended mask of shape"):
        frame.replace(ended=np.zeros((1, 2), dtype=bool))


def test_a_channel_read_slower_than_the_grid_is_held_until_its_next_reading() -> None:
    """Power every 5 minutes, outdoor temperature every 30 (at :07 and :37): on the 5-minute
    grid each temperature holds until the next is due, as pandas' ffill(limit=5); a reading
    that never came stays a gap of its 6 steps. The target (skipped) is never held, and the
    held steps are stored with the fitted grid, so new data is prepared the same way."""
    ts = np.arange(0, 6 * 60, 1) * MINUTE  # one row a minute, readings on some
    power = np.where(ts % (5 * MINUTE) == 0, 50.0, np.nan)
    power[ts == 100 * MINUTE] = np.nan  # one missed power reading
    temp = np.where(ts % (30 * MINUTE) == 7 * MINUTE, ts / MINUTE, np.nan)
    temp[ts == 127 * MINUTE] = np.nan  # one missed temperature reading
    frame = SeriesFrame.from_arrays(ts, np.vstack([power, temp]), ["power", "temp"])
    keep = frame.mask.any(axis=0)
    frame = SeriesFrame.from_arrays(ts[keep], frame.values[:, keep], ["power", "temp"])
    step = Resample("5min").fit(frame)
    assert step.hold_slow_channels(frame, skip=["power"]) == {"temp": 5}
    out = step.transform(frame)
    series = pd.Series(temp, index=pd.to_datetime(ts, unit="ns")).dropna()
    expected = series.resample("5min").last().reindex(pd.to_datetime(out.timestamps, unit="ns"))
    np.testing.assert_array_equal(out.values[1], expected.ffill(limit=5).to_numpy())
    assert np.isnan(out.values[1][25:31]).all()  # 02:05-02:30: the 02:07 reading never came
    assert np.isnan(out.values[0][20])  # the target's own missed reading is no held value
    # Gaps: power's missed step, temp's missed reading and the 00:00 step before its first one;
    # none between two readings.
    assert sorted(detect_gaps(out, 3).length.tolist()) == [1, 1, 6]
    # Stored and loaded back with the grid: a forecast between two readings sees the last one.
    again = Resample("5min")
    again._set_fitted(step._get_fitted())
    recent = frame.slice(0, int(np.searchsorted(frame.timestamps, 181 * MINUTE)))
    held = again.transform(recent).values[1]
    assert held[-1] == 157.0 and held[-2] == 157.0  # 03:00 and 02:55 hold the 02:37 reading
    # Without a slow channel nothing is held, and pipelines stored before hold none.
    assert Resample("5min").fit(frame).hold_slow_channels(frame, skip=["power", "temp"]) == {}
    legacy = Resample("5min")
    legacy._set_fitted({"freq_ns": 5 * MINUTE, "origin_ns": 0})
    assert np.isnan(legacy.transform(frame).values[1][2])


def logger_reconfigured(days_fine: int = 30, days_coarse: int = 30) -> np.ndarray:
    """Times of a logger writing every 15 minutes, then hourly (at :45, after its last quarter)."""
    fine = np.arange(days_fine * 96) * 15 * MINUTE
    return np.concatenate([fine, fine[-1] + HOUR * np.arange(1, days_coarse * 24 + 1)])


def test_resample_reads_a_logger_on_the_coarser_step_its_last_readings_keep() -> None:
    """15-minute readings for a month, then hourly: the median step is 15 minutes, on whose grid
    the last month would be 75% missing and no recent window usable. The grid is the latest
    readings' step, the earlier readings averaged into it; the change is reported."""
    ts = logger_reconfigured()
    values = np.sin(np.arange(ts.size) / 7.0)
    frame = SeriesFrame.from_arrays(ts, values, ["a"])
    step = Resample().fit(frame)
    assert step.freq_ns_ == HOUR
    last_fine = int(ts[30 * 96 - 1])
    assert step.step_changed_ == (15 * MINUTE, last_fine)
    out = step.transform(frame)
    assert out.mask[0].all()  # every hour has a reading, before the change and after it
    # Each hour's bin follows the hourly readings' phase (:45, kept by the hour before them):
    # 01:00 averages the four quarter-hours from 01:15 to 02:00.
    start = step.bin_start(HOUR)
    assert start == HOUR + 15 * MINUTE
    in_bin = (ts >= start) & (ts < start + HOUR)
    assert in_bin.sum() == 4
    assert out.values[0][list(out.timestamps).index(HOUR)] == pytest.approx(values[in_bin].mean())
    # Five hourly days after thirty of quarter-hours are 4% of the readings but 14% of the time,
    # the test part's share of it: they set the grid already.
    five = SeriesFrame.from_arrays(logger_reconfigured(30, 5), np.zeros(30 * 96 + 120), ["a"])
    assert Resample().fit(five).freq_ns_ == HOUR
    # Left alone: a short coarse tail (under a tenth of the time span), a tail thinned by
    # readings missing at random, and a fast sensor that died beside an hourly one.
    short = SeriesFrame.from_arrays(logger_reconfigured(30, 2), np.zeros(30 * 96 + 48), ["a"])
    assert Resample().fit(short).freq_ns_ == 15 * MINUTE
    fine = np.arange(60 * 96) * 15 * MINUTE
    kept = np.random.default_rng(0).random(fine.size) < 0.5
    thinned = np.concatenate([fine[: 30 * 96], fine[30 * 96 :][kept[30 * 96 :]]])
    assert (
        Resample().fit(SeriesFrame.from_arrays(thinned, np.zeros(thinned.size), ["a"])).freq_ns_
        == 15 * MINUTE
    )
    flow = np.where(fine < 30 * 86_400 * 10**9, 1.0, np.nan)
    battery = np.where(fine % HOUR == 0, 12.0, np.nan)
    keep = np.isfinite(flow) | np.isfinite(battery)
    died = SeriesFrame.from_arrays(
        fine[keep], np.vstack([flow, battery])[:, keep], ["flow", "battery"]
    )
    fitted = Resample().fit(died)
    assert fitted.freq_ns_ == 15 * MINUTE and fitted.step_changed_ is None


def test_resample_keeps_missing_grid_points_missing_and_infers_frequency() -> None:
    ts = np.array([0, 1, 2, 5, 6]) * HOUR
    out = Resample().fit_transform(SeriesFrame.from_arrays(ts, [1.0, 2, 3, 6, 7], ["a"]))
    assert out.freq_ns == HOUR
    np.testing.assert_array_equal(out.values[0], [1, 2, 3, np.nan, np.nan, 6, 7])
    assert out.mask[0].tolist() == [True, True, True, False, False, True, True]


def test_resample_keeps_the_fitted_grid_phase_on_new_data() -> None:
    step = Resample("1h").fit(SeriesFrame.from_arrays(np.arange(3) * HOUR, [1.0, 2, 3], ["a"]))
    later = SeriesFrame.from_arrays(np.array([10, 11]) * HOUR + 20 * MINUTE, [5.0, 6], ["a"])
    out = step.transform(later)
    assert out.timestamps.tolist() == [10 * HOUR, 11 * HOUR]


def jittered(n: int, freq: int, seconds: int, seed: int = 0) -> np.ndarray:
    """Timestamps of a sensor reporting every ``freq`` with up to ``seconds`` of clock jitter
    either way of each grid point (2024-03-01 onwards)."""
    rng = np.random.default_rng(seed)
    start = 1_709_251_200 * 10**9
    return start + np.arange(n) * freq + rng.integers(-seconds, seconds + 1, n) * 10**9


def test_resample_bins_a_jittered_sensor_on_its_nearest_grid_points() -> None:
    # Floor-binning would put a sample 10 s before a quarter hour into the previous bin: two
    # samples there, none in the next, and about a quarter of the steps reported missing.
    quarter = 15 * MINUTE
    ts = jittered(2_000, quarter, 20)
    ts = np.delete(ts, np.arange(500, 520))  # one real outage of 20 steps
    values = np.arange(ts.size, dtype=float)
    out = Resample().fit_transform(SeriesFrame.from_arrays(ts, values, ["a"]))
    assert out.freq_ns == quarter and out.n_points == 2_000
    assert np.flatnonzero(~out.mask[0]).tolist() == list(range(500, 520))
    # Every sample sits at the grid point nearest to it.
    nearest = (ts + quarter // 2) // quarter * quarter
    assert out.timestamps[out.mask[0]].tolist() == nearest.tolist()
    np.testing.assert_array_equal(out.values[0][out.mask[0]], values)
    # The floor-binned reference the fix is about.
    floor = pd.Series(values, index=pd.to_datetime(ts, unit="ns")).resample("15min").count()
    assert (floor == 0).sum() > 400


@pytest.mark.parametrize("sd_minutes", [3, 4])
def test_resample_follows_a_clock_jittering_by_a_fifth_of_its_step(sd_minutes: int) -> None:
    # Normal jitter of 3 min on a 15-minute logger: the phases cluster only loosely (R 0.45), yet
    # 4,000 readings make the clustering certain. Binned at their nearest grid point, a reading
    # lands in a neighbour's bin only when it is more than 7.5 min off (1% of them; 6% at 4 min),
    # instead of a quarter of the steps reported missing by pandas' floor bins.
    quarter = 15 * MINUTE
    rng = np.random.default_rng(7)
    start = 1_709_251_200 * 10**9
    n = 4_000
    ts = (
        start + np.arange(n) * quarter + (rng.normal(size=n) * sd_minutes * MINUTE).astype(np.int64)
    )
    frame = SeriesFrame.from_arrays(ts, np.ones(n), ["a"])
    out = Resample("15min").fit_transform(frame)
    off = np.abs(rng.normal(size=100_000)) * sd_minutes > 7.5  # the share that must stray
    assert 1 - out.mask[0].mean() <= 1.5 * off.mean() + 0.005
    floor = pd.Series(np.ones(n), index=pd.to_datetime(ts, unit="ns")).resample("15min").count()
    assert (floor == 0).mean() > 0.1


def test_resample_follows_a_constant_offset_and_keeps_pandas_bins_when_aggregating() -> None:
    # Readings at 7.5 minutes past each quarter hour (+-20 s): bins stay pandas' [g, g + 15min).
    quarter = 15 * MINUTE
    ts = jittered(400, quarter, 20, seed=1) + quarter // 2
    out = Resample().fit_transform(SeriesFrame.from_arrays(ts, np.ones(ts.size), ["a"]))
    assert out.mask[0].all() and out.n_points == 400
    assert out.timestamps[0] == (ts[0] // quarter) * quarter
    # Regular minutes averaged into hours: the phases spread over the hour, pandas' bins.
    minutes = 1_700_000_000 * 10**9 + np.arange(600) * MINUTE
    values = np.arange(600, dtype=float)
    step = Resample("1h").fit(SeriesFrame.from_arrays(minutes, values, ["a"]))
    hourly = step.transform(SeriesFrame.from_arrays(minutes, values, ["a"]))
    expected = pd.Series(values, index=pd.to_datetime(minutes, unit="ns")).resample("1h").mean()
    assert step.shift_ns_ == 0
    np.testing.assert_allclose(hourly.values[0], expected.to_numpy())


def test_resample_fitted_before_phase_aware_bins_keeps_pandas_bins() -> None:
    step = Resample()
    step._set_fitted({"freq_ns": HOUR, "origin_ns": 0})  # a pipeline stored by an older version
    out = step.transform(
        SeriesFrame.from_arrays(np.array([HOUR - MINUTE, 2 * HOUR]), [1.0, 2], ["a"])
    )
    assert out.timestamps.tolist() == [0, HOUR, 2 * HOUR]
    assert out.mask[0].tolist() == [True, False, True]


def test_resample_refuses_a_grid_explosion() -> None:
    frame = SeriesFrame.from_arrays(np.array([0, 10**18]), [1.0, 2.0], ["a"])
    with pytest.raises(InvalidInput, match="coarser"):
        Resample("1s").fit_transform(frame)


def test_detect_gaps_classifies_and_reports() -> None:
    values = [1, np.nan, 3, np.nan, np.nan, np.nan, np.nan, 8, np.nan]
    frame = grid(values)
    step = DetectGaps(max_fill="3h").fit(frame)
    report = step.report_
    assert step.max_fill_points_ == 3
    assert [(g.start, g.end, g.length, g.kind) for g in report] == [
        (1 * HOUR, 1 * HOUR, 1, "small"),
        (3 * HOUR, 6 * HOUR, 4, "large"),
        (8 * HOUR, 8 * HOUR, 1, "small"),
    ]
    summary = report.summary()
    assert summary["n_gaps"] == 3 and summary["n_small"] == 2 and summary["n_large"] == 1
    assert summary["missing_points"] == 6
    assert summary["observed_fraction"] == pytest.approx(3 / 9)
    assert report.mask("large")[0].tolist() == [False] * 3 + [True] * 4 + [False] * 2
    assert step.transform(frame) is frame


def test_detect_gaps_on_a_complete_series() -> None:
    report = detect_gaps(grid([1.0, 2.0]), 3)
    assert report.n_gaps == 0 and report.observed_fraction == 1.0 and report.longest_gap == 0


def test_fill_linear_fills_small_gaps_only() -> None:
    frame = grid([0, np.nan, 2, np.nan, np.nan, np.nan, np.nan, 7, np.nan, 9])
    out = FillGaps("linear", max_fill=2).fit_transform(frame)
    np.testing.assert_allclose(
        out.values[0], [0, 1, 2, np.nan, np.nan, np.nan, np.nan, 7, 8, 9], equal_nan=True
    )
    # Filled points stay marked as not observed.
    assert out.mask[0].tolist() == frame.mask[0].tolist()


def test_fill_ffill_and_seasonal() -> None:
    frame = grid([np.nan, 1, 2, np.nan, np.nan, 5, 6, np.nan, 8])
    ffill = FillGaps("ffill", max_fill=2).fit_transform(frame)
    np.testing.assert_allclose(ffill.values[0], [1, 1, 2, 2, 2, 5, 6, 6, 8])
    seasonal = grid([1, 2, 3, 1, np.nan, 3, 1, 2, np.nan])
    out = FillGaps("seasonal", season=3, max_fill=1).fit_transform(seasonal)
    np.testing.assert_allclose(out.values[0], [1, 2, 3, 1, 2, 3, 1, 2, 3])
    with pytest.raises(InvalidInput, match="season"):
        FillGaps("seasonal").fit(frame)


def test_split_is_chronological_and_stored_as_timestamps() -> None:
    frame = grid(np.arange(100.0))
    step = Split(val=0.2, test=0.1).fit(frame)
    out = step.transform(frame)
    assert out.split == (70, 90)
    assert out.part_bounds() == {"train": (0, 70), "val": (70, 90), "test": (90, 100)}
    assert step.to_config().fitted == {"val_start_ns": 70 * HOUR, "test_start_ns": 90 * HOUR}
    with pytest.raises(InvalidInput, match="no training part"):
        Split(val=0.45, test=0.45).fit(grid([1.0, 2.0]))


def test_a_series_dark_at_its_end_is_split_on_the_span_it_was_observed() -> None:
    """A sensor that went dark 30 rows before the export ended: the fractions are of the 70
    rows up to its last value, so the test part holds data to score; the dark rows join it.
    Without them nothing moves."""
    values = np.r_[np.arange(70.0), np.full(30, np.nan)]
    out = Split(val=0.2, test=0.1).fit_transform(grid(values))
    assert out.split == (49, 63)
    assert out.part_bounds()["test"] == (63, 100)
    assert Split(val=0.2, test=0.1).fit_transform(grid(values[:70])).split == (49, 63)
    with pytest.raises(InvalidInput, match=r"100 points \(2 up to the last observed one\)"):
        Split(val=0.45, test=0.45).fit(grid(np.r_[1.0, 2.0, np.full(98, np.nan)]))


def test_trend_and_scale_fit_on_the_training_part_only() -> None:
    values = np.r_[np.arange(80.0) * 2 + 5, np.full(20, 1e6)]  # wild values in the test part
    frame = Split(val=0.0, test=0.2).fit_transform(grid(values))
    trend = RemoveLinearTrend().fit(frame)
    assert trend.slope_[0] == pytest.approx(2 * 24)  # per day, hourly grid
    assert trend.intercept_[0] == pytest.approx(5)
    detrended = trend.transform(frame)
    np.testing.assert_allclose(detrended.values[0, :80], 0, atol=1e-9)
    scale = Scale("minmax").fit(frame)
    assert scale.center_[0] == 5 and scale.scale_[0] == pytest.approx(158)


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_scale_methods_and_constant_channels(method: str) -> None:
    frame = SeriesFrame.from_arrays(
        np.arange(6) * HOUR, [[1.0, 2, 3, 4, 5, np.nan], [7.0] * 6], ["a", "b"], freq_ns=HOUR
    )
    step = Scale(method).fit(frame)  # type: ignore[arg-type]
    out = step.transform(frame)
    assert np.all(np.isfinite(out.values[1]))
    assert step.scale_[1] == 1.0
    if method == "standard":
        assert np.nanmean(out.values[0]) == pytest.approx(0) and np.nanstd(
            out.values[0]
        ) == pytest.approx(1)
    if method == "minmax":
        assert np.nanmin(out.values[0]) == 0 and np.nanmax(out.values[0]) == 1
    np.testing.assert_allclose(step.inverse_transform(out).values, frame.values)


def test_inverse_values_on_model_shaped_outputs() -> None:
    frame = Split(0.0, 0.25).fit_transform(
        SeriesFrame.from_arrays(
            np.arange(40) * HOUR,
            np.stack([np.arange(40.0), 3 * np.arange(40.0) + 1]),
            ["a", "b"],
            freq_ns=HOUR,
        )
    )
    trend = RemoveLinearTrend().fit(frame)
    ts = np.array([[41, 42], [43, 44]]) * HOUR
    back = trend.inverse_values(np.zeros((2, 2, 1)), ts, [1])
    np.testing.assert_allclose(back[..., 0], 3 * ts / HOUR + 1)
    with pytest.raises(InvalidInput, match="timestamps of shape"):
        trend.inverse_values(np.zeros((2, 2, 1)), ts[:, :1], [1])


def months(first: str, count: int, day: str = "start") -> np.ndarray:
    stamps = pd.date_range(first, periods=count, freq="MS" if day == "start" else "ME")
    return np.asarray(stamps.as_unit("ns").asi8, np.int64)


@pytest.mark.parametrize("day", ["start", "end"])
def test_monthly_readings_get_one_grid_point_per_calendar_month(day: str) -> None:
    from gapcast.processing._time import MONTH_NS, infer_frequency

    ts = months("2013-12-01", 130, day)  # 10 years and more: a 31-day step merged 3 months
    values = np.arange(130, dtype=float)
    keep = np.ones(130, bool)
    keep[[40, 41]] = False  # two months without a reading
    frame = SeriesFrame.from_arrays(ts[keep], values[keep], ["a"])
    assert infer_frequency(frame.timestamps) == MONTH_NS
    step = Resample().fit(frame)
    out = step.transform(frame)
    assert out.n_points == 130 and out.freq_ns == MONTH_NS
    np.testing.assert_array_equal(out.values[0][keep], values[keep])
    assert out.mask[0].tolist() == keep.tolist()
    # Every grid point lies in its reading's month; shown as the first of that month.
    grid_months = out.timestamps.astype("datetime64[ns]").astype("datetime64[M]")
    assert (grid_months == ts.astype("datetime64[ns]").astype("datetime64[M]")).all()
    assert step.labels(out.timestamps).tolist() == months("2013-12-01", 130).tolist()
    # A forecast start names its month by its first instant (or by the grid point itself).
    may = int(pd.Timestamp("2024-05-01").value)
    assert step.on_grid(may) == int(out.timestamps[0]) + 125 * MONTH_NS
    assert step.on_grid(may + 3_600 * 10**9) is None


@pytest.mark.parametrize(
    ("freq", "months_each", "count", "first"),
    [("QS", 3, 120, "1995-01-01"), ("QE", 3, 120, "1995-03-31"), ("YS", 12, 64, "1960-01-01")],
)
def test_quarterly_and_yearly_readings_get_one_grid_point_per_calendar_period(
    freq: str, months_each: int, count: int, first: str
) -> None:
    """Quarters (90-92 days) and years (365-366) on a fixed step drifted off their periods: a
    91-day grid named the quarter after 2024Q4 '2024-11-24'. They are binned by period."""
    from gapcast.processing._time import QUARTER_NS, YEAR_NS, format_duration, infer_frequency

    step_ns = QUARTER_NS if months_each == 3 else YEAR_NS
    ts = np.asarray(pd.date_range(first, periods=count, freq=freq).as_unit("ns").asi8, np.int64)
    keep = np.ones(count, bool)
    keep[[30, 31]] = False
    frame = SeriesFrame.from_arrays(ts[keep], np.arange(count, dtype=float)[keep], ["a"])
    assert infer_frequency(frame.timestamps) == step_ns
    assert format_duration(step_ns) == ("1 quarter" if months_each == 3 else "1 year")
    step = Resample().fit(frame)
    out = step.transform(frame)
    assert out.n_points == count and out.mask[0].tolist() == keep.tolist()
    # Shown as the first day of each calendar period, the quarter-end readings' too.
    starts = pd.date_range(
        pd.Timestamp(first).to_period("Q" if months_each == 3 else "Y").start_time,
        periods=count,
        freq="QS" if months_each == 3 else "YS",
    )
    assert step.labels(out.timestamps).tolist() == starts.as_unit("ns").asi8.tolist()
    after = step.point_after(int(ts[-1]))
    assert step.labels(np.asarray([after])).tolist() == [
        (starts[-1] + pd.DateOffset(months=months_each)).value
    ]
    # A forecast start is a period's first instant.
    assert step.on_grid(int(starts[10].value)) == int(out.timestamps[10])
    assert step.on_grid(int((starts[10] + pd.DateOffset(months=1)).value)) is None


def test_four_weekly_readings_are_not_monthly() -> None:
    from gapcast.processing._time import infer_frequency

    ts = np.arange(60, dtype=np.int64) * 28 * 86_400 * 10**9
    assert infer_frequency(ts) == 28 * 86_400 * 10**9
