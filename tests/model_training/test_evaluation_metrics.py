"""Gap-classifier metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gapcast.model_training import evaluation as ev


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
