"""MLRunner end to end on small data: events, gap classifier, artifacts, cancel, resume, seeds."""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import gapcast
from gapcast.errors import Cancelled, InvalidInput
from gapcast.events import CandidateEvent, GapsEvent, ProgressEvent, StatusEvent
from gapcast.model_training.ml_runner import MLRunner
from gapcast.model_training.results import RunResult
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig


def _run(df: pd.DataFrame, cfg: dict[str, Any], **kwargs: Any) -> tuple[RunResult, list[Any]]:
    events: list[Any] = []
    runner = MLRunner(TrainingConfig.model_validate(cfg), on_event=events.append, **kwargs)
    return runner.run(SeriesFrame.from_pandas(df)), events


def test_run_without_large_gaps(series: pd.DataFrame, tiny_config: Any) -> None:
    result, events = _run(series, tiny_config("mlp", epochs=3, patience=0))
    stages = [e.stage for e in events if isinstance(e, StatusEvent)]
    assert stages == ["preparing", "training", "evaluating", "saving"]
    gaps = [e for e in events if isinstance(e, GapsEvent)]
    assert len(gaps) == 1 and gaps[0].large == 0 and not gaps[0].gap_classifier
    ends = [e for e in events if isinstance(e, ProgressEvent) and e.batch is None]
    # The candidate trains with validation, then the refit on train + validation: five copies
    # of 3 epochs (the default seed ensemble), counted as one stage of 15.
    assert [(e.phase, e.epoch) for e in ends] == [
        *(("candidate", i) for i in (1, 2, 3)),
        *(("refit", i) for i in range(1, 16)),
    ]
    assert {e.epochs for e in ends if e.phase == "refit"} == {15}
    assert all(e.val_loss is not None for e in ends if e.phase == "candidate")
    assert {e.candidate for e in ends} == {"mlp+correction"}
    assert result.gap_metrics is None and result.epochs == 3 and len(result.history) == 3
    assert {a.kind for a in result.artifacts} == {"model", "pipeline", "plot", "backtest"}
    m = result.metrics
    # Every step of the short test part is an origin, so the forecasts start at every hour of
    # the day (origins a horizon apart started them all at one hour).
    assert m.season == 24 and m.origins > 24 and m.origin_stride == 1
    origins = json.loads(result.artifact("backtest").data)["origins"]  # type: ignore[union-attr]
    assert {pd.Timestamp(t).hour for t in origins} == set(range(24))
    assert m.mae is not None and m.mae >= 0 and m.mase is not None
    assert m.points == m.origins * 4  # horizon 4, no missing truth
    assert m.baseline("seasonal_naive_1_day") is not None and m.baseline("naive") is not None
    for a in result.artifacts:
        assert a.size == len(a.data) and len(a.sha256) == 64
    png = Image.open(io.BytesIO(result.artifact("plot").data))  # type: ignore[union-attr]
    assert png.format == "PNG" and png.size == (1200, 760)
    doc = json.loads(result.artifact("pipeline").data)  # type: ignore[union-attr]
    assert doc["lookback"] == 24 and doc["horizon"] == 4 and doc["targets"] == ["load"]
    assert doc["correction"] == 1.0 and doc["format"] == 2
    assert isinstance(doc["correction"], float)  # a share of the reference, not a flag
    # The whole result survives JSON (bytes as base64), as the worker stores it.
    assert RunResult.model_validate_json(result.model_dump_json()) == result
    assert result.run_info.keras_backend == "jax"
    # Printed, it reads as a summary: the verdict, not the whole backtest and every epoch.
    shown = repr(result)
    assert shown.startswith("RunResult(model='mlp + seasonal correction', mae=")
    assert f"verdict={m.verdict.text!r}" in shown and "gaps=" not in shown
    assert "artifacts=['model', 'pipeline'," in shown and len(shown) < 600
    assert str(result).startswith("model='mlp + seasonal correction' mae=")


def test_a_sensor_stuck_for_days_is_said_not_masked(hourly: Any, tiny_config: Any) -> None:
    """Two days of one value, to the last digit, on a sensor whose readings otherwise always
    change: the run warns (where, how long, which value) and scores on the readings as they
    are; the same series without the run has no such warning."""
    cfg = tiny_config("linear", epochs=1)
    stuck = hourly(480)
    stuck.loc[150:197, "load"] = 10.25
    result, _ = _run(stuck, cfg)
    said = [w for w in result.metrics.warnings if w.code == "flat_readings"]
    assert len(said) == 1 and said[0].level == "warning"
    assert said[0].message.startswith(
        "'load' repeats 10.25 for 48 readings in a row, from 2024-01-07T06:00:00+00:00 to "
        "2024-01-09T05:00:00+00:00, where its readings otherwise change at nearly every step"
    )
    # Data imported in a zone: the times are written on its clock, as the user's file has them.
    zoned, _ = _run(stuck, cfg, zone="Europe/Berlin")
    (said,) = [w for w in zoned.metrics.warnings if w.code == "flat_readings"]
    assert "from 2024-01-07T07:00:00+01:00 to 2024-01-09T06:00:00+01:00" in said.message
    clean, _ = _run(hourly(480), cfg)
    assert not [w for w in clean.metrics.warnings if w.code == "flat_readings"]
    # A covariate's stuck sensor is said too, in its own units, named as a covariate; one that
    # reads one value throughout tells the model nothing.
    weather = hourly(480)
    weather["temp"] = 5 + np.sin(np.arange(480) / 7) + np.arange(480) * 0.001
    weather.loc[300:340, "temp"] = 4.5
    weather["flag"] = 1.0
    cov_cfg = {**cfg, "target": ["load"], "covariates": ["temp", "flag"]}
    result, _ = _run(weather, cov_cfg)
    said = {w.code: w.message for w in result.metrics.warnings}
    assert said["flat_readings"].startswith(
        "covariate 'temp' repeats 4.5 for 41 readings in a row, from 2024-01-13T12:00:00+00:00"
    )
    assert said["constant_readings"] == (
        "covariate 'flag' reads 1 at every one of its 480 readings: it tells the model nothing "
        "(the wrong column?)"
    )
    # One value throughout (the wrong column): said as such, not as a sensor that stopped.
    constant, _ = _run(hourly(480).assign(load=5.0), cfg)
    codes = [w.code for w in constant.metrics.warnings]
    assert "flat_readings" not in codes and codes.count("constant_readings") == 1
    said = next(w for w in constant.metrics.warnings if w.code == "constant_readings")
    assert said.message.startswith("'load' reads 5 at every one of its 480 readings")


