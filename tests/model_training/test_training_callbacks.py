"""Callbacks: progress throttling and the one place that chooses the Keras backend."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gapcast.errors import Cancelled
from gapcast.events import ProgressEvent
from gapcast.model_training.callbacks import (
    make_backup_callback,
    make_cancel_callback,
    make_early_stopping,
    make_progress_callback,
)
from gapcast.model_training.epoch_log import EpochLog
from gapcast.model_training.keras_env import import_keras
from gapcast.training_config import TrainingParams

SRC = Path(__file__).parents[2] / "src" / "gapcast"


def test_progress_is_throttled_within_an_epoch_and_sent_every_epoch() -> None:
    # A clock the test moves: "instant" batches stay instant however busy the machine is.
    now = [100.0]
    events: list[Any] = []
    cb = make_progress_callback(
        events.append, epochs=2, batch_size=10, min_interval_s=0.2, clock=lambda: now[0]
    )
    cb.set_params({"steps": 1000, "epochs": 2})
    for epoch in range(2):
        cb.on_epoch_begin(epoch)
        for batch in range(1000):
            cb.on_train_batch_end(batch, {"loss": 1.0})
        if epoch == 0:
            now[0] += 0.25
            cb.on_train_batch_end(1000 - 1, {"loss": 0.5})
        now[0] += 0.01
        cb.on_epoch_end(epoch, {"loss": 0.5, "val_loss": 0.7})
    assert all(isinstance(e, ProgressEvent) for e in events)
    within = [e for e in events if e.batch is not None]
    ends = [e for e in events if e.batch is None]
    assert [e.epoch for e in ends] == [1, 2] and ends[-1].val_loss == 0.7 and ends[-1].eta_s == 0
    # 1000 instant batches → no event; one after 0.25 s → one event with rate and ETA.
    assert len(within) == 1 and within[0].batch == 1000 and within[0].batches == 1000
    assert within[0].samples_per_s is not None and within[0].eta_s is not None


def test_the_first_eta_leaves_out_the_compiling_first_batch() -> None:
    """A first batch that compiles for 1 s, then 5 ms batches: the ETA of the 96 left is about
    half a second, not the 24 s the first batch's pace would say."""
    now = [100.0]
    events: list[Any] = []
    cb = make_progress_callback(
        events.append, epochs=1, batch_size=10, min_interval_s=0.0, clock=lambda: now[0]
    )
    cb.set_params({"steps": 100, "epochs": 1})
    cb.on_epoch_begin(0)
    now[0] += 1.0
    for batch in range(5):
        if batch:
            now[0] += 0.005
        cb.on_train_batch_end(batch, {"loss": 1.0})
    within = [e for e in events if e.batch is not None]
    # No estimate until three batches after the first have been timed.
    assert [e.eta_s is None for e in within] == [True, True, True, False, False]
    assert within[3].eta_s is not None and within[3].eta_s == pytest.approx(96 * 0.005, rel=0.05)


def test_keras_backend_is_chosen_in_one_place() -> None:
    setters = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if "KERAS_BACKEND" in p.read_text() and "environ" in p.read_text()
    ]
    assert setters == ["model_training/keras_env.py"]
    # Strategy modules import Keras only inside build().
    for p in (SRC / "model_training").rglob("*.py"):
        top = [
            ln for ln in p.read_text().splitlines() if ln.startswith(("import keras", "from keras"))
        ]
        assert not top, p


# --- early stopping with the default patience ---------------------------------------------------
# A fit whose validation loss is lowest after its first epoch and grows after each one: full-batch
# gradient descent on y = 2x with a step so large that every update overshoots further (each
# multiplies the error by about -3). Deterministic: one batch, no shuffling, zero initial weights.

PATIENCE = TrainingParams().patience


def _diverging_fit(
    tmp_path: Path,
    *,
    cancel_after: int | None = None,
    epochs: int = 40,
    split_at: int | None = None,
) -> tuple[list[dict[str, float]], float, list[float]]:
    """(per-epoch logs of every attempt so far, final kernel, kernel after each epoch run).
    ``split_at``: fit that many epochs, then continue the same model in a second fit (as
    successive halving does after its rung)."""
    keras = import_keras()
    x = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1)
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=6.0), loss="mse")
    log = EpochLog(tmp_path, "fit")
    kernels: list[float] = []
    flag = threading.Event()

    def after_epoch(epoch: int, logs: Any) -> None:
        kernels.append(float(model.get_weights()[0].ravel()[0]))
        if cancel_after is not None and epoch + 1 == cancel_after:
            flag.set()

    stop = make_early_stopping(PATIENCE, best_path=tmp_path / "fit.best.npz", history=log.history)
    callbacks = [
        log.callback(),
        make_backup_callback(str(tmp_path / "backup")),
        keras.callbacks.LambdaCallback(on_epoch_end=after_epoch),
        make_cancel_callback(flag),
        stop,
    ]
    first = epochs if split_at is None else split_at
    model.fit(
        x, 2 * x, validation_data=(x, 2 * x), batch_size=64, epochs=first,
        shuffle=False, verbose=0, callbacks=callbacks,
    )  # fmt: skip
    if split_at is not None:
        # The rung's end put the best weights back (what the candidate is scored with).
        assert float(model.get_weights()[0].ravel()[0]) == kernels[0] != kernels[-1]
        stop.continue_next_fit()
        model.fit(
            x, 2 * x, validation_data=(x, 2 * x), batch_size=64, epochs=epochs,
            initial_epoch=split_at, shuffle=False, verbose=0, callbacks=callbacks,
        )  # fmt: skip
    return log.history(), float(model.get_weights()[0].ravel()[0]), kernels


