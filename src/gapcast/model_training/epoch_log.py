"""Per-epoch logs of one training, kept on disk so a resumed run reports every epoch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gapcast.model_training.checkpoint_files import write_atomically


class EpochLog:
    """Per-epoch logs of one training (``name``), kept in ``checkpoint_dir/<name>.history.json``
    so a resumed run reports them all."""

    def __init__(self, checkpoint_dir: Path | None, name: str = "forecaster") -> None:
        self.path = checkpoint_dir / f"{name}.history.json" if checkpoint_dir is not None else None
        self.epochs: dict[int, dict[str, float]] = {}
        if self.path is not None and self.path.exists():
            try:
                saved = json.loads(self.path.read_text())
            except json.JSONDecodeError:
                # Left truncated by a kill under an older version, which wrote in place: the
                # epochs it held are reported again as the training goes on.
                saved = {}
            self.epochs = {int(k): v for k, v in saved.items()}

    def record(self, epoch: int, logs: dict[str, Any] | None) -> None:
        clean = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
        self.epochs = {e: v for e, v in self.epochs.items() if e < epoch}
        self.epochs[epoch] = {"epoch": float(epoch + 1), **clean}
        if self.path is not None:
            write_atomically(self.path, json.dumps(self.epochs).encode())

    def history(self) -> list[dict[str, float]]:
        return [self.epochs[e] for e in sorted(self.epochs)]

    def callback(self) -> Any:
        from gapcast.model_training.keras_env import import_keras

        log = self

        class EpochLogCallback(import_keras().callbacks.Callback):  # type: ignore[misc]
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                log.record(epoch, logs)

        return EpochLogCallback()
