"""The files a run stores: the forecaster and gap classifier as ``.keras``, the pipeline
document prediction needs, the backtest document the page draws and the PNG."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from gapcast.model_training.backtest import Detail
from gapcast.model_training.candidates import TrainedCandidate
from gapcast.model_training.forecaster import Forecaster
from gapcast.model_training.gap_model import GapTrainingResult
from gapcast.model_training.results import Artifact, ForecastMetrics
from gapcast.model_training.stored_pipeline import pipeline_document
from gapcast.model_training.training_data import TrainingData


def run_artifacts(
    data: TrainingData,
    chosen: TrainedCandidate,
    forecaster: Forecaster,
    gap: GapTrainingResult | None,
    metrics: ForecastMetrics,
    detail: Detail,
    history: Sequence[dict[str, float]],
) -> list[Artifact]:
    from gapcast.model_training.general_model import model_to_bytes
    from gapcast.plotting import plot_data, render_run_png

    artifacts = [Artifact.of("model", model_to_bytes(forecaster.model))]
    p_gap = None
    if gap is not None:
        artifacts.append(Artifact.of("gap_model", model_to_bytes(gap.model)))
        p_gap = gap_probability_track(gap, data)
    document = pipeline_document(data, chosen, forecaster.intervals, gap)
    artifacts.append(Artifact.of("pipeline", json.dumps(document).encode()))
    backtest: dict[str, Any] = detail.document(data.grid_ts, data.targets)
    if p_gap is not None:
        # The page draws it as a track under the backtest: no data one step ahead.
        backtest["gap_probability"] = {
            "times": p_gap[0].tolist(),
            "values": np.round(p_gap[1], 4).tolist(),
        }
    artifacts.append(Artifact.of("backtest", json.dumps(backtest).encode()))
    plot = plot_data(
        data,
        metrics,
        detail,
        history=history,
        gap_probability=p_gap,
        gap_threshold=gap.doc.get("threshold") if gap is not None else None,
    )
    artifacts.append(Artifact.of("plot", render_run_png(plot)))
    return artifacts


def gap_probability_track(
    gap: GapTrainingResult, data: TrainingData
) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps, probability) of no data one step ahead over the test span."""
    from gapcast.model_training.gap_predict import one_step_probabilities

    return one_step_probabilities(gap.model, gap.doc, data.grid_ts, data.observed, data.split[1])
