"""RunResult and its parts: what a finished run hands to its caller (the worker stores it)."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gapcast.model_training.run_information import ArtifactRef, RunInformation

ArtifactKind = Literal["model", "gap_model", "plot", "pipeline"]
MEDIA_TYPES: dict[str, str] = {
    "model": "application/x-keras",
    "gap_model": "application/x-keras",
    "plot": "image/png",
    "pipeline": "application/json",
}


class Artifact(BaseModel):
    """One stored file of a run. Bytes serialise to JSON as base64."""

    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    kind: ArtifactKind
    media_type: str
    data: bytes = Field(repr=False)
    sha256: str
    size: int

    @classmethod
    def of(cls, kind: ArtifactKind, data: bytes) -> Artifact:
        return cls(
            kind=kind,
            media_type=MEDIA_TYPES[kind],
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )

    def ref(self) -> ArtifactRef:
        return ArtifactRef(
            kind=self.kind, media_type=self.media_type, sha256=self.sha256, size=self.size
        )


class ForecastMetrics(BaseModel):
    """Test-part errors in real units, with the same figures for the two baselines."""

    model_config = ConfigDict(extra="forbid")

    mae: float
    rmse: float
    smape: float
    mase: float
    naive: dict[str, float] = Field(description="last value repeated: mae, rmse, smape, mase")
    seasonal_naive: dict[str, float] | None = Field(
        default=None, description="value one season earlier; None when lookback < season"
    )
    season: int = Field(description="season length in steps used by MASE and seasonal naive")
    windows: int = Field(description="test windows scored")
    points: int = Field(description="observed target points scored")


class GapMetrics(BaseModel):
    """Gap classifier on the chronological test part vs the hour-of-week gap-rate baseline."""

    model_config = ConfigDict(extra="forbid")

    precision: float
    recall: float
    f1: float
    roc_auc: float
    baseline: dict[str, float]
    gap_rate: float = Field(description="fraction of test steps without data")
    samples: int


class GapSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gaps: int
    small: int
    large: int
    missing_points: int
    observed_fraction: float
    largest: int = Field(description="length of the longest gap in grid steps")


class RunResult(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    run_info: RunInformation
    metrics: ForecastMetrics
    gap_metrics: GapMetrics | None = None
    epochs: int
    runtime_s: float
    loss: float | None
    val_loss: float | None
    history: list[dict[str, float]]
    artifacts: list[Artifact]
    pipeline_config: list[dict[str, Any]]
    gap_report: GapSummary

    def artifact(self, kind: ArtifactKind) -> Artifact | None:
        return next((a for a in self.artifacts if a.kind == kind), None)
