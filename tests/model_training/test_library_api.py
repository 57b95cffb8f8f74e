"""gapcast.train, load_model and predict; the .keras artifact in plain Keras in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gapcast
from gapcast.errors import InvalidInput


def test_import_gapcast_is_light() -> None:
    code = (
        "import sys, gapcast\n"
        "heavy = [m for m in ('keras', 'jax', 'pandas', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_train_with_defaults_except_epochs(series: pd.DataFrame) -> None:
    # Default model ("auto"), preparation and window; one epoch keeps it quick.
    result = gapcast.train(series, {"training": {"epochs": 1}})
    assert result.run_info.model == "auto"
    # Hourly data: a day ahead, two days back, the daily season as the reference.
    assert result.run_info.lookback == 48 and result.run_info.horizon == 24
    window = result.config.preprocessing[-1]  # type: ignore[union-attr]
    assert (window.lookback, window.horizon, window.season) == (48, 24, 24)  # type: ignore[union-attr]
    tried = {c.key: c for c in result.metrics.candidates}
    halfway = [k for k in tried if k.endswith("+halfway")]
    assert set(tried) - set(halfway) == {
        "linear",
        "linear+correction",
        "mlp",
        "mlp+correction",
        "average",
    }
    # One more: the best of the rest halfway to the reference (test_halfway.py).
    rest = [c for k, c in tried.items() if k not in halfway and not c.pruned]
    best = min(rest, key=lambda c: c.val_mae if c.val_mae is not None else float("inf"))
    assert halfway == [f"{best.key}+halfway"]
    assert sum(c.selected for c in result.metrics.candidates) == 1
    methods = {r.method for r in result.metrics.leaderboard}
    assert methods == {"model", "naive", "seasonal_naive_1_day", "seasonal_naive_1_week"}


def test_predict_matches_plain_keras_in_a_fresh_process(
    series: pd.DataFrame, tiny_config: Any, tmp_path: Path
) -> None:
    events: list[Any] = []
    result = gapcast.train(series, tiny_config("mlp"), on_event=events.append)
    assert events
    model = gapcast.load_model(result)
    recent = series.iloc[-50:]
    forecast = model.predict(recent)
    assert list(forecast.columns) == [
        "timestamp",
        "load",
        "load_p10",
        "load_p50",
        "load_p90",
    ]
    assert len(forecast) == 4
    step = forecast["timestamp"].diff().dropna().unique()
    assert len(step) == 1 and step[0] == pd.Timedelta(hours=1)
    assert forecast["timestamp"].iloc[0] == pd.Timestamp(
        series["timestamp"].iloc[-1], tz="UTC"
    ) + pd.Timedelta(hours=1)

    batch, _ = model.prepare(recent)
    (tmp_path / "model.keras").write_bytes(result.artifact("model").data)  # type: ignore[union-attr]
    np.save(tmp_path / "x.npy", batch.x)
    code = (
        "import sys, numpy as np, keras\n"
        "m = keras.saving.load_model(sys.argv[1], safe_mode=True)\n"
        "np.save(sys.argv[3], m.predict(np.load(sys.argv[2]), verbose=0))\n"
    )
    out = tmp_path / "y.npy"
    env = {"KERAS_BACKEND": "jax", "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(tmp_path / "model.keras"),
            str(tmp_path / "x.npy"),
            str(out),
        ],
        check=True,
        env=env,
    )
    # Plain Keras gives the window-relative output; the stored pipeline maps it to real units.
    relative = np.load(out) + (batch.reference if model.forecaster.correction else 0.0)
    y_plain = model.pipeline.inverse_targets(batch.to_real(relative), batch.target_ts)[0, :, 0]
    np.testing.assert_allclose(forecast["load"].to_numpy(), y_plain, rtol=1e-5, atol=1e-5)


def test_bundle_round_trip(series: pd.DataFrame, tiny_config: Any, tmp_path: Path) -> None:
    result = gapcast.train(series, tiny_config("linear", epochs=1))
    model = gapcast.load_model(result.artifacts)
    expected = model.predict(series)
    path = model.save(tmp_path / "model.gapcast")
    pd.testing.assert_frame_equal(gapcast.load_model(path).predict(series), expected)
    pd.testing.assert_frame_equal(gapcast.load_model(path.read_bytes()).predict(series), expected)
    folder = tmp_path / "parts"
    folder.mkdir()
    for a in result.artifacts:
        name = {"model": "model.keras", "pipeline": "pipeline.json"}.get(a.kind)
        if name:
            (folder / name).write_bytes(a.data)
    pd.testing.assert_frame_equal(gapcast.load_model(folder).predict(series), expected)
    # Local times in, local times out: the same instants, in the history's zone.
    assert str(expected["timestamp"].dt.tz) == "UTC"  # naive times are UTC
    local = series.assign(timestamp=series["timestamp"].dt.tz_localize("UTC"))
    local["timestamp"] = local["timestamp"].dt.tz_convert("Europe/Berlin")
    berlin = model.predict(local)
    assert str(berlin["timestamp"].dt.tz) == "Europe/Berlin"
    pd.testing.assert_series_equal(berlin["timestamp"].dt.tz_convert("UTC"), expected["timestamp"])
    pd.testing.assert_frame_equal(
        berlin.drop(columns="timestamp"), expected.drop(columns="timestamp")
    )
    assert model.forecast_document(local) == model.forecast_document(series)
    with pytest.raises(InvalidInput):
        gapcast.load_model(b"nonsense")
    with pytest.raises(InvalidInput):
        gapcast.load_model(tmp_path / "missing.gapcast")


def test_train_a_stored_dataset_by_name(tmp_path: Path, tiny_config: Any) -> None:
    from gapcast.db import repository
    from gapcast.db.migrate import upgrade
    from gapcast.db.session import make_engine, make_sessionmaker, transaction
    from gapcast.ingest import read_file

    url = f"sqlite:///{tmp_path / 'g.db'}"
    upgrade(url)
    csv = Path(__file__).parents[2] / "src" / "gapcast" / "data" / "mauna_loa_co2_weekly.csv"
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as s:
        repository.import_dataset(s, table=read_file(csv), name="co2")
    engine.dispose()
    cfg = tiny_config("linear", epochs=1, gap_classifier="never")
    result = gapcast.train("co2", cfg, database_url=url)
    assert result.run_info.targets == ["co2_ppm"] and result.metrics.season == 52
    with pytest.raises(gapcast.errors.NotFound):
        gapcast.train("nope", cfg, database_url=url)


def test_train_scores_early_only_gaps_by_blocked_cv(hourly: Any, tiny_config: Any) -> None:
    from gapcast.events import LogEvent

    # One 30-hour outage in the training part, none in the test part (the last 15 %).
    events: list[Any] = []
    result = gapcast.train(
        hourly(600, gap=(100, 30)), tiny_config("linear", epochs=1), on_event=events.append
    )
    assert result.gap_report.large == 1
    stored = result.run_info.gap_metrics  # what the worker writes to the runs table
    assert stored is not None and stored == result.gap_metrics.model_dump(mode="json")  # type: ignore[union-attr]
    assert stored["evaluation"] == "blocked_cv" and stored["folds"] == 3
    assert stored["positives"] == 30 * 4 and stored["roc_auc"] is not None
    metrics = ("precision", "recall", "f1", "roc_auc", "average_precision")
    assert all(np.isfinite(stored[k]) for k in metrics)
    said = [e.message for e in events if isinstance(e, LogEvent)]
    assert any("blocked cross-validation over 3 blocks" in m for m in said), said


def test_a_column_the_run_does_not_read_is_named(hourly: Any, tiny_config: Any) -> None:
    """A table of several sensors trains on the first one alone unless told otherwise: the run
    says which columns it leaves out and how to use them; a column named as a covariate is
    read, and the run says nothing of it."""
    from gapcast.events import LogEvent

    df = hourly(200).assign(temp=lambda d: d["load"] * 2.0, humidity=1.0)
    events: list[Any] = []
    result = gapcast.train(df, tiny_config("linear", epochs=1), on_event=events.append)
    assert result.run_info.targets == ["load"]
    warned = [e.message for e in events if isinstance(e, LogEvent) and e.level == "warning"]
    assert any(
        "forecasting 'load'; not used: 'temp', 'humidity'" in m and "'covariates'" in m
        for m in warned
    ), warned

    events.clear()
    config = {**tiny_config("linear", epochs=1), "covariates": ["temp", "humidity"]}
    result = gapcast.train(df, config, on_event=events.append)
    assert result.run_info.covariates == ["temp", "humidity"]
    assert not [e for e in events if isinstance(e, LogEvent) and "not used" in e.message]


def test_bad_data_type_is_invalid_input(tiny_config: Any) -> None:
    with pytest.raises(InvalidInput, match="SeriesFrame"):
        gapcast.train([1, 2, 3], tiny_config())  # type: ignore[arg-type]


def test_a_bad_config_is_invalid_input_naming_the_field(hourly: Any) -> None:
    """A typo in a config given to the library is refused as the server refuses it: InvalidInput
    with the field's path, every error in the details, before any data is read."""
    with pytest.raises(InvalidInput, match=r"^config.trainig: unknown field$") as caught:
        gapcast.train(hourly(100), {"trainig": {"epochs": 2}})
    assert caught.value.field == "config.trainig"
    with pytest.raises(InvalidInput) as caught:
        gapcast.train(hourly(100), {"training": {"epochs": 0, "batch_size": 0}})
    fields = {e["field"] for e in caught.value.details["errors"]}
    assert fields == {"config.training.epochs", "config.training.batch_size"}