def test_a_running_total_read_as_levels_is_said(hourly: Any, tiny_config: Any) -> None:
    """A meter's register given as levels: the run forecasts them, and says that the use per
    step (its increase) is probably what was meant; a series that ever falls gets nothing."""
    cfg = tiny_config("linear", epochs=1)
    plain = hourly(480)
    register = plain.assign(load=1000 + plain["load"].clip(lower=0).cumsum())
    result, _ = _run(register, cfg)
    said = [w for w in result.metrics.warnings if w.code == "running_total"]
    assert len(said) == 1 and said[0].level == "warning"
    assert said[0].message.startswith("'load' never falls over its 480 readings and rises")
    assert said[0].message.endswith(
        "; this run forecast its level (its differences, pandas' .diff(), are the use)"
    )
    clean, _ = _run(plain, cfg)
    assert not [w for w in clean.metrics.warnings if w.code == "running_total"]
    # The same register as a covariate: said as the covariate's, with what its level means there.
    as_input = plain.assign(meter=register["load"])
    cov, _ = _run(as_input, {**cfg, "target": ["load"], "covariates": ["meter"]})
    said = [w for w in cov.metrics.warnings if w.code == "running_total"]
    assert len(said) == 1, cov.metrics.warnings
    assert said[0].message.startswith("covariate 'meter' never falls over its 480 readings")
    assert "import with counter=['meter']; the CLI's --counter meter)" in said[0].message
    assert said[0].message.endswith(
        "the use per step an input usually stands for; this run read its level, which mostly "
        "tells the model how much time has passed"
    )


def test_a_glitch_is_read_as_a_missing_reading_and_said(hourly: Any, tiny_config: Any) -> None:
    """A run on data with spikes gives the figures of the same data with those readings
    missing, says so, and predict reads past a spike in the recent history the same way."""
    cfg = tiny_config("linear", epochs=2)
    # The default steps (no fill: a filled gap and a masked glitch would differ by the fill).
    cfg["preprocessing"] = [
        {"step": "resample"},
        {"step": "detect_gaps"},
        {"step": "split"},
        {"step": "mask_outliers"},
        {"step": "window", "lookback": 24, "horizon": 4},
    ]
    # Origins a horizon apart, none just after the test part's spike: the last reading of a
    # history is never judged (its next one is not known yet), so there the figures differ.
    cfg["training"]["origin_stride"] = 4
    clean = hourly(480)
    spikes = [100, 250, 440]  # training, training, test part
    spiky, gapped = clean.copy(), clean.copy()
    spiky.loc[spikes, "load"] = [5000.0, -3000.0, 5000.0]
    gapped.loc[spikes, "load"] = np.nan
    result, _ = _run(spiky, cfg)
    reference, _ = _run(gapped, cfg)
    m, r = result.metrics, reference.metrics
    assert (m.mae, m.points, m.baseline("naive").mae) == (r.mae, r.points, r.baseline("naive").mae)
    assert "warnings=['glitches_masked']" in repr(result)  # a notebook's print shows it
    assert "warnings=" not in repr(reference)
    said = [w for w in m.warnings if w.code == "glitches_masked"]
    assert [w.code for w in r.warnings if w.code == "glitches_masked"] == []
    assert len(said) == 1 and said[0].message.startswith(
        "3 reading(s) of 'load' far from both neighbours were read as glitches and masked "
        "(first 2024-01-05T04:00:00+00:00: 5000)"
    )
    model = gapcast.load_model(result)
    recent = spiky.iloc[:430].copy()
    recent.loc[420, "load"] = 5000.0
    missing = recent.copy()
    missing.loc[420, "load"] = np.nan
    pd.testing.assert_frame_equal(model.predict(recent), model.predict(missing))


def test_large_gaps_train_the_gap_classifier(gappy_series: pd.DataFrame, tiny_config: Any) -> None:
    result, events = _run(gappy_series, tiny_config("linear", gap_classifier_epochs=2))
    stages = [e.stage for e in events if isinstance(e, StatusEvent)]
    assert stages == ["preparing", "gap_classifier", "training", "evaluating", "saving"]
    assert any(isinstance(e, ProgressEvent) and e.model == "gap_classifier" for e in events)
    assert result.gap_report.large == 2
    gm = result.gap_metrics
    assert gm is not None and gm.samples > 0 and 0 < gm.gap_rate < 1
    assert gm.roc_auc is not None and 0 <= gm.roc_auc <= 1
    # The test part has its own outage: scored there, as before, on every step of it.
    assert gm.evaluation == "test_split" and gm.folds is None
    assert gm.positives == round(gm.gap_rate * gm.samples * 4) and gm.positives >= 20 * 4
    assert set(gm.baseline) == {
        "precision",
        "recall",
        "f1",
        "roc_auc",
        "average_precision",
        "brier",
        "threshold",
    }
    assert gm.baseline_name == "hour-of-week rate" and gm.verdict is not None
    assert gm.threshold is not None and gm.window is not None
    assert {a.kind for a in result.artifacts} == {
        "model",
        "gap_model",
        "pipeline",
        "plot",
        "backtest",
    }
    # Origins whose horizon is mostly unobserved are skipped; unobserved truth is never scored.
    m = result.metrics
    assert 0 < m.points < m.origins * 4
    model = gapcast.load_model(result)
    forecast = model.predict(gappy_series.iloc[-60:])
    quantiles = ["load_p10", "load_p50", "load_p90"]
    gap_columns = ["p_gap", "gap_expected", "p_outage"]
    assert list(forecast.columns) == ["timestamp", "load", *quantiles, *gap_columns]
    assert ((forecast["p_gap"] >= 0) & (forecast["p_gap"] <= 1)).all()
    # The threshold chosen on held-out data is stored with the model and predict uses it.
    stored = model.doc["gap_classifier"]
    assert stored["threshold"] == gm.threshold
    assert (forecast["gap_expected"] == (forecast["p_gap"] >= gm.threshold)).all()
    assert forecast.attrs["outage_min_steps"] == 4  # max_fill 3: an outage is 4 steps or more
    document = model.forecast_document(gappy_series.iloc[-60:])
    assert document["outage"]["min_steps"] == 4
    assert 0 <= document["outage"]["probability"] <= 1
    assert "p_outage" not in document["forecast"][0]
    assert f"gaps={gm.verdict.text!r}" in repr(result)


