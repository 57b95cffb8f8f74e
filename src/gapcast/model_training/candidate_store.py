"""Finished candidates kept beside a run's checkpoints: a run resumed after a crash does not
train them again."""

from __future__ import annotations

import json
from pathlib import Path

from gapcast.model_training.candidates import Candidate, TrainedCandidate, data_for
from gapcast.model_training.checkpoint_files import write_atomically
from gapcast.model_training.forecaster import Forecaster
from gapcast.model_training.training_data import TrainingData


class CandidateStore:
    """``checkpoint_dir/candidates/<key>.keras`` and ``<key>.json`` for each finished candidate;
    with no checkpoint directory nothing is kept."""

    def __init__(self, checkpoint_dir: Path | None) -> None:
        self.where = checkpoint_dir / "candidates" if checkpoint_dir is not None else None

    def keep(self, trained: TrainedCandidate) -> None:
        from gapcast.model_training.general_model import model_to_bytes

        if self.where is None:
            return
        self.where.mkdir(parents=True, exist_ok=True)
        key = trained.candidate.key
        # The model first: the figures' file is what says a candidate was kept.
        write_atomically(self.where / f"{key}.keras", model_to_bytes(trained.forecaster.model))
        figures = {
            "history": trained.history,
            "best_epochs": trained.best_epochs,
            "val_mae": trained.val_mae,
            "seconds": trained.seconds,
            "pruned": trained.pruned,
        }
        write_atomically(self.where / f"{key}.json", json.dumps(figures).encode())

    def restore(self, candidate: Candidate, data: TrainingData) -> TrainedCandidate | None:
        """The candidate as an earlier attempt finished it; None when it did not."""
        from gapcast.model_training.general_model import load_model_bytes

        if self.where is None or not (self.where / f"{candidate.key}.json").exists():
            return None
        figures = json.loads((self.where / f"{candidate.key}.json").read_text())
        model = load_model_bytes((self.where / f"{candidate.key}.keras").read_bytes())
        return TrainedCandidate(
            candidate=candidate,
            forecaster=Forecaster(model, data_for(candidate, data).pipeline, candidate.correction),
            history=figures["history"],
            best_epochs=int(figures["best_epochs"]),
            val_mae=figures["val_mae"],
            seconds=float(figures["seconds"]),
            pruned=bool(figures.get("pruned", False)),
        )

    def clear(self) -> None:
        if self.where is not None and self.where.exists():
            for path in self.where.iterdir():
                path.unlink(missing_ok=True)
            self.where.rmdir()