def test_keyword_overrides_apply_on_top_of_the_config(hourly: Any, tiny_config: Any) -> None:
    """``gapcast.train(df, target=..., epochs=...)``: the CLI's --set as keywords, over the
    config; a step's field by its dotted name; an unknown one refused by name before any data
    is read."""
    frame = hourly(300).assign(temp=lambda d: d["load"] * 2 + 1)
    result = gapcast.train(
        frame, tiny_config(), target="temp", epochs=1, lookback=12, **{"split.test": 0.2}
    )
    split = next(s for s in result.config.preprocessing if s.step == "split")
    window = result.config.preprocessing[-1]
    assert result.config.target == ["temp"] and result.config.training.epochs == 1
    assert (window.lookback, split.test) == (12, 0.2)  # type: ignore[union-attr]
    assert result.run_info.lookback == 12
    with pytest.raises(InvalidInput, match=r"unknown override 'epoch'") as caught:
        gapcast.train([1, 2, 3], epoch=3)  # type: ignore[arg-type]
    assert caught.value.field == "overrides.epoch"
    with pytest.raises(InvalidInput, match=r"^config.training.epochs: ") as caught:
        gapcast.train(frame, epochs=0)
    assert caught.value.field == "config.training.epochs"


def test_a_long_format_frame_is_refused_by_name_not_averaged(hourly: Any, tiny_config: Any) -> None:
    """Two sensors stacked in one frame (one row per sensor and time) would train on the mean of
    both if resampling merged their rows: train refuses, naming the rows and the pivot that
    fixes it; predict refuses a repeated time as well. Rows repeated whole are harmless."""
    df = hourly(200)
    long = pd.concat([df.assign(sensor=1), df.assign(sensor=2, load=df["load"] + 50)])
    long = long.reset_index(drop=True)
    with pytest.raises(InvalidInput, match=r"rows 0, 200, 1, 201, 2 and 395 more") as caught:
        gapcast.train(long, tiny_config(epochs=1))
    assert caught.value.field == "timestamp"
    assert "df.pivot_table(index='timestamp', columns='sensor')" in caught.value.message
    with pytest.raises(InvalidInput, match=r"positions 0, 200, 1, 201, 2 .*groupby\(level=0\)"):
        gapcast.train(long.set_index("timestamp"), tiny_config(epochs=1))
    # Stacked with their own row labels (pd.concat without ignore_index): 0, 0, 1, 1 would
    # find nothing, so the positions are named, as numbers people write.
    stacked = pd.concat([df.assign(sensor=1), df.assign(sensor=2, load=df["load"] + 50)])
    with pytest.raises(InvalidInput, match=r"at positions 0, 200, 1, 201, 2 and 395 more"):
        gapcast.train(stacked, tiny_config(epochs=1))
    # Sensors named by text: the column of names is refused with the pivot, not "leave it out".
    named = long.assign(sensor=long["sensor"].map({1: "A", 2: "B"}))
    with pytest.raises(InvalidInput) as caught:
        gapcast.train(named, tiny_config(epochs=1))
    assert caught.value.field == "columns.sensor"
    assert caught.value.message.startswith(
        "expected numeric value columns; column 'sensor' holds only text, first 'A' at row 0: "
        "if it names each row's series (a long format: times repeat), give each series a "
        "column first (in pandas: df.pivot_table(index='timestamp', columns='sensor')); else "
        "leave it out"
    )

    model = gapcast.load_model(gapcast.train(pd.concat([df, df.iloc[:50]]), tiny_config(epochs=1)))
    clash = pd.concat([df, df.iloc[[-1]].assign(load=0.0)], ignore_index=True)
    with pytest.raises(InvalidInput, match=r"1 repeated time\(s\) .* rows 199, 200; .*groupby"):
        model.predict(clash)


