"""RunInformation: everything a model needs to train, and everything stored about it afterwards.

One typed object travels through a run: the runner fills the first half from the configuration and
the prepared data, and the second half (``runtime_s``, ``history``, ``metrics``, ...) as training
finishes. It serialises to JSON (``model_dump_json``) and back without loss.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gapcast.training_config import TrainingConfig, TrainingParams


class ArtifactRef(BaseModel):
    """An artifact without its bytes (what RunInformation and the database row keep)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    media_type: str
    sha256: str
    size: int


class RunInformation(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    # -- what the model needs ------------------------------------------------------------------
    model: str
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    seed: int = 42
    lookback: int | None = Field(default=None, description="None until resolved from the data")
    horizon: int | None = None
    freq_ns: int | None = None
    channels: list[str] = Field(default_factory=list, description="all channels of the data")
    targets: list[str] = Field(default_factory=list)
    covariates: list[str] = Field(default_factory=list)
    future_covariates: list[str] = Field(
        default_factory=list, description="covariates known in advance (read for the forecast)"
    )
    pipeline_config: list[dict[str, Any]] = Field(
        default_factory=list, description="the preparation steps (fitted after preparation)"
    )
    training: TrainingParams = Field(default_factory=TrainingParams)
    keras_backend: str | None = None

    # -- what is stored afterwards -------------------------------------------------------------
    runtime_s: float | None = None
    epochs_run: int | None = None
    loss: float | None = None
    val_loss: float | None = None
    history: list[dict[str, float]] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    gap_metrics: dict[str, Any] | None = None
    artifacts: list[ArtifactRef] = Field(default_factory=list)

    @classmethod
    def from_config(cls, config: TrainingConfig) -> RunInformation:
        """The "needs" half from a validated configuration (data-dependent fields left empty)."""
        lookback, horizon = config.window()
        return cls(
            model=config.model,
            hyperparameters=dict(config.hyperparameters),
            seed=config.training.seed,
            lookback=lookback,
            horizon=horizon,
            targets=list(config.target or []),
            covariates=list(config.covariates),
            future_covariates=list(config.future_covariates),
            pipeline_config=[s.model_dump(mode="json") for s in config.preprocessing],
            training=config.training,
        )