def test_the_gap_classifier_trains_all_its_epochs(
    gappy_series: pd.DataFrame, tiny_config: Any
) -> None:
    """The forecasters' early stopping is not the classifier's: its validation loss rises and
    falls with the few outages of the validation part (here it rises within the eight epochs),
    and every epoch asked for is trained."""
    cfg = tiny_config("linear", epochs=1, patience=1, gap_classifier_epochs=8)
    _, events = _run(gappy_series, cfg)
    ends = [
        e
        for e in events
        if isinstance(e, ProgressEvent) and e.model == "gap_classifier" and e.batch is None
    ]
    assert [e.epoch for e in ends] == list(range(1, 9))
    val = [e.val_loss for e in ends]
    assert all(v is not None for v in val)
    # Early stopping with patience 1 would have ended it at the first epoch that did not improve.
    assert any(b >= a for a, b in itertools.pairwise(val)), val  # type: ignore[operator]


def _gap_grid(n: int, missing: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    ts = pd.date_range("2024-01-01", periods=n, freq="h").as_unit("ns").asi8
    observed = np.ones(n, bool)
    for start, length in missing:
        observed[start : start + length] = False
    return ts, observed


@pytest.mark.parametrize(
    "missing",
    [[(100, 30)], [(100, 30), (560, 3)]],
    ids=["no gap in the test part", "too few in the test part"],
)
def test_gap_classifier_without_test_gaps_is_scored_by_blocked_cv(
    missing: list[tuple[int, int]],
) -> None:
    from gapcast.model_training.gap_model import train_gap_classifier
    from gapcast.model_training.results import GapMetrics

    ts, observed = _gap_grid(600, missing)
    result = train_gap_classifier(
        ts,
        observed,
        (420, 510),
        lookback=24,
        horizon=4,
        epochs=2,
        learning_rate=1e-2,
        seed=0,
        callbacks=[],
    )
    gm = GapMetrics.model_validate(result.metrics)
    assert gm.evaluation == "blocked_cv" and gm.folds == 3
    # Every window of the series is held out once: all 600 - 24 - 4 + 1 positions, and each
    # missing grid point is scored in each of the (up to) 4 windows whose horizon covers it.
    assert gm.samples == 573
    assert gm.positives == 4 * sum(length for _, length in missing)
    assert 0 < gm.gap_rate < 1 and gm.roc_auc is not None
    assert gm.average_precision is not None and 0 < gm.average_precision <= 1
    for value in (gm.precision, gm.recall, gm.f1, gm.roc_auc, *gm.baseline.values()):
        assert value is not None and 0 <= value <= 1
    # The model that is kept is the one trained on the training part, not a fold's.
    assert result.model.name == "gap_classifier"


def test_gap_metrics_stored_before_the_evaluation_field_still_load() -> None:
    from gapcast.model_training.results import GapMetrics

    old = {
        "precision": 0.5,
        "recall": 0.25,
        "f1": 0.33,
        "roc_auc": 0.71,
        "baseline": {"f1": 0.1},
        "gap_rate": 0.02,
        "samples": 330,
    }
    gm = GapMetrics.model_validate(old)
    assert gm.evaluation == "test_split" and gm.positives is None and gm.folds is None


def test_gap_classifier_always_and_never(
    series: pd.DataFrame, gappy_series: pd.DataFrame, tiny_config: Any
) -> None:
    always, _ = _run(series, tiny_config("linear", epochs=1, gap_classifier="always"))
    assert always.gap_metrics is not None
    never, _ = _run(gappy_series, tiny_config("linear", epochs=1, gap_classifier="never"))
    assert never.gap_metrics is None and never.artifact("gap_model") is None


def test_a_covariates_outage_does_not_train_a_gap_classifier(
    gappy_series: pd.DataFrame, hourly: Any, tiny_config: Any
) -> None:
    # The target reports throughout; only the covariate has large gaps (those of gappy_series).
    df = gappy_series.assign(temp=gappy_series["load"], load=hourly(600)["load"])
    cfg = {**tiny_config("linear", epochs=1), "covariates": ["temp"]}
    result, events = _run(df, cfg)
    (gaps,) = [e for e in events if isinstance(e, GapsEvent)]
    assert gaps.large == 2  # the dataset's gaps are still reported...
    assert not gaps.gap_classifier  # ...but there is no outage of the target to foresee
    assert result.gap_metrics is None and result.artifact("gap_model") is None
    # The same gaps in the target do.
    result, events = _run(gappy_series, tiny_config("linear", epochs=1))
    assert result.gap_metrics is not None


def test_business_days_train_a_gap_classifier_that_foresees_the_weekends() -> None:
    # Weekends are never reported: gaps of two days, too short to be outages, but a calendar
    # foresees them, and a forecast should say Saturday and Sunday will have no data.
    days = pd.bdate_range("2023-01-02", periods=400)
    t = np.arange(len(days))
    df = pd.DataFrame({"timestamp": days, "sales": 100 + 5 * np.sin(t / 20) + (t % 5)})
    cfg = {"model": "linear", "training": {"epochs": 2, "ensemble": 1, "gap_classifier_epochs": 3}}
    result, events = _run(df, cfg)
    (gaps,) = [e for e in events if isinstance(e, GapsEvent)]
    assert gaps.large == 0 and gaps.gap_classifier
    (why,) = [
        e.message for e in events if isinstance(e, StatusEvent) and e.stage == "gap_classifier"
    ]
    assert why == "gaps recurring at Saturday–Sunday (2 position(s) of the day of week)"
    gm = result.gap_metrics
    assert gm is not None and gm.baseline_name == "day-of-week rate"
    forecast = gapcast.load_model(result).predict(df)
    weekend = forecast["timestamp"].dt.day_of_week >= 5
    assert weekend.any() and (~weekend).any()
    assert (forecast.loc[weekend, "p_gap"] > 0.8).all() and forecast.loc[
        weekend, "gap_expected"
    ].all()
    assert (forecast.loc[~weekend, "p_gap"] < 0.2).all()
    # Never four days in a row without data: an outage that long is not expected either (the
    # mean of Friday to Monday's step probabilities, 0.5, is not its probability).
    assert forecast.attrs["outage_min_steps"] == 4 and (forecast["p_outage"] < 0.05).all()
    # Gaps at random days of the week recur nowhere: no classifier without an outage.
    rng = np.random.default_rng(0)
    daily = pd.DataFrame({"timestamp": pd.date_range("2023-01-02", periods=400), "sales": t})
    daily = daily[rng.random(400) > 0.1]
    _, events = _run(daily, cfg)
    (gaps,) = [e for e in events if isinstance(e, GapsEvent)]
    assert gaps.large == 0 and not gaps.gap_classifier


class CountingFlag:
    """A cancel flag that turns on at its ``after``-th check and counts every check."""

    def __init__(self, after: int) -> None:
        self.after, self.calls = after, 0

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls >= self.after


def test_cancel_stops_within_one_batch(series: pd.DataFrame, tiny_config: Any) -> None:
    flag = CountingFlag(after=6)
    events: list[Any] = []
    runner = MLRunner(
        TrainingConfig.model_validate(tiny_config("linear", epochs=50, batch_size=8)),
        on_event=events.append,
        cancel=flag,
    )
    with pytest.raises(Cancelled):
        runner.run(SeriesFrame.from_pandas(series))
    # Checks: 4 stage transitions + epoch begin, then one per batch: set at the 6th → no more.
    assert flag.calls == 6
    assert not any(isinstance(e, ProgressEvent) and e.batch is None for e in events)


def test_cancel_from_another_thread(series: pd.DataFrame, tiny_config: Any) -> None:
    flag = threading.Event()
    events: list[Any] = []

    def on_event(event: Any) -> None:
        events.append(event)
        if isinstance(event, ProgressEvent) and event.epoch == 2 and event.batch is None:
            flag.set()

    cfg = TrainingConfig.model_validate(tiny_config("linear", epochs=30, patience=0))
    with pytest.raises(Cancelled):
        MLRunner(cfg, on_event=on_event, cancel=flag).run(SeriesFrame.from_pandas(series))
    epochs = [e.epoch for e in events if isinstance(e, ProgressEvent) and e.batch is None]
    assert epochs == [1, 2]


def test_resume_continues_at_the_next_epoch(
    series: pd.DataFrame, tmp_path: Path, tiny_config: Any
) -> None:
    cfg = tiny_config("linear", epochs=5, patience=0)
    flag = threading.Event()

    def stop_after_two(event: Any) -> None:
        if isinstance(event, ProgressEvent) and event.batch is None and event.epoch == 2:
            flag.set()

    frame = SeriesFrame.from_pandas(series)
    first = MLRunner(
        TrainingConfig.model_validate(cfg),
        on_event=stop_after_two,
        cancel=flag,
        checkpoint_dir=tmp_path,
    )
    with pytest.raises(Cancelled):
        first.run(frame)
    events: list[Any] = []
    second = MLRunner(
        TrainingConfig.model_validate(cfg), on_event=events.append, checkpoint_dir=tmp_path
    )
    result = second.run(frame)
    trained = [
        e.epoch
        for e in events
        if isinstance(e, ProgressEvent) and e.batch is None and e.phase == "candidate"
    ]
    assert trained == [3, 4, 5]
    assert result.epochs == 5 and [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5]
    assert not list(tmp_path.glob("*.history.json")) and not (tmp_path / "candidates").exists()


def test_epoch_end_event_comes_after_that_epochs_backup(
    series: pd.DataFrame, tmp_path: Path, tiny_config: Any
) -> None:
    """Whoever copies the checkpoint directory on an end-of-epoch event (the Ray worker does) gets
    the epoch that just ended, for both models, with the per-epoch log up to it."""
    seen: list[tuple[str, int, int | None, int]] = []

    def look(event: Any) -> None:
        if not (isinstance(event, ProgressEvent) and event.batch is None):
            return
        name = {"candidate": "candidate-linear+correction", "refit": "refit"}.get(
            event.phase or "", "gap_backup"
        )
        if event.phase == "refit" and event.epoch > 3:  # the ensemble's later copies
            name = f"refit-{(event.epoch - 1) // 3}"
        meta = tmp_path / name / "training_metadata.json"
        saved = json.loads(meta.read_text())["epoch"] if meta.exists() else None
        log = tmp_path / f"{name}.history.json"
        logged = len(json.loads(log.read_text())) if log.exists() else 0
        seen.append((event.phase or event.model, event.epoch, saved, logged))

    cfg = tiny_config(
        "linear", epochs=3, patience=0, gap_classifier="always", gap_classifier_epochs=2
    )
    MLRunner(TrainingConfig.model_validate(cfg), on_event=look, checkpoint_dir=tmp_path).run(
        SeriesFrame.from_pandas(series)
    )
    assert seen == [
        ("gap_classifier", 1, 1, 0),
        ("gap_classifier", 2, 2, 0),
        ("candidate", 1, 1, 1),
        ("candidate", 2, 2, 2),
        ("candidate", 3, 3, 3),
        *(("refit", 3 * copy + e, e, e) for copy in range(5) for e in (1, 2, 3)),
    ]


def _stop_after_epoch_two(cfg: dict[str, Any], frame: SeriesFrame, checkpoint_dir: Path) -> None:
    """A run cancelled once its second epoch ended: its resume files are in ``checkpoint_dir``."""
    flag = threading.Event()

    def stop_after_two(event: Any) -> None:
        if isinstance(event, ProgressEvent) and event.batch is None and event.epoch == 2:
            flag.set()

    with pytest.raises(Cancelled):
        MLRunner(
            TrainingConfig.model_validate(cfg),
            on_event=stop_after_two,
            cancel=flag,
            checkpoint_dir=checkpoint_dir,
        ).run(frame)


def _resume(
    cfg: dict[str, Any], frame: SeriesFrame, checkpoint_dir: Path
) -> tuple[RunResult, list[int]]:
    """The run resumed from ``checkpoint_dir``, and the candidate epochs it reported finished."""
    events: list[Any] = []
    result = MLRunner(
        TrainingConfig.model_validate(cfg), on_event=events.append, checkpoint_dir=checkpoint_dir
    ).run(frame)
    trained = [
        e.epoch
        for e in events
        if isinstance(e, ProgressEvent) and e.batch is None and e.phase == "candidate"
    ]
    return result, trained


def test_resume_survives_a_backup_truncated_by_a_kill(
    series: pd.DataFrame, tmp_path: Path, tiny_config: Any
) -> None:
    cfg = tiny_config("linear", epochs=4, patience=0)
    frame = SeriesFrame.from_pandas(series)
    _stop_after_epoch_two(cfg, frame, tmp_path)
    # What a SIGKILL during the epoch-2 save leaves: a cut-off weights file.
    (latest,) = tmp_path.rglob("latest.weights.h5")
    latest.write_bytes(latest.read_bytes()[:100])
    result, trained = _resume(cfg, frame, tmp_path)
    assert trained == [2, 3, 4]  # back to the epoch-1 backup, not from zero
    assert result.epochs == 4


def test_resume_survives_a_history_file_emptied_by_a_kill(
    series: pd.DataFrame, tmp_path: Path, tiny_config: Any
) -> None:
    """What an older version left when killed while it rewrote a per-epoch log in place (seen in
    CI: the resumed attempt failed on reading it): the run resumes from the weights' backup."""
    cfg = tiny_config("linear", epochs=4, patience=0)
    frame = SeriesFrame.from_pandas(series)
    _stop_after_epoch_two(cfg, frame, tmp_path)
    (log,) = tmp_path.glob("candidate-*.history.json")
    log.write_text("")
    result, trained = _resume(cfg, frame, tmp_path)
    # It succeeds, going on from the epoch after its backup; the epochs whose log was lost are
    # not reported again, so the history (and the refit's epoch count) holds the two it saw.
    assert trained == [3, 4] and len(result.history) == 2


def test_a_write_killed_before_it_lands_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gapcast.model_training import checkpoint_files
    from gapcast.model_training.epoch_log import EpochLog

    log = EpochLog(tmp_path, "candidate-mlp")
    log.record(0, {"loss": 1.0})

    def killed(self: Path, target: Path) -> None:
        raise KeyboardInterrupt  # the signal arrives between the write and the rename

    monkeypatch.setattr(checkpoint_files.Path, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        log.record(1, {"loss": 0.5})
    monkeypatch.undo()
    assert EpochLog(tmp_path, "candidate-mlp").history() == [{"epoch": 1.0, "loss": 1.0}]
    assert [p.name for p in tmp_path.iterdir()] == ["candidate-mlp.history.json"]


def test_same_seed_same_metrics(series: pd.DataFrame, tiny_config: Any) -> None:
    a, _ = _run(series, tiny_config("mlp", epochs=2, seed=7))
    b, _ = _run(series, tiny_config("mlp", epochs=2, seed=7))
    c, _ = _run(series, tiny_config("mlp", epochs=2, seed=8))
    assert a.metrics.mae == pytest.approx(b.metrics.mae, abs=1e-6)
    assert a.metrics.rmse == pytest.approx(b.metrics.rmse, abs=1e-6)
    assert a.loss == pytest.approx(b.loss, abs=1e-6)
    assert a.metrics.mae != c.metrics.mae


def test_too_little_data_is_a_clear_error(hourly: Any, tiny_config: Any) -> None:
    with pytest.raises(gapcast.errors.InvalidInput, match=r"lookback|window|data"):
        _run(hourly(30), tiny_config("linear"))


def test_a_sensor_dark_at_the_end_of_the_export_still_trains_and_is_scored(
    hourly: Any, tiny_config: Any
) -> None:
    """The last 20% of the rows have no value (the sensor died before the export ended): the
    run splits the span it was observed, so its test part has origins to score, none of them in
    the dark rows."""
    df = hourly(600)
    df.loc[480:, "load"] = np.nan
    result, _ = _run(df, tiny_config("linear", epochs=1))
    assert result.metrics.origins > 0 and result.metrics.mae is not None
    split = next(s["fitted"] for s in result.pipeline_config if s["step"] == "split")
    ts = pd.to_datetime(df["timestamp"], utc=True)
    # 15% of the 480 observed rows, not of all 600.
    assert split["test_start_ns"] == ts.iloc[480 - 72].value


def test_backtest_scores_what_predict_gives(series: pd.DataFrame, tiny_config: Any) -> None:
    """The reported MAE is the mean |forecast - truth| of ``predict`` called, at each origin of
    the test part (every step of this short one), on the rows before it only."""
    result, _ = _run(series, tiny_config("linear", epochs=1))
    model = gapcast.load_model(result)
    test_start = len(series) - round(len(series) * 0.15)
    errors = []
    assert result.metrics.origin_stride == 1
    for origin in range(test_start, len(series) - 4 + 1):
        start = series["timestamp"].iloc[origin]
        forecast = model.predict(series.iloc[:origin], start=start)
        errors.append(forecast["load"].to_numpy() - series["load"].iloc[origin : origin + 4])
    assert result.metrics.origins == len(errors)
    assert result.metrics.mae == pytest.approx(float(np.mean(np.abs(errors))), rel=1e-5)


def test_runner_prepares_through_a_processing_pool(
    series: pd.DataFrame, tmp_path: Path, tiny_config: Any
) -> None:
    from gapcast.processing.pool import ProcessingPool

    pool = ProcessingPool(cache_dir=tmp_path)
    cfg = TrainingConfig.model_validate(tiny_config("linear", epochs=1))
    frame = SeriesFrame.from_pandas(series)
    first = MLRunner(cfg, pool=pool).run(frame)
    second = MLRunner(cfg, pool=pool).run(frame)  # prepared data comes from the cache
    assert any(tmp_path.iterdir())
    assert first.metrics.mae == pytest.approx(second.metrics.mae, abs=1e-6)
    assert first.pipeline_config == second.pipeline_config


def test_auto_keeps_the_candidate_with_the_lowest_validation_mae(hourly: Any) -> None:
    """On a clean daily cycle the seasonal-naive correction is right from the start, while a plain
    forecaster must learn the cycle: after one epoch, auto keeps a correcting candidate, and the
    one it keeps is the best on the validation origins."""
    t = np.arange(24 * 30)
    df = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=t.size, freq="h"),
            "load": 100 + 10 * np.sin(2 * np.pi * t / 24),
        }
    )
    events: list[Any] = []
    result = gapcast.train(
        df, {"training": {"epochs": 1, "gap_classifier": "never"}}, on_event=events.append
    )
    candidates = result.metrics.candidates
    # Four trained (one epoch: no rung prunes any), their average, then the best of those
    # halfway to the reference (test_halfway.py).
    assert len(candidates) == 6 and [c.selected for c in candidates].count(True) == 1
    assert candidates[-2].key == "average" and not any(c.pruned for c in candidates)
    assert candidates[-1].key.endswith("+halfway")
    chosen = next(c for c in candidates if c.selected)
    assert chosen.val_mae == min(c.val_mae for c in candidates if not c.pruned and c.val_mae)
    assert chosen.correction and result.metrics.model_label == chosen.label
    plain = [c.val_mae for c in candidates if not c.correction]
    assert all(v is not None and v > 2 * chosen.val_mae for v in plain)  # type: ignore[operator]
    streamed = [e for e in events if isinstance(e, CandidateEvent)]
    assert [e.key for e in streamed] == [c.key for c in candidates]
    doc = json.loads(result.artifact("pipeline").data)  # type: ignore[union-attr]
    assert doc["model"] == chosen.model and doc["correction"] > 0