def test_covariates_train_and_predict_end_to_end(hourly: Any, tiny_config: Any) -> None:
    """A covariate is an input channel through training, the stored pipeline and predict."""
    df = hourly()
    t = np.arange(len(df))
    df["temp"] = np.cos(2 * np.pi * t / 24 + 1.0) + 0.002 * t
    df["load"] += 0.5 * df["temp"]
    cfg = {**tiny_config("linear", epochs=1), "target": ["load"], "covariates": ["temp"]}
    result = gapcast.train(df, cfg)
    assert result.config.covariates == ["temp"]
    model = gapcast.load_model(result)
    forecast = model.predict(df)
    assert "temp" not in forecast.columns  # forecast: the target only
    assert len(forecast) == 4 and np.isfinite(forecast["load"]).all()
    # The covariate is read: another covariate history gives another forecast. (Its shape, not
    # its level or scale: inputs are relative to each window's level and spread.)
    flipped = df.assign(temp=-df["temp"])
    assert not np.allclose(model.predict(flipped)["load"], forecast["load"])
    with pytest.raises(InvalidInput, match="temp"):
        model.predict(df.drop(columns="temp"))


def test_a_target_logged_slower_than_its_covariate_is_forecast_on_its_own_step(
    tiny_config: Any,
) -> None:
    """A battery voltage every 10 minutes in a file of 1-minute temperatures: on the rows'
    1-minute grid the target would be 90% missing and no window usable; it is forecast on its
    own step, the temperatures averaged into it, from the step due after the file's last row."""
    t = pd.date_range("2024-01-01", periods=60 * 24 * 6, freq="min", tz="UTC")
    minutes = np.arange(len(t))
    temp = 20 + np.sin(2 * np.pi * minutes / 1440)
    volts = np.where(minutes % 10 == 0, 12 + 0.1 * np.sin(2 * np.pi * minutes / 1440), np.nan)
    volts[5000] = np.nan  # one reading that never came
    df = pd.DataFrame({"timestamp": t, "temp": temp, "volts": volts})
    cfg = {**tiny_config("linear", epochs=1), "target": ["volts"], "covariates": ["temp"]}
    del cfg["preprocessing"]
    result = gapcast.train(df, cfg)
    assert result.pipeline_config[0]["fitted"]["freq_ns"] == 600 * 10**9
    # Missing: that reading alone. The rows from 23:55 on fall in the 00:00 step, whose reading
    # is not due yet: no gap, as the dataset view says.
    assert result.gap_report.missing_points == 1
    forecast = gapcast.load_model(result).predict(df.iloc[:-4])  # rows up to 23:55 of the sixth day
    assert forecast["timestamp"].iloc[0] == pd.Timestamp("2024-01-07 00:00", tz="UTC")
    assert forecast["timestamp"].diff().iloc[1:].eq(pd.Timedelta("10min")).all()
    # Its own step is the readings' regular one: a target missing at random keeps the rows' grid.
    sparse = df.assign(temp=np.where(np.random.default_rng(0).random(len(df)) < 0.5, np.nan, temp))
    cfg = {**cfg, "target": ["temp"], "covariates": ["volts"]}
    assert gapcast.train(sparse, cfg).pipeline_config[0]["fitted"]["freq_ns"] == 60 * 10**9


