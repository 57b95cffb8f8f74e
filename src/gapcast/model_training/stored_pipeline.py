"""What a run stores beside its model for prediction, and the configuration it resolved."""

from __future__ import annotations

from typing import Any

from gapcast.model_training.candidates import TrainedCandidate
from gapcast.model_training.gap_model import GapTrainingResult
from gapcast.model_training.intervals import Intervals
from gapcast.model_training.training_data import TrainingData
from gapcast.training_config import TrainingConfig

# Version of the stored pipeline document; 1 (no "format" key): global scaling, lookback-only
# inputs, which this version cannot feed.
PIPELINE_FORMAT = 2


def pipeline_document(
    data: TrainingData,
    chosen: TrainedCandidate,
    intervals: Intervals | None,
    gap: GapTrainingResult | None = None,
) -> dict[str, Any]:
    """What prediction needs besides the model: the fitted steps, the window layout, and whether
    the model's output corrects the seasonal naive value."""
    return {
        "format": PIPELINE_FORMAT,
        "steps": data.pipeline_config,
        "targets": data.targets,
        "covariates": data.covariates,
        "future_covariates": data.future_covariates,
        "lookback": data.lookback,
        "horizon": data.horizon,
        "freq_ns": data.freq_ns,
        "model": chosen.candidate.model,
        # The share of the reference added to the model's output (a combination's mean).
        "correction": float(chosen.forecaster.correction),
        "members": [m.label for m in chosen.candidate.members],
        "intervals": intervals.to_dict() if intervals is not None else None,
        # The gap classifier's inputs, threshold and window calibration (None: no gap model).
        "gap_classifier": gap.doc if gap is not None else None,
    }


def resolved_config(config: TrainingConfig, data: TrainingData) -> TrainingConfig:
    """The configuration with what the run resolved written in (lookback, horizon, season, the
    calendar's cycles): a stored run never says "auto" for those."""
    steps = []
    for step in data.pipeline_config:
        clean = {k: v for k, v in step.items() if k != "fitted"}
        if clean["step"] == "calendar":
            clean["cycles"] = step["fitted"].get("cycles", clean.get("cycles"))
        steps.append(clean)
    doc = config.model_dump(mode="json")
    doc["preprocessing"] = steps
    return TrainingConfig.model_validate(doc)
