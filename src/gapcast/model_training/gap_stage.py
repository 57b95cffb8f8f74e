"""The run's gap-classifier stage: train it (or take back the one a crashed attempt finished)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gapcast.events import LogEvent
from gapcast.model_training.checkpoint_files import write_atomically
from gapcast.model_training.gap_model import GapTrainingResult
from gapcast.model_training.training_data import TrainingData
from gapcast.training_config import TrainingConfig

SAVED_NAME = "gap_classifier.json"


def gap_stage(
    data: TrainingData,
    config: TrainingConfig,
    *,
    checkpoint_dir: Path | None,
    callbacks: list[Any],
    fold_callbacks: list[Any],
    log: Callable[[LogEvent], None],
    zone: str | None = None,
) -> GapTrainingResult:
    """The gap classifier of ``data``: trained with ``callbacks`` (its cross-validation folds
    with ``fold_callbacks``) and kept in ``checkpoint_dir`` so a resumed run does not train it
    again."""
    from gapcast.model_training.gap_model import GAP_LEARNING_RATE, train_gap_classifier
    from gapcast.model_training.general_model import load_model_bytes, model_to_bytes

    t = config.training
    saved = checkpoint_dir / SAVED_NAME if checkpoint_dir else None
    doc = json.loads(saved.read_text()) if saved is not None and saved.exists() else {}
    if "doc" in doc:
        model = load_model_bytes(bytes.fromhex(doc["model"]))
        return GapTrainingResult(
            model=model, metrics=doc["metrics"], history={}, doc=doc.get("doc", {})
        )
    result = train_gap_classifier(
        data.grid_ts,
        data.observed,
        data.split,
        lookback=data.lookback,
        horizon=data.horizon,
        epochs=t.gap_classifier_epochs,
        learning_rate=GAP_LEARNING_RATE,
        seed=t.seed,
        # An outage is a gap too long to fill: what the window-level question counts.
        min_outage=data.max_fill + 1,
        freq_ns=data.freq_ns,
        callbacks=callbacks,
        fold_callbacks=fold_callbacks,
        zone=zone,
    )
    m = result.metrics
    if m.get("evaluation") == "blocked_cv":
        log(
            LogEvent(
                message=f"gap classifier: the test part has too few gaps to score it on; scored "
                f"by blocked cross-validation over {m['folds']} blocks of the whole series "
                f"({m['positives']} missing steps)"
            )
        )
    if saved is not None:
        kept = {
            "model": model_to_bytes(result.model).hex(),
            "metrics": result.metrics,
            "doc": result.doc,
        }
        write_atomically(saved, json.dumps(kept).encode())
    return result