def test_a_covariate_read_slower_than_the_target_is_held_not_counted_as_gaps(
    tiny_config: Any,
) -> None:
    """Power every 5 minutes, an outdoor temperature every 30: on the 5-minute grid each
    temperature holds until the next is due. Without that the run counted a gap between every
    two temperatures (5 steps of 6 missing, "70% observed") and read them through the mask
    only. The run says why the covariate shows no gaps; one missed reading is still a gap."""
    from gapcast.events import LogEvent

    t = pd.date_range("2024-01-01", periods=288 * 6, freq="5min", tz="UTC")
    steps = np.arange(len(t))
    temp = 10 + 5 * np.sin(2 * np.pi * steps / 288)
    df = pd.DataFrame(
        {
            "timestamp": t,
            "power": 50 + 2 * temp + np.random.default_rng(0).normal(0, 0.5, len(t)),
            "temp": np.where(steps % 6 == 0, temp, np.nan),
        }
    )
    df.loc[600, "temp"] = np.nan  # one reading that never came
    events: list[Any] = []
    cfg = {**tiny_config("linear", epochs=1), "target": ["power"], "covariates": ["temp"]}
    result = gapcast.train(df, cfg, on_event=events.append)
    assert result.pipeline_config[0]["fitted"]["held_steps"] == {"temp": 5}
    assert result.gap_report.gaps == 1 and result.gap_report.missing_points == 6
    said = [e.message for e in events if isinstance(e, LogEvent)]
    assert any(
        "read less often than the grid's 5min step: 'temp' (up to 5 steps)" in m for m in said
    ), said
    # A forecast between two readings reads the last one: ten minutes after it, as in training.
    model = gapcast.load_model(result)
    recent = df.iloc[:-3]  # up to 23:45 of the sixth day; the last temperature at 23:30
    assert model.forecast_document(recent)["lookback_observed"] == {"power": 1.0}
    assert np.isfinite(model.predict(recent)["power"]).all()