def test_early_stopping_stops_after_its_patience_and_restores_the_best_weights(
    tmp_path: Path,
) -> None:
    history, final, kernels = _diverging_fit(tmp_path)
    losses = [h["val_loss"] for h in history]
    assert losses == sorted(losses) and losses[0] < losses[1]  # the first epoch is the best
    assert len(history) == 1 + PATIENCE  # stopped: PATIENCE epochs without improving
    assert final == kernels[0] != kernels[-1]  # the best epoch's weights, not the last


def test_early_stopping_resumes_after_a_crash_as_if_none_happened(tmp_path: Path) -> None:
    uninterrupted, final_once, kernels = _diverging_fit(tmp_path / "once")
    with pytest.raises(Cancelled):  # interrupted after epoch 3, its backup written
        _diverging_fit(tmp_path / "twice", cancel_after=3)
    history, final, resumed = _diverging_fit(tmp_path / "twice")
    assert len(resumed) == PATIENCE + 1 - 3  # trained on from epoch 4, not from 1
    # The patience spent and the best epoch before the crash were kept: same stop, same weights.
    assert [h["epoch"] for h in history] == [h["epoch"] for h in uninterrupted]
    assert final == final_once == kernels[0]


def test_early_stopping_carries_over_into_a_continuing_fit(tmp_path: Path) -> None:
    """Successive halving fits a survivor in two stretches: the second goes on from the last
    weights of the first (not the best ones its end restored), with the best epoch and the
    patience already spent, so it stops and ends where one fit would."""
    once, final_once, kernels_once = _diverging_fit(tmp_path / "once")
    twice, final, kernels = _diverging_fit(tmp_path / "twice", split_at=2)
    assert [h["epoch"] for h in twice] == [h["epoch"] for h in once]  # same stop: 1 + PATIENCE
    assert [h["val_loss"] for h in twice] == [h["val_loss"] for h in once]
    assert kernels == kernels_once and final == final_once == kernels[0]


def _fit_with_backup(backup: Path, epochs: int, cancel_after: int | None = None) -> list[int]:
    """A tiny fit with the backup callback, cancelled after epoch ``cancel_after`` (its backup
    written, as a killed worker leaves it); the epochs it began (0-based)."""
    keras = import_keras()
    x = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    begun: list[int] = []
    flag = threading.Event()

    def after_epoch(epoch: int, logs: Any) -> None:
        if cancel_after is not None and epoch + 1 == cancel_after:
            flag.set()

    callbacks = [
        make_backup_callback(str(backup)),
        keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: begun.append(epoch), on_epoch_end=after_epoch
        ),
        make_cancel_callback(flag),
    ]
    model.fit(x, 2 * x, batch_size=64, epochs=epochs, verbose=0, callbacks=callbacks)
    return begun


def test_a_backup_killed_mid_write_resumes_from_the_epoch_before(tmp_path: Path) -> None:
    """Keras writes its training_metadata.json in place: a worker killed between opening it and
    writing leaves it empty. The resumed fit goes on from the previous epoch's backup (kept by
    double_checkpoint) instead of failing the run on a JSONDecodeError."""

    def fit(cancel_after: int | None = None) -> list[int]:
        return _fit_with_backup(tmp_path / "backup", 5, cancel_after)

    with pytest.raises(Cancelled):  # after epoch 3, its backup written
        fit(cancel_after=3)
    metadata = tmp_path / "backup" / "training_metadata.json"
    assert json.loads(metadata.read_text())["epoch"] == 3
    metadata.write_text("")  # killed between Keras opening the file and writing it
    assert fit() == [2, 3, 4]  # epoch 3 again (from epoch 2's backup), then on
    # Nothing readable kept at all: the run trains from epoch 1 rather than failing.
    with pytest.raises(Cancelled):
        fit(cancel_after=2)
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        (tmp_path / "backup" / name).write_text("")
    assert fit() == [0, 1, 2, 3, 4]


def test_a_weights_backup_torn_before_any_was_kept_trains_from_the_start(tmp_path: Path) -> None:
    """A worker killed while writing its first epoch's weights leaves a truncated
    ``latest.weights.h5`` and no previous one to fall back to: Keras raises the OSError of the
    torn HDF5 file (a crash-recovery fault test met it), and the run failed. It now trains from
    epoch 1; with both weights files torn, likewise."""
    backup = tmp_path / "backup"

    def fit(cancel_after: int | None = None) -> list[int]:
        return _fit_with_backup(backup, 4, cancel_after)

    def tear(path: Path) -> None:
        path.write_bytes(path.read_bytes()[:100])

    with pytest.raises(Cancelled):  # after epoch 1: one backup, none before it
        fit(cancel_after=1)
    assert not (backup / "latest.weights.h5.bkp").exists()
    tear(backup / "latest.weights.h5")
    assert fit() == [0, 1, 2, 3]
    with pytest.raises(Cancelled):  # after epoch 3: a previous backup kept, both torn
        fit(cancel_after=3)
    tear(backup / "latest.weights.h5")
    tear(backup / "latest.weights.h5.bkp")
    assert fit() == [0, 1, 2, 3]
