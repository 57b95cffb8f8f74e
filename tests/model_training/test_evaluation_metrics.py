"""Metrics against values worked out by hand on tiny series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gapcast.model_training import evaluation as ev


def test_point_metrics_by_hand() -> None:
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 3.0, 1.0, 4.0])  # errors 0, 1, -2, 0
    assert ev.mae(truth, pred) == pytest.approx(0.75)
    assert ev.rmse(truth, pred) == pytest.approx(math.sqrt(5 / 4))
    # sMAPE: 2|e|/(|y|+|ŷ|): 0, 2/5, 4/4, 0 → mean 0.35 → 35 %
    assert ev.smape(truth, pred) == pytest.approx(35.0)
    # Training series 1, 3, 2, 4: naive steps |2|, |1|, |2| → scale 5/3 → MASE 0.75 / (5/3) = 0.45
    scale = ev.naive_scale(np.array([1.0, 3.0, 2.0, 4.0]))
    assert scale == pytest.approx(5 / 3)
    assert ev.mase(truth, pred, scale) == pytest.approx(0.45)
    assert ev.naive_scale(np.array([1.0, 5.0, 2.0, 7.0]), season=2) == pytest.approx(1.5)


def test_nan_truth_is_not_scored_and_zero_over_zero_is_zero() -> None:
    assert ev.mae(np.array([1.0, np.nan]), np.array([2.0, 100.0])) == 1.0
    assert ev.smape(np.array([0.0, 2.0]), np.array([0.0, 2.0])) == 0.0
    assert math.isnan(ev.mase(np.ones(2), np.ones(2), 0.0))


def test_baseline_forecasts() -> None:
    hist = np.arange(10.0)[None, :, None]
    assert ev.naive_forecast(hist, 3)[0, :, 0].tolist() == [9.0, 9.0, 9.0]
    assert ev.seasonal_naive_forecast(hist, 5, 3)[0, :, 0].tolist() == [7, 8, 9, 7, 8]


def test_score_test_windows_uses_only_known_values() -> None:
    hour = 3_600 * 10**9
    grid = np.arange(12, dtype=np.int64) * hour
    real = np.array([[0, 1, 2, 3, 4, 5, 6, np.nan, 8, 9, 10, 11]], dtype=float)
    target_ts = np.array([[7 * hour, 8 * hour]])  # one window forecasting t=7 (missing) and t=8
    forecast = np.array([[[100.0], [9.0]]])
    scores, truth = ev.score_test_windows(
        grid_ts=grid,
        real=real,
        freq_ns=hour,
        train_end=6,
        target_ts=target_ts,
        forecast=forecast,
        season=2,
        lookback=4,
    )
    assert np.isnan(truth[0, 0, 0]) and truth[0, 1, 0] == 8
    assert scores["points"] == 1 and scores["mae"] == pytest.approx(1.0)
    assert scores["mase"] == pytest.approx(0.5)  # train 0..5, season 2 → scale 2
    assert scores["naive"]["mae"] == pytest.approx(2.0)  # last known value 6
    # seasonal naive for t=8 (h=1): value at t=6 → 6
    assert scores["seasonal_naive"]["mae"] == pytest.approx(2.0)


def test_classification_metrics_by_hand() -> None:
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.8])
    m = ev.classification_metrics(y, p)
    assert m["precision"] == pytest.approx(0.5)  # predicted 1: .6 (wrong) .8 (right)
    assert m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    assert m["roc_auc"] == pytest.approx(0.75)
    assert ev.roc_auc(np.array([0, 1]), np.array([0.3, 0.3])) == pytest.approx(0.5)
    # Highest first: .8 hit (P 1, R .5), .6 miss, .4 hit (P 2/3, R 1): .5 * 1 + .5 * 2/3
    assert m["average_precision"] == pytest.approx(5 / 6)


def test_average_precision_ties_and_edges() -> None:
    # Tied scores are one threshold: both flagged at once, P 1/2 at R 1.
    assert ev.average_precision(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert ev.average_precision(np.array([0, 1]), np.array([0.1, 0.9])) == pytest.approx(1.0)
    assert np.isnan(ev.average_precision(np.array([0, 0]), np.array([0.1, 0.9])))
    # At random it scores about the positive rate (ROC AUC would say 0.5).
    rng = np.random.default_rng(0)
    y = rng.random(200_000) < 0.02
    assert ev.average_precision(y, rng.random(y.size)) == pytest.approx(0.02, abs=0.003)


def test_blocked_folds_keep_time_order_and_purge_the_margin() -> None:
    positions = np.arange(10, 40)  # 30 samples, one per grid step
    folds = ev.blocked_folds(positions, 3, margin=4)
    held = [positions[h] for _, h in folds]
    # Contiguous, in time order, each sample held out exactly once.
    assert [(int(h[0]), int(h[-1])) for h in held] == [(10, 19), (20, 29), (30, 39)]
    for (train, block), h in zip(folds, held, strict=True):
        t = positions[train]
        assert np.all((t <= h[0] - 4) | (t >= h[-1] + 4))
        assert not np.intersect1d(train, block).size
    # The middle block trains on both sides, beyond the margin: 10..16 and 33..39.
    middle = positions[folds[1][0]]
    assert middle.tolist() == [*range(10, 17), *range(33, 40)]
    assert len(ev.blocked_folds(np.arange(2), 3, margin=1)) == 2  # no empty fold


def test_season_for_frequencies() -> None:
    minute, hour, day = 60 * 10**9, 3_600 * 10**9, 86_400 * 10**9
    assert ev.season_for(hour) == 24
    assert ev.season_for(15 * minute) == 96
    assert ev.season_for(day) == 7
    assert ev.season_for(7 * day) == 52
    assert ev.season_for(None) == 1
