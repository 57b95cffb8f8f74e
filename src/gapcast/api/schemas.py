"""REST bodies and responses. Rows are turned into these inside the request's session."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from gapcast.db.tables import Artifact, Dataset, Run, TrainingConfigRow
from gapcast.execution.recorder import ARTIFACT_PATHS


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: dict[str, Any] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (401, 404, 409, 413, 422, 503)
}


class SeriesOut(BaseModel):
    name: str
    unit: str | None
    points: int
    running_total: bool = Field(
        default=False,
        description="imported as a running total's increase per reading (counter); appends "
        "take counter for it too",
    )


class DatasetOut(BaseModel):
    id: int
    name: str
    series: list[SeriesOut]
    points: int
    frequency: str | None = Field(description="median time step, e.g. '7 days 00:00:00'")
    start: datetime | None
    end: datetime | None
    source: str | None
    timezone: str | None = Field(
        default=None,
        description="the IANA zone its times without an offset were imported in (an append or "
        "a predict file is read in it unless told otherwise); null: UTC or offsets given",
    )
    created_at: datetime
    gaps: dict[str, Any] | None = Field(
        default=None, description="gap summary (show only): counts, missing points, longest gap"
    )
    notes: list[str] = Field(
        default_factory=list,
        description="import only: what was read other than as written, e.g. a column's -9999 "
        "cells read as missing",
    )

    @classmethod
    def of(
        cls, row: Dataset, gaps: dict[str, Any] | None = None, notes: list[str] | None = None
    ) -> DatasetOut:
        freq = None if row.frequency_ns is None else str(pd.Timedelta(row.frequency_ns, "ns"))
        return cls(
            id=row.id,
            name=row.name,
            series=[
                SeriesOut(
                    name=s.name,
                    unit=s.unit,
                    points=s.point_count,
                    running_total=s.counter_at is not None,
                )
                for s in row.series
            ],
            points=row.point_count,
            frequency=freq,
            start=row.start,
            end=row.end,
            source=row.source,
            timezone=row.timezone,
            created_at=row.created_at,
            gaps=gaps,
            notes=list(notes or []),
        )


class ConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    config: dict[str, Any] = Field(description="a TrainingConfig; omitted fields get defaults")


class ConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: dict[str, Any]


class ConfigOut(BaseModel):
    id: int
    name: str
    model: str
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: TrainingConfigRow) -> ConfigOut:
        return cls(
            id=row.id,
            name=row.name,
            model=row.model,
            config=row.body,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ArtifactOut(BaseModel):
    kind: str
    media_type: str
    size: int
    sha256: str
    url: str

    @classmethod
    def of(cls, row: Artifact) -> ArtifactOut:
        path = ARTIFACT_PATHS.get(row.kind, f"artifacts/{row.kind}")
        return cls(
            kind=row.kind,
            media_type=row.media_type,
            size=row.size,
            sha256=row.sha256,
            url=f"/runs/{row.run_id}/{path}",
        )


# Printable text without control characters (a name shows in one table cell, a tag in a chip).
RunName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")
]
Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f,]+$"
    ),
]
MAX_TAGS = 20


class RunLabelsIn(BaseModel):
    """PATCH /runs/{id}: the fields given are set, ``null`` (or "") clears one, others stay."""

    model_config = ConfigDict(extra="forbid")

    name: RunName | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    note: Annotated[str, StringConstraints(max_length=10_000)] | None = None

    @field_validator("name", "note")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @field_validator("tags")
    @classmethod
    def _unique_tags(cls, value: list[str] | None) -> list[str] | None:
        # Order kept (the user's), repeats dropped: a tag is a set member, not a count.
        return list(dict.fromkeys(value)) if value is not None else None

    @model_validator(mode="after")
    def _something(self) -> RunLabelsIn:
        if not self.model_fields_set:
            raise ValueError("expected at least one of: name, tags, note")
        return self


class RunSummary(BaseModel):
    id: str
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    note: str | None = None
    status: str
    dataset: str
    dataset_id: int | None
    timezone: str | None = Field(
        default=None, description="its dataset's import zone when it was created (or null)"
    )
    config_name: str | None
    model: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    runtime_s: float | None
    epochs: int | None
    loss: float | None
    val_loss: float | None
    error: str | None
    mae: float | None = Field(default=None, description="the model's backtest MAE")
    verdict: dict[str, Any] | None = Field(
        default=None, description="the model against the best baseline: better, ratio, text"
    )
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    mase: float | None = Field(default=None, description="the model's backtest MASE")
    lookback: int | None = Field(default=None, description="steps in (resolved when it ran)")
    horizon: int | None = Field(default=None, description="steps out")
    sweep_id: str | None = None
    trial: dict[str, Any] | None = Field(
        default=None, description="a sweep trial's number and parameters"
    )

    @classmethod
    def of(cls, row: Run) -> RunSummary:
        metrics = row.metrics or {}
        lookback, horizon = _window(row)
        return cls(
            id=row.id,
            name=row.name,
            tags=list(row.tags or []),
            note=row.note,
            status=row.status,
            dataset=row.dataset_name,
            dataset_id=row.dataset_id,
            timezone=row.timezone,
            config_name=row.config_name,
            model=row.model,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            runtime_s=row.runtime_s,
            epochs=row.epochs,
            loss=row.loss,
            val_loss=row.val_loss,
            error=row.error,
            mae=metrics.get("mae"),
            verdict=metrics.get("verdict"),
            warnings=metrics.get("warnings", []),
            mase=_model_row(metrics).get("mase"),
            lookback=lookback,
            horizon=horizon,
            sweep_id=row.sweep_id,
            trial=row.trial,
        )


def _model_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """The model's line of the leaderboard (its MASE lives there, not at the top level)."""
    for row in metrics.get("leaderboard") or []:
        if isinstance(row, dict) and row.get("kind") == "model":
            return row
    return {}