def test_a_gap_in_the_history_is_forecast_and_too_many_are_refused(
    hourly: Any, tiny_config: Any
) -> None:
    df = hourly(480)
    result = gapcast.train(df, tiny_config("linear", epochs=1))
    model = gapcast.load_model(result)
    gappy = df.copy()
    gappy.loc[len(df) - 10 : len(df) - 8, "load"] = np.nan  # a 3-hour hole in the lookback
    forecast = model.predict(gappy)
    assert forecast["load"].notna().all() and len(forecast) == 4
    gappy.loc[len(df) - 20 :, "load"] = np.nan  # 20 of the last 24 steps missing
    with pytest.raises(gapcast.errors.InvalidInput, match=r"min_observed=0\.5"):
        model.predict(gappy)
    # "As of" a time: the same history, forecast from a requested start after the outage.
    later = model.predict(df.iloc[:-6], start=df["timestamp"].iloc[-4])
    assert later["timestamp"].iloc[0] == pd.Timestamp(df["timestamp"].iloc[-4], tz="UTC")


def test_a_weekly_three_hour_outage_trains_and_predicts_with_a_week_long_lookback() -> None:
    """Every week the meter is off Sunday 00:00-02:59: no week-long window is gap-free, yet the
    windows stay usable (observed mask) and predict accepts such a history."""
    n = 24 * 7 * 10
    t = np.arange(n)
    ts = pd.date_range("2024-01-01", periods=n, freq="h")  # a Monday
    load = 50 + 10 * np.sin(2 * np.pi * t / 24) + 3 * (ts.day_of_week >= 5)
    df = pd.DataFrame({"timestamp": ts, "load": load})
    df.loc[(ts.day_of_week == 6) & (ts.hour < 3), "load"] = np.nan
    config = {
        "model": "linear",
        "training": {"epochs": 2, "gap_classifier": "never"},
        "preprocessing": [
            {"step": "resample"},
            {"step": "detect_gaps"},
            {"step": "split"},
            {"step": "calendar"},
            {"step": "window", "lookback": 168, "horizon": 24},
        ],
    }
    result = gapcast.train(df, config)
    assert result.metrics.lookback == 168 and result.metrics.origins >= 3
    forecast = gapcast.load_model(result).predict(df)
    assert len(forecast) == 24 and forecast["load"].notna().all()