def test_a_covariate_installed_later_has_no_gap_before_its_first_reading(
    hourly: Any, tiny_config: Any
) -> None:
    """A humidity sensor installed ten days after the meter: its steps before its first reading
    are no gap of it, as the dataset's view counts them; an outage of it afterwards is one."""
    df = hourly(600)
    df["humidity"] = np.where(np.arange(len(df)) >= 240, 60.0 + np.arange(len(df)) % 5, np.nan)
    cfg = {**tiny_config("linear", epochs=1), "covariates": ["humidity"]}
    summary = gapcast.train(df, cfg).gap_report
    assert (summary.gaps, summary.missing_points, summary.observed_fraction) == (0, 0, 1.0)
    df.loc[400:419, "humidity"] = np.nan  # 20 hours offline
    summary = gapcast.train(df, cfg).gap_report
    assert (summary.gaps, summary.large, summary.missing_points) == (1, 1, 20)
    # Of the points from each series' first reading (600 + 360), 20 are missing.
    assert summary.observed_fraction == pytest.approx(1 - 20 / 960)


def test_a_logger_reconfigured_to_hourly_trains_and_forecasts_on_the_hour(
    tiny_config: Any,
) -> None:
    """Every 15 minutes for three weeks, then hourly for three: on the 15-minute grid (the
    median step) the hourly part was 75% missing, and the run failed "too little data: 0 test
    windows". It trains on the hour, says why, and forecasts from a day of hourly readings."""
    from gapcast.events import LogEvent

    fine = pd.date_range("2024-01-01", periods=21 * 96, freq="15min", tz="UTC")
    t = fine.append(pd.date_range(fine[-1] + pd.Timedelta("1h"), periods=21 * 24, freq="h"))
    hours = (t - t[0]) / pd.Timedelta("1h")
    df = pd.DataFrame({"timestamp": t, "temp": 20 + 3 * np.sin(2 * np.pi * hours / 24)})
    cfg = tiny_config("linear", epochs=1)
    del cfg["preprocessing"]
    events: list[Any] = []
    result = gapcast.train(df, cfg, on_event=events.append)
    assert result.pipeline_config[0]["fitted"]["freq_ns"] == 3600 * 10**9
    said = [e.message for e in events if isinstance(e, LogEvent)]
    assert any(
        m.startswith("the readings' step went from 15min to 1h after 2024-01-21T23:45:00+00:00")
        for m in said
    ), said
    forecast = gapcast.load_model(result).predict(df.iloc[-48:])
    assert forecast["timestamp"].diff().iloc[1:].eq(pd.Timedelta("1h")).all()
    assert np.isfinite(forecast["temp"]).all()


def test_a_dark_target_is_forecast_from_its_last_values_and_says_so(
    hourly: Any, tiny_config: Any
) -> None:
    """Two sensors; the second has been dark for longer than the stretch a forecast reads. The
    forecast is accepted (the first kept the history observed), starts the dark one from where
    it was last seen — not from 0 — and reports how much of each lookback was measured."""
    df = hourly()
    df["spare"] = df["load"] + 100.0
    cfg = {**tiny_config("linear", epochs=1), "target": ["load", "spare"]}
    del cfg["preprocessing"]  # the default: window-relative scaling alone, nothing global
    model = gapcast.load_model(gapcast.train(df, cfg))
    recent = df.copy()
    recent.loc[len(df) - 400 :, "spare"] = np.nan
    forecast = model.predict(recent)
    assert forecast.attrs["lookback_observed"] == {"load": 1.0, "spare": 0.0}
    last_seen = recent["spare"].dropna().iloc[-24:]
    assert abs(forecast["spare"].mean() - last_seen.mean()) < 4 * last_seen.std()
    document = model.forecast_document(recent)
    assert document["lookback_observed"] == {"load": 1.0, "spare": 0.0}


