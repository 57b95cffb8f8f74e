"""Callbacks: progress throttling and the one place that chooses the Keras backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gapcast.events import ProgressEvent
from gapcast.model_training.callbacks import make_progress_callback

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