def test_without_a_season_the_correction_corrects_the_last_value() -> None:
    rng = np.random.default_rng(3)
    n = 24 * 40
    # AR(1) with phi 0.9: lag-24 autocorrelation 0.9**24 = 0.08, no cycle to confirm.
    noise = rng.normal(size=n)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = 0.9 * x[i - 1] + noise[i]
    df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq="h"), "x": x})
    cfg = {
        "preprocessing": [
            {"step": "resample"},
            {"step": "detect_gaps"},
            {"step": "split"},
            {"step": "calendar"},
            {"step": "window", "lookback": 24, "horizon": 4},
        ],
        "training": {"epochs": 2, "refit": False},
    }
    result, _ = _run(df, cfg)
    m = result.metrics
    assert m.reference_season == 1
    labels = {c.key: c.label for c in m.candidates}
    assert labels["linear+correction"] == "linear + naive correction"
    assert labels["mlp+correction"] == "mlp + naive correction" and labels["mlp"] == "mlp"
    # Corrections start from the last value, so even two epochs stay close to naive.
    naive = m.baseline("naive")
    assert naive is not None and m.mae is not None and m.mae <= 1.5 * naive.mae


def test_a_resumed_run_keeps_its_early_stopping_state(
    series: pd.DataFrame, tmp_path: Path, tiny_config: Any
) -> None:
    """With the default patience, the best weights so far are kept beside the backup, so the
    resumed fit's early stopping goes on from them (tests/model_training/test_training_callbacks.py
    checks the stop and the weights); a finished run leaves none behind."""
    cfg = TrainingConfig.model_validate(tiny_config("linear", epochs=4))
    assert cfg.training.patience > 0
    flag = threading.Event()

    def stop_after_two(event: Any) -> None:
        if isinstance(event, ProgressEvent) and event.batch is None and event.epoch == 2:
            flag.set()

    frame = SeriesFrame.from_pandas(series)
    with pytest.raises(Cancelled):
        MLRunner(cfg, on_event=stop_after_two, cancel=flag, checkpoint_dir=tmp_path).run(frame)
    (best,) = tmp_path.glob("candidate-*.best.npz")
    assert int(np.load(best)["epoch"]) in (0, 1)
    result = MLRunner(cfg, on_event=lambda e: None, checkpoint_dir=tmp_path).run(frame)
    assert result.epochs >= 1 and not list(tmp_path.glob("*.best.npz"))