def test_quarterly_data_forecasts_calendar_quarters(tiny_config: Any) -> None:
    """Quarter-end readings forecast the next quarters, named by their first day."""
    stamps = pd.date_range("1995-03-31", periods=100, freq="QE", tz="UTC")
    t = np.arange(100)
    df = pd.DataFrame({"timestamp": stamps, "gdp": 100 + t + 5 * np.tile([0, 3, -2, -1], 25)})
    cfg = tiny_config("linear", epochs=1)
    cfg["preprocessing"][-1] = {"step": "window", "lookback": 8, "horizon": 4}
    result = gapcast.train(df, cfg)
    assert result.gap_report.missing_points == 0
    forecast = gapcast.load_model(result).predict(df)
    expected = pd.date_range("2020-01-01", periods=4, freq="QS", tz="UTC")
    assert forecast["timestamp"].tolist() == expected.tolist()


def test_five_years_of_monthly_data_train_with_the_default_sizes(tiny_config: Any) -> None:
    """60 months cannot hold the monthly default horizon of 12 in a test part of 9: the default
    is cut to fit (and said), not refused."""
    stamps = pd.date_range("2019-01-01", periods=60, freq="MS", tz="UTC")
    t = np.arange(60)
    df = pd.DataFrame({"timestamp": stamps, "sales": 100 + t + 10 * np.sin(2 * np.pi * t / 12)})
    cfg = tiny_config("linear", epochs=1)
    cfg["preprocessing"][-1] = {"step": "window"}
    events: list[Any] = []
    result = gapcast.train(df, cfg, on_event=events.append)
    assert (result.run_info.lookback, result.run_info.horizon) == (24, 9)
    window = result.config.preprocessing[-1]  # type: ignore[union-attr]
    assert (window.lookback, window.horizon) == (24, 9)  # type: ignore[union-attr]
    said = [e.message for e in events if getattr(e, "type", None) == "log"]
    assert (
        "a short series: horizon 9 instead of 12: the test and validation parts hold 9 steps"
        in said
    )
    forecast = gapcast.load_model(result).predict(df)
    assert len(forecast) == 9 and forecast["timestamp"].iloc[0] == pd.Timestamp(
        "2024-01-01", tz="UTC"
    )


def test_monthly_data_trains_and_forecasts_calendar_months(tiny_config: Any) -> None:
    """A monthly series keeps one value per month through training and predict, and its
    forecast names months by their first day (a 31-day grid merged months and drifted)."""
    rng = np.random.default_rng(0)
    stamps = pd.date_range("2012-01-01", periods=144, freq="MS", tz="UTC")
    t = np.arange(144)
    df = pd.DataFrame(
        {
            "timestamp": stamps,
            "sales": 100 + t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, 144),
        }
    )
    cfg = tiny_config("linear", epochs=1)
    cfg["preprocessing"][-1] = {"step": "window", "lookback": 24, "horizon": 4}
    result = gapcast.train(df, cfg)
    assert result.gap_report.missing_points == 0
    model = gapcast.load_model(result)
    forecast = model.predict(df)
    expected = pd.date_range("2024-01-01", periods=4, freq="MS", tz="UTC")
    assert forecast["timestamp"].tolist() == expected.tolist()
    # From a month named by its first day, with the months before it only.
    earlier = model.predict(df, start="2023-06-01")
    assert earlier["timestamp"].iloc[0] == pd.Timestamp("2023-06-01", tz="UTC")
    assert np.isfinite(earlier["sales"]).all()
    # The same months as pandas Periods (df.to_period('M')): on the index of a Series, or in a
    # column of their own beside a status column, each month is its first day.
    periods = stamps.tz_localize(None).to_period("M")
    as_series = pd.Series(df["sales"].to_numpy(), index=periods, name="sales")
    as_column = pd.DataFrame({"month": periods, "sales": df["sales"], "status": "ok"})
    for recent in (as_series, as_column):
        pd.testing.assert_frame_equal(model.predict(recent), forecast)


