"""What a training run reports while it works.

The training core emits these typed events through an ``on_event`` callback; the server adds the run
id and a sequence number, stores them in ``run_events`` and sends them to every watcher. The wire
format of each is documented in ``docs/protocol.md``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Stage = Literal[
    "queued", "loading", "preparing", "gap_classifier", "training", "evaluating", "saving"
]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusEvent(_Event):
    type: Literal["status"] = "status"
    stage: Stage
    message: str | None = None


class ProgressEvent(_Event):
    type: Literal["progress"] = "progress"
    model: Literal["forecaster", "gap_classifier"] = "forecaster"
    phase: Literal["candidate", "refit"] | None = Field(
        default=None,
        description="forecaster only: a candidate's training (with validation), or the chosen "
        "one's refit on train + validation",
    )
    candidate: str | None = Field(default=None, description="the candidate being trained")
    epoch: int = Field(ge=1, description="1-based epoch being (or just) trained")
    epochs: int = Field(ge=1)
    batch: int | None = Field(default=None, description="None on the end-of-epoch event")
    batches: int | None = None
    loss: float | None = None
    val_loss: float | None = None
    samples_per_s: float | None = None
    eta_s: float | None = None


class GapsEvent(_Event):
    type: Literal["gaps"] = "gaps"
    gaps: int
    small: int
    large: int
    missing_points: int
    observed_fraction: float
    gap_classifier: bool = Field(description="whether a gap classifier will be trained")


# What a candidate's validation figure is: MAE with one target; with several (each in its own
# units) the mean of their MASE, as the leaderboard ranks them.
CandidateScore = Literal["mae", "mean_mase"]


class CandidateEvent(_Event):
    """A candidate model finished training (model "auto" trains several and keeps the best)."""

    type: Literal["candidate"] = "candidate"
    key: str
    label: str
    val_mae: float | None = Field(
        description="the candidate's score on the validation origins, as `score` names it"
    )
    score: CandidateScore = Field(
        "mae",
        description="mae: MAE in real units (one target); mean_mase: the mean of the targets' "
        "MASE, how candidates with several targets (in their own units) are compared",
    )
    epochs: int = Field(description="epochs up to the best validation loss")
    epochs_run: int | None = Field(None, description="epochs trained")
    pruned: bool = Field(
        False, description="stopped after epochs_run epochs by successive halving (model auto)"
    )
    seconds: float


class LogEvent(_Event):
    type: Literal["log"] = "log"
    level: Literal["info", "warning"] = "info"
    message: str


AnyEvent = StatusEvent | ProgressEvent | GapsEvent | CandidateEvent | LogEvent
RunEvent = Annotated[AnyEvent, Field(discriminator="type")]


def event_payload(event: AnyEvent) -> dict[str, Any]:
    return event.model_dump(mode="json", exclude_none=True)