# --- model "auto": successive halving of its candidates -----------------------------------------


def _auto(tiny_config: Any, **training: Any) -> dict[str, Any]:
    cfg = tiny_config("linear", gap_classifier="never", **training)
    return {**cfg, "model": "auto", "hyperparameters": {}}


def _epochs_by_candidate(events: list[Any]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for e in events:
        if isinstance(e, ProgressEvent) and e.batch is None and e.phase == "candidate":
            out.setdefault(e.candidate or "", []).append(e.epoch)
    return out


def test_auto_stops_the_worse_half_of_its_candidates_after_the_rung(
    series: pd.DataFrame, tiny_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two worse candidates at the rung stop there; the two others go on to the end they
    would have reached in one fit (same weights, same early stop), and one of them is kept."""
    from gapcast.model_training import halving as module

    with monkeypatch.context() as patch:
        patch.setattr(module, "rung_epochs", lambda *args: None)
        whole, _ = _run(series, _auto(tiny_config, epochs=8))
    scores: list[float | None] = []
    real = module.validation_mae

    def spy(forecaster: Any, data: Any) -> float | None:
        scores.append(real(forecaster, data))
        return scores[-1]

    monkeypatch.setattr(module, "validation_mae", spy)
    result, events = _run(series, _auto(tiny_config, epochs=8))
    # The average and the best candidate halfway to the reference are scored last.
    cands = result.metrics.candidates[:-2]
    assert len(cands) == 4 and result.metrics.candidates[-2].key == "average"
    assert result.metrics.candidates[-1].key.endswith("+halfway")
    rung = {c.key: scores[i] for i, c in enumerate(cands)}  # scored first, in candidate order
    ranked = sorted(rung, key=lambda k: rung[k])  # type: ignore[arg-type, return-value]
    pruned = {c.key for c in cands if c.pruned}
    assert pruned == set(ranked[2:])  # the two worse at the rung
    epochs = _epochs_by_candidate(events)
    for c in cands:
        assert epochs[c.key] == list(range(1, (c.epochs_run or 0) + 1))  # one run of epochs each
        if c.pruned:
            assert c.epochs_run == module.RUNG_EPOCHS and c.val_mae == rung[c.key]
            assert not c.selected
        else:
            # Went on past the rung on the same model, to its early stop (patience 5).
            assert c.epochs_run is not None and c.epochs_run > module.RUNG_EPOCHS
    chosen = next(c for c in result.metrics.candidates if c.selected)
    assert not chosen.pruned
    assert chosen.val_mae == min(
        c.val_mae for c in result.metrics.candidates if not c.pruned and c.val_mae
    )
    single = {c.key: c for c in whole.metrics.candidates}
    assert not any(c.pruned for c in single.values())
    for c in cands:
        if not c.pruned:
            same = single[c.key]
            assert (c.val_mae, c.epochs, c.epochs_run) == (
                same.val_mae,
                same.epochs,
                same.epochs_run,
            )
    streamed = [e for e in events if isinstance(e, CandidateEvent)]
    assert {e.key for e in streamed if e.pruned} == pruned
    assert all(e.epochs_run == module.RUNG_EPOCHS for e in streamed if e.pruned)
    assert streamed[-2].key == "average" and not streamed[-2].pruned


@pytest.mark.parametrize(("model", "correction", "n"), [("linear", "auto", 1), ("auto", "on", 2)])
def test_two_candidates_or_fewer_train_without_a_rung(
    series: pd.DataFrame, tiny_config: Any, model: str, correction: str, n: int
) -> None:
    cfg = {**tiny_config("linear", epochs=3, patience=0, correction=correction), "model": model}
    if model == "auto":
        cfg["hyperparameters"] = {}
    result, events = _run(series, cfg)
    trained = [c for c in result.metrics.candidates if c.key.startswith(("linear", "mlp"))]
    trained = [c for c in trained if not c.key.endswith("+halfway")]
    assert len(trained) == n
    # Two finalists are averaged as one more candidate, and the better of the three is taken
    # halfway to the reference as another; a named model has neither.
    assert len(result.metrics.candidates) == (4 if n == 2 else 1)
    assert all(not c.pruned and c.epochs_run == 3 for c in trained)
    epochs = _epochs_by_candidate(events)
    assert len(epochs) == n and all(e == [1, 2, 3] for e in epochs.values())
    assert not any(e.pruned for e in events if isinstance(e, CandidateEvent))


def test_a_resumed_auto_run_does_not_retrain_pruned_or_finished_candidates(
    series: pd.DataFrame, tmp_path: Path, tiny_config: Any
) -> None:
    """Interrupted while the second survivor trains past the rung: the resumed run takes back the
    pruned candidates and the finished survivor as they were, and the interrupted one goes on
    from its backup."""
    cfg = TrainingConfig.model_validate(_auto(tiny_config, epochs=8))
    flag = threading.Event()
    first: list[Any] = []

    def stop_in_second_survivor(event: Any) -> None:
        first.append(event)
        survivor_done = any(isinstance(e, CandidateEvent) and not e.pruned for e in first)
        epoch_end = isinstance(event, ProgressEvent) and event.batch is None
        if survivor_done and epoch_end and event.phase == "candidate" and event.epoch == 4:
            flag.set()

    frame = SeriesFrame.from_pandas(series)
    with pytest.raises(Cancelled):
        MLRunner(cfg, on_event=stop_in_second_survivor, cancel=flag, checkpoint_dir=tmp_path).run(
            frame
        )
    announced = {e.key: e for e in first if isinstance(e, CandidateEvent)}
    assert len(announced) == 3 and sum(e.pruned for e in announced.values()) == 2
    events: list[Any] = []
    result = MLRunner(cfg, on_event=events.append, checkpoint_dir=tmp_path).run(frame)
    epochs = _epochs_by_candidate(events)
    (interrupted,) = epochs  # only the unfinished survivor trained again
    assert interrupted not in announced and epochs[interrupted][0] == 5  # from its epoch-4 backup
    cands = {c.key: c for c in result.metrics.candidates}
    for key, before in announced.items():
        after = cands[key]
        assert (after.pruned, after.val_mae, after.epochs_run) == (
            before.pruned,
            before.val_mae,
            before.epochs_run,
        )
    assert not cands[interrupted].pruned and (cands[interrupted].epochs_run or 0) > 4
    assert not next(c for c in cands.values() if c.selected).pruned
    assert not list(tmp_path.glob("*.history.json")) and not (tmp_path / "candidates").exists()


def test_choose_keeps_a_pruned_candidate_only_when_none_finished() -> None:
    """A pruned candidate's MAE comes from fewer epochs; it is never preferred to a finished one,
    however low (a rung score can be lucky)."""
    from gapcast.model_training.candidates import Candidate, TrainedCandidate, choose

    def trained(model: str, val_mae: float, pruned: bool) -> TrainedCandidate:
        forecaster: Any = None  # choose never looks at it
        return TrainedCandidate(Candidate(model, True), forecaster, [], 2, val_mae, 0.1, pruned)

    lucky, a, b = (
        trained("mlp", 0.5, True),
        trained("linear", 2.0, False),
        trained("gru", 1.0, False),
    )
    assert choose([lucky, a, b]) is b
    assert choose([lucky, trained("lstm", 0.7, True)]) is lucky


def test_the_refit_stores_an_average_of_copies_with_their_own_seeds(
    series: pd.DataFrame, tiny_config: Any
) -> None:
    from gapcast.model_training.general_model import load_model_bytes

    def stored(ensemble: int) -> Any:
        cfg = tiny_config("linear", epochs=2, patience=0)
        cfg["training"]["ensemble"] = ensemble
        result, _ = _run(series, cfg)
        return load_model_bytes(result.artifact("model").data)  # type: ignore[union-attr]

    single, averaged = stored(1), stored(3)
    copies = [layer for layer in averaged.layers if hasattr(layer, "layers")]
    assert len(copies) == 3 and not any(hasattr(layer, "layers") for layer in single.layers)
    x = np.random.default_rng(0).normal(size=(5, *single.input_shape[1:])).astype("float32")
    outputs = np.stack([np.asarray(c.predict(x, verbose=0)) for c in copies])
    np.testing.assert_allclose(averaged.predict(x, verbose=0), outputs.mean(axis=0), rtol=1e-5)
    # Copy 0 is the single model (seed, seed + 1, ...); the others start from other weights.
    np.testing.assert_allclose(outputs[0], single.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert np.abs(outputs[1] - outputs[0]).max() > 1e-3


def test_too_little_data_says_how_observed_each_part_is() -> None:
    # A logger whose readings thinned out: 15-minute readings, then only one in four of them,
    # at random (a failing radio link). On the 15-minute grid the later parts are three
    # quarters empty, so no test window has half its lookback observed. (A logger reconfigured
    # to hourly readings keeps a step of its own, which becomes the grid: test_library_api.)
    quarter = pd.date_range("2024-01-01", periods=7000, freq="15min")
    kept = np.random.default_rng(5).random(quarter.size) < 0.25
    ts = quarter[(np.arange(quarter.size) < 3000) | kept]
    df = pd.DataFrame({"timestamp": ts, "v": np.sin(np.arange(ts.size) / 96 * 2 * np.pi)})
    cfg = TrainingConfig.model_validate({"model": "linear", "training": {"epochs": 1}})
    with pytest.raises(InvalidInput) as info:
        MLRunner(cfg).run(SeriesFrame.from_pandas(df))
    assert "0 test windows" in info.value.message
    assert re.search(
        r"\(on the 15min grid: training 4,900 steps, 7\d% observed, validation 1,050 steps, 2\d% "
        r"observed, test 1,050 steps, 2\d% observed\)",
        info.value.message,
    ), info.value.message
