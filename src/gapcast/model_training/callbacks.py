"""Keras callbacks of a training run: progress events, cancellation, checkpoints.

They are built to cost nothing per batch beyond Keras's own loop: the cancellation check runs in
``on_train_batch_begin`` (Keras passes no logs there, so nothing is synchronised with the device),
and the progress callback declares ``async_safe`` so Keras hands its batch-end calls to a worker
thread instead of waiting for each step's loss.
"""

from __future__ import annotations

import json
import math
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from gapcast.errors import Cancelled
from gapcast.events import ProgressEvent
from gapcast.model_training.keras_env import import_keras

EventSink = Callable[[Any], None]


class CancelFlag(Protocol):
    """Anything with ``is_set()``: a ``threading.Event``, a ``multiprocessing.Event``, ..."""

    def is_set(self) -> bool: ...


def _float(value: Any) -> float | None:
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _base() -> type:
    return import_keras().callbacks.Callback  # type: ignore[no-any-return]


# Batches timed (after the compiling first one) before a first ETA is estimated.
ETA_MIN_BATCHES = 3


def make_progress_callback(
    on_event: EventSink,
    *,
    epochs: int,
    batch_size: int,
    model: Literal["forecaster", "gap_classifier"] = "forecaster",
    min_interval_s: float = 0.25,
    phase: Literal["candidate", "refit"] | None = None,
    candidate: str | None = None,
    epoch_offset: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """A callback emitting a ProgressEvent after each epoch and at most every ``min_interval_s``
    (≈4/s) within one: epoch, batch, loss, val_loss, samples/s and ETA. ``clock`` is
    ``time.monotonic``; a test passes its own, so throttling is checked without timing.
    ``epoch_offset``: epochs already reported by earlier fits of the same stage (the copies of
    a seed ensemble count on from one another's, out of ``epochs`` in all)."""

    class ProgressCallback(_base()):  # type: ignore[misc]
        async_safe = True  # our batch-end only reads logs; Keras may call it from a thread

        def __init__(self) -> None:
            super().__init__()
            self._lock = threading.Lock()
            self._epoch = 0
            self._epoch_start = 0.0
            self._last_emit = 0.0
            self._last_batch = -1
            self._epoch_times: list[float] = []
            self._first_batch_end: float | None = None

        def _batches(self) -> int | None:
            steps = self.params.get("steps") if self.params else None
            return int(steps) if steps else None

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self._epoch = epoch + epoch_offset
            self._epoch_start = self._last_emit = clock()
            self._last_batch = -1
            self._first_batch_end = None

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            now = clock()
            with self._lock:
                if self._first_batch_end is None:
                    self._first_batch_end = now
                if now - self._last_emit < min_interval_s or batch <= self._last_batch:
                    return
                self._last_emit = now
                self._last_batch = batch
                first_end = self._first_batch_end
            batches = self._batches()
            elapsed = max(now - self._epoch_start, 1e-9)
            eta = None
            # The first batch of a fit includes tracing and compiling (seconds, for a run of a
            # few seconds: it once said 431 s for a 5 s run), so the rate is measured from the
            # end of the first batch, and only once a few batches have been timed.
            steady = batch  # batches finished since the first one ended
            if batches and (steady >= ETA_MIN_BATCHES or self._epoch_times):
                per_batch = (now - first_end) / steady if steady else elapsed / (batch + 1)
                eta = per_batch * (batches - batch - 1) + self._epoch_mean(per_batch * batches) * (
                    epochs - self._epoch - 1
                )
            on_event(
                ProgressEvent(
                    model=model,
                    phase=phase,
                    candidate=candidate,
                    epoch=self._epoch + 1,
                    epochs=epochs,
                    batch=batch + 1,
                    batches=batches,
                    loss=_float((logs or {}).get("loss")),
                    samples_per_s=(batch + 1) * batch_size / elapsed,
                    eta_s=eta,
                )
            )

        def _epoch_mean(self, current: float) -> float:
            return sum(self._epoch_times) / len(self._epoch_times) if self._epoch_times else current

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            now = clock()
            took = now - self._epoch_start
            batches = self._batches()
            first_end = self._first_batch_end
            if self._epoch == epoch_offset and batches and batches > 1 and first_end is not None:
                # Epoch 1 without its compiling first batch: what the next epochs will take.
                self._epoch_times.append((now - first_end) * batches / (batches - 1))
            else:
                self._epoch_times.append(took)
            samples = (batches or 0) * batch_size
            logs = logs or {}
            on_event(
                ProgressEvent(
                    model=model,
                    phase=phase,
                    candidate=candidate,
                    epoch=self._epoch + 1,
                    epochs=epochs,
                    batches=batches,
                    loss=_float(logs.get("loss")),
                    val_loss=_float(logs.get("val_loss")),
                    samples_per_s=samples / took if samples and took > 0 else None,
                    eta_s=self._epoch_mean(took) * (epochs - self._epoch - 1),
                )
            )

    return ProgressCallback()


def make_cancel_callback(cancel: CancelFlag) -> Any:
    """A callback raising :class:`Cancelled` before the next training call (16 batches, Keras's
    ``steps_per_execution``) once ``cancel.is_set()``."""

    class CancelCallback(_base()):  # type: ignore[misc]
        def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            if cancel.is_set():
                raise Cancelled("the run was cancelled")

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if cancel.is_set():
                raise Cancelled("the run was cancelled")

    return CancelCallback()


def make_backup_callback(checkpoint_dir: str) -> Any:
    """Keras's BackupAndRestore (saves at each epoch end; a rerun resumes at the next epoch).

    With ``save_freq="epoch"`` its batch-end hook does nothing, so it is safe to dispatch
    asynchronously; saying so keeps Keras from synchronising every step for it.
    ``double_checkpoint`` keeps the previous epoch's backup: a worker killed while writing the
    weights leaves a truncated file, and Keras then resumes from the one before instead of failing;
    killed while writing the epoch number (an empty ``training_metadata.json``, which Keras does
    not guard against) or the first epoch's weights (no backup before it), the same fallback is
    taken here.
    """
    base: type = import_keras().callbacks.BackupAndRestore

    class Backup(base):  # type: ignore[misc]
        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            try:
                super().on_train_begin(logs)
            except (json.JSONDecodeError, OSError):
                # Keras writes training_metadata.json in place (opened "w", then the JSON): a
                # worker killed between the two leaves it empty, and Keras's own fallback to the
                # previous epoch's backup covers unreadable weights only, and only when a
                # previous one was kept (killed while writing the first epoch's weights, the
                # torn HDF5 file's OSError failed the run). Resume from that pair; unreadable
                # too, or none kept: go on from epoch 1 (not a failed run).
                self._resume_from(
                    [(self._prev_weights_path, self._weights_path),
                     (self._prev_training_metadata_path, self._training_metadata_path)],
                    logs,
                )  # fmt: skip

        def _resume_from(self, pairs: list[tuple[str, str]], logs: Any) -> None:
            if all(Path(kept).exists() for kept, _ in pairs):
                for kept, current in pairs:
                    shutil.copyfile(kept, current)
                try:
                    super().on_train_begin(logs)
                    return
                except (json.JSONDecodeError, OSError):
                    pass  # the previous epoch's backup is unreadable too
            for kept, current in pairs:
                Path(kept).unlink(missing_ok=True)
                Path(current).unlink(missing_ok=True)
            super().on_train_begin(logs)

    backup = Backup(checkpoint_dir, save_freq="epoch", double_checkpoint=True)
    backup.async_safe = True
    return backup


def make_early_stopping(
    patience: int,
    *,
    has_validation: bool = True,
    best_path: Path | None = None,
    history: Callable[[], Sequence[dict[str, float]]] | None = None,
) -> Any | None:
    """EarlyStopping restoring the best weights (on val_loss, or loss without a validation part);
    None when ``patience`` is 0.

    With ``best_path`` and ``history`` (the per-epoch logs of earlier attempts) it survives a
    resume: Keras's own starts afresh when BackupAndRestore resumes a fit, forgetting the best
    epoch before the crash, so the run would keep training past its patience and end on worse
    weights. This one keeps the best weights in ``best_path`` (with their epoch) and, when the fit
    resumes at epoch ``k``, takes back the best, its weights and the patience already spent.
    """
    if patience <= 0:
        return None
    keras = import_keras()
    monitor = "val_loss" if has_validation else "loss"

    base: type = keras.callbacks.EarlyStopping

    class ResumableEarlyStopping(base):  # type: ignore[misc]
        carry = False  # set by continue_next_fit
        last_weights: list[Any] | None = None

        def continue_next_fit(self) -> None:
            """Make the next ``fit`` go on from the one that just ended (successive halving fits
            a candidate in two stretches): from its last weights, not the best ones its end put
            back, and with its best epoch, best weights and patience already spent."""
            if self.last_weights is not None:
                self.model.set_weights(self.last_weights)
            self.carry = True

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            if self.carry:
                self.carry = False
                return  # Keras's own would reset best, weights and wait for a fresh fit
            super().on_train_begin(logs)
            start = int(getattr(self.model, "_initial_epoch", 0) or 0)  # BackupAndRestore's
            if start == 0 or best_path is None or history is None or not best_path.exists():
                return
            with np.load(best_path) as saved:
                epoch, weights = int(saved["epoch"]), [saved[f"w{i}"] for i in range(saved["n"])]
            finished = [h for h in history() if int(h["epoch"]) <= start and monitor in h]
            if epoch >= start or not finished:
                return  # the best was an epoch trained again now (its backup was torn)
            best = min(finished, key=lambda h: h[monitor])
            if int(best["epoch"]) - 1 != epoch:
                return  # not the weights of the best finished epoch: start afresh
            self.best, self.best_epoch, self.best_weights = best[monitor], epoch, weights
            self.wait = start - 1 - epoch  # as Keras counts it after epoch start - 1

        def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
            if self.restore_best_weights and self.best_weights is not None:
                self.last_weights = self.model.get_weights()
            super().on_train_end(logs)

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            super().on_epoch_end(epoch, logs)
            if best_path is not None and self.best_epoch == epoch and self.best_weights:
                named = {f"w{i}": w for i, w in enumerate(self.best_weights)}
                partial = best_path.with_name(best_path.name + ".partial.npz")
                np.savez(partial, epoch=epoch, n=len(self.best_weights), **named)
                partial.replace(best_path)  # a kill mid-write leaves the previous best intact

    return ResumableEarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)