def _window(row: Run) -> tuple[int | None, int | None]:
    """Lookback and horizon: the backtest's resolved ones, else the configured window step's."""
    metrics = row.metrics or {}
    if metrics.get("lookback") is not None:
        return metrics.get("lookback"), metrics.get("horizon")
    for step in (row.config or {}).get("preprocessing") or []:
        if isinstance(step, dict) and step.get("step") == "window":
            lookback, horizon = step.get("lookback"), step.get("horizon")
            return (
                lookback if isinstance(lookback, int) else None,
                horizon if isinstance(horizon, int) else None,
            )
    return None, None


class RunOut(RunSummary):
    config: dict[str, Any]
    metrics: dict[str, Any] | None
    gap_metrics: dict[str, Any] | None
    gap_report: dict[str, Any] | None
    history: list[Any] | None
    attempts: int
    cancel_requested: bool
    executor: dict[str, Any] | None
    heartbeat_at: datetime | None
    artifacts: list[ArtifactOut]

    @classmethod
    def full(cls, row: Run, artifacts: list[Artifact]) -> RunOut:
        return cls(
            **RunSummary.of(row).model_dump(),
            config=row.config,
            metrics=row.metrics,
            gap_metrics=row.gap_metrics,
            gap_report=row.gap_report,
            history=row.history,
            attempts=row.attempts,
            cancel_requested=row.cancel_requested,
            executor=row.executor,
            heartbeat_at=row.heartbeat_at,
            artifacts=[ArtifactOut.of(a) for a in artifacts],
        )


class RunCreated(BaseModel):
    run_id: str
    status: str
    watch: str = Field(description="WebSocket path that streams the run's events")


class CancelOut(BaseModel):
    run_id: str
    status: str = Field(description="'cancelled' (it was queued) or 'cancelling' (it is running)")


class FileTableOut(BaseModel):
    """A file read as ``POST /datasets`` reads it, column-wise as ``PredictIn.data`` takes it."""

    data: dict[str, list[Any]] = Field(
        description="{'timestamp': [ISO 8601 UTC, ...], '<series>': [number or null, ...]}"
    )
    units: dict[str, str | None] = Field(description="each series' unit, where the file says")
    notes: list[str] = Field(description="what was read other than as written")
    timezone: str | None = Field(
        default=None, description="the zone times without an offset were read in (null: none)"
    )


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, list[Any]] | None = Field(
        default=None,
        description="recent raw points, column-wise: {'timestamp': [...], '<channel>': [...]}; "
        "omitted: the run's dataset up to its end",
    )
    start: datetime | None = Field(
        default=None,
        description="when the forecast begins (on the model's grid); the points before it are "
        "the history. Omitted: the grid step after the last point — during an outage still "
        "going on, pass the time you want the forecast from",
    )


class OutageOut(BaseModel):
    """The window-level answer of the gap classifier: will the horizon hold an outage?"""

    probability: float = Field(description="probability of an outage of min_steps or more")
    min_steps: int = Field(description="steps a gap must last to count as an outage")
    threshold: float = Field(description="probability from which an outage is expected")
    expected: bool


class ForecastOut(BaseModel):
    run_id: str
    source: str = Field(description="'dataset' or 'request'")
    horizon: int
    targets: list[str]
    forecast: list[dict[str, Any]] = Field(
        description="one row per step: timestamp, one value per target, its quantiles and, "
        "with a gap classifier, p_gap (probability of no data) and gap_expected (p_gap at or "
        "above the threshold chosen on the validation part)"
    )
    outage: OutageOut | None = Field(
        default=None,
        description="the gap classifier's window-level outage probability (None: no gap "
        "classifier, or one stored by an older version)",
    )
    lookback_observed: dict[str, float] = Field(
        default_factory=dict,
        description="per target, the share of the lookback's steps really measured (0: dark "
        "through the whole lookback; its forecast starts from its last values before it)",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="what was read in the posted data other than as written (e.g. \"'temp': 2 "
        "cells of -9999 read as missing (…)\"), as an import's notes say it",
    )