def test_readings_sent_on_change_only_train_held_until_the_next(tiny_config: Any) -> None:
    """A sensor that reports when its value moved: on a 10-minute grid most steps have no
    reading, too few for a window to train on; with resample's hold each reading stands until
    the next (for at most max_hold), so the run finds no gap and predict reads rows alike."""
    rng = np.random.default_rng(2)
    minutes = np.arange(60 * 24 * 20)
    level = 20 + 3 * np.sin(2 * np.pi * minutes / 1440) + rng.normal(0, 0.05, minutes.size)
    sent, last = [0], level[0]
    for i in range(1, minutes.size):
        if abs(level[i] - last) >= 0.3:
            sent.append(i)
            last = level[i]
    stamps = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(minutes[sent], unit="min")
    df = pd.DataFrame({"timestamp": stamps, "temp": np.round(level[sent], 1)})
    cfg = tiny_config("linear", epochs=1)
    cfg["preprocessing"][0] = {"step": "resample", "freq": "10min"}
    with pytest.raises(InvalidInput, match=r"no training window .* a lower min_observed"):
        gapcast.train(df, cfg)
    cfg["preprocessing"][0] = {"step": "resample", "freq": "10min", "agg": "hold", "max_hold": "6h"}
    held = gapcast.train(df, cfg)
    assert held.gap_report.missing_points == 0
    forecast = gapcast.load_model(held).predict(df)
    first = (stamps[-1].floor("10min") + pd.Timedelta("10min")).tz_convert("UTC")
    assert forecast["timestamp"].iloc[0] == first and np.isfinite(forecast["temp"]).all()


def test_a_series_a_table_and_a_status_column_beside_the_readings_are_read(
    hourly: Any, tiny_config: Any
) -> None:
    """What users hold: a pandas Series on a time index, a pyarrow (or polars) table, a frame
    with a status column of text beside the readings. Each forecasts as the plain frame does;
    a text column the model reads is still refused, naming it."""
    import pyarrow as pa

    df = hourly(300)
    with pytest.raises(InvalidInput, match="column 'status' holds only text") as caught:
        gapcast.train(df.assign(status="OK"), tiny_config(epochs=1))
    assert "leave it out (in pandas: df.drop(columns=['status']))" in caught.value.message
    assert "or name the series to train on (the configuration's target)" in caught.value.message
    result = gapcast.train(df.assign(status="OK"), {**tiny_config(epochs=1), "target": "load"})
    model = gapcast.load_model(result)
    expected = model.predict(df)["load"].to_numpy()
    series = df.set_index("timestamp")["load"]
    for recent in (
        df.assign(status="OK"),
        series,
        series.rename(None),  # an unnamed Series is the model's one target
        pa.Table.from_pandas(df),
    ):
        np.testing.assert_allclose(model.predict(recent)["load"].to_numpy(), expected, rtol=1e-6)
    with pytest.raises(InvalidInput, match="column 'load' holds numbers written as text"):
        model.predict(df.assign(load=df["load"].astype(str)))
    # The model's own column holding only text (a logger's "OFFLINE" throughout) cannot be
    # left out: the refusal says the model reads it, not to drop it.
    with pytest.raises(InvalidInput, match="column 'load' holds only text") as caught:
        model.predict(df.assign(load="OFFLINE"))
    assert caught.value.field == "columns.load"
    assert "the model reads this column" in caught.value.message
    assert "leave it out" not in caught.value.message
    with pytest.raises(
        InvalidInput, match="the data lacks \\['load'\\] \\(it has \\['power'\\]\\)"
    ):
        model.predict(series.rename("power"))
    trained = gapcast.train(series, tiny_config(epochs=1))
    assert trained.config.target in (None, ["load"]) and gapcast.load_model(trained).targets == [
        "load"
    ]


def test_a_loggers_missing_value_marker_is_read_as_missing_and_said(
    hourly: Any, tiny_config: Any
) -> None:
    """Hours of -9999 (a logger's "no reading") in a DataFrame are read as gapcast import reads
    them — missing — with a warning at the caller's line, in train and in predict; read as
    numbers they were what the model learned."""
    df = hourly(400)
    marked = df.copy()
    marked.loc[100:129, "load"] = -9999.0
    with pytest.warns(gapcast.DataWarning, match=r"'load': 30 cells of -9999 read") as said:
        result = gapcast.train(marked, tiny_config(epochs=1))
    assert said[0].filename == __file__
    assert result.metrics.mae < 5  # of a series between 9 and 15; -9999 learned: hundreds
    model = gapcast.load_model(result)
    recent = df.iloc[-60:].copy()
    blank = recent.assign(load=recent["load"].mask(recent.index >= 390))
    recent.loc[recent.index >= 390, "load"] = -9999.0
    recent.loc[recent.index == 380, "load"] = -9999.0
    with pytest.warns(gapcast.DataWarning, match="11 cells of -9999") as said:
        forecast = model.predict(recent)
    assert said[0].filename == __file__
    assert int((recent["load"] == -9999.0).sum()) == 11  # the caller's frame is left as it was
    blank.loc[blank.index == 380, "load"] = np.nan
    np.testing.assert_allclose(forecast["load"], model.predict(blank)["load"], rtol=1e-6)
    # The server's answer (forecast_document) carries them as notes, without the warnings
    # machinery, which its threads cannot share.
    with warnings.catch_warnings():
        warnings.simplefilter("error", gapcast.DataWarning)
        document = model.forecast_document(recent)
    assert document["notes"] == [
        "'load': 11 cells of -9999 read as missing (a missing-value marker far outside the "
        "other values), as gapcast import reads it"
    ]
    assert model.forecast_document(blank)["notes"] == []
    # The same rows as a database hands them over (NUMERIC as Decimal): the same forecast.
    from decimal import Decimal

    as_sql = recent.assign(load=[Decimal(f"{v:.12g}") for v in recent["load"]])
    with pytest.warns(gapcast.DataWarning, match="11 cells of -9999"):
        np.testing.assert_allclose(model.predict(as_sql)["load"], forecast["load"], rtol=1e-6)
    # Once is not a marker: a reading (for mask_outliers to judge), and nothing is said.
    once = df.iloc[-60:].copy()
    once.loc[370, "load"] = -9999.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model.predict(once)


def test_ranges_that_held_far_less_than_they_claim_are_said(hourly: Any, tiny_config: Any) -> None:
    """The test part's noise is 8x the validation part's: the ranges calibrated there hold far
    less than 80% of it, and the run's warnings say so beside the coverage."""
    frame = hourly(600)
    storm = np.random.default_rng(9).normal(0, 2.0, 90)
    frame.loc[frame.index[-90:], "load"] += storm
    result = gapcast.train(frame, tiny_config())
    covered = result.metrics.intervals.coverage  # type: ignore[union-attr]
    assert covered is not None and covered < 0.7
    (said,) = [w for w in result.metrics.warnings if w.code == "intervals_under_cover"]
    assert said.message.startswith(f"the P10–P90 range held {covered:.0%} of the test part's")


def test_ranges_of_a_target_in_half_degrees_are_read_off_half_degrees(tiny_config: Any) -> None:
    """A thermostat's setpoint: 21.0 by day and 17.0 by night, overridden by half degrees now and
    then. Its ranges were drawn a hair either side of a forecast a hair off the setpoint, and
    missed the setpoint itself; read off the half degrees the data takes, they hold it."""
    rng = np.random.default_rng(4)
    t = pd.date_range("2026-01-01", periods=24 * 40, freq="h", tz="UTC")
    day = (t.hour >= 7) & (t.hour < 22)
    override = np.where(rng.random(t.size) < 0.05, rng.choice([-0.5, 0.5, 1.0], t.size), 0.0)
    frame = pd.DataFrame({"time": t, "setpoint": np.where(day, 21.0, 17.0) + override})
    config = tiny_config()
    config["preprocessing"] = [
        s for s in config["preprocessing"] if s["step"] not in ("remove_linear_trend", "scale")
    ]
    result = gapcast.train(frame, config, target="setpoint")
    intervals = result.metrics.intervals
    assert intervals is not None and intervals.coverage is not None
    assert intervals.coverage >= 0.85  # 0.79 drawn a hair either side of the forecast
    assert not [w for w in result.metrics.warnings if w.code == "intervals_under_cover"]
    model = gapcast.load_model(result)
    assert model.pipeline.window.value_grid_ == ((0.5, 0.0),)
    forecast = model.predict(frame.iloc[-100:])
    bands = forecast[["setpoint_p10", "setpoint_p50", "setpoint_p90"]].to_numpy()
    assert np.array_equal(bands * 2, np.round(bands * 2))
    # The point forecast estimates a level and is not read off the grid.
    assert not np.array_equal(forecast["setpoint"] * 2, np.round(forecast["setpoint"] * 2))
