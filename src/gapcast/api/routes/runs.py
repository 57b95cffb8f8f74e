"""Runs: queue one (the REST twin of ``/ws/train``), list, show, label, events, cancel, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from gapcast.api.deps import RuntimeDep, SettingsDep
from gapcast.api.messages import TrainRequest
from gapcast.api.schemas import (
    ERROR_RESPONSES,
    CancelOut,
    RunCreated,
    RunLabelsIn,
    RunOut,
    RunSummary,
)
from gapcast.api.submit import submit
from gapcast.db import runs as run_store
from gapcast.db.session import transaction
from gapcast.db.tables import ID_MAX

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERROR_RESPONSES)

StatusFilter = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


@router.post("", status_code=202)
def create_run(body: TrainRequest, runtime: RuntimeDep, settings: SettingsDep) -> RunCreated:
    """Queue a run without holding a socket open; follow it on ``watch``."""
    run_id = str(uuid.uuid4())
    submit(runtime.recorder, settings, body, run_id)
    runtime.queued()
    return RunCreated(run_id=run_id, status="queued", watch=f"/ws/runs/{run_id}")


@router.get("")
def list_runs(
    runtime: RuntimeDep,
    status: StatusFilter | None = None,
    dataset: Annotated[str | None, Query(description="dataset name or id")] = None,
    model: Annotated[str | None, Query(description="model name, e.g. linear or auto")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RunSummary]:
    """Newest first."""
    with runtime.sessions() as session:
        rows = run_store.list_runs(
            session, status=status, dataset=dataset, model=model, limit=limit
        )
        return [RunSummary.of(r) for r in rows]


@router.get("/{run_id}")
def show_run(run_id: str, runtime: RuntimeDep) -> RunOut:
    """Everything stored about a run: config snapshot, figures, history, artifacts, error."""
    with runtime.sessions() as session:
        run = run_store.get_run(session, run_id)
        return RunOut.full(run, run_store.artifact_refs(session, run_id))


@router.patch("/{run_id}")
def label_run(run_id: str, body: RunLabelsIn, runtime: RuntimeDep) -> RunOut:
    """Name, tag or annotate a run: only the fields sent change; ``null`` clears one."""
    with transaction(runtime.sessions) as session:
        run = run_store.label_run(session, run_id, **body.model_dump(include=body.model_fields_set))
        return RunOut.full(run, run_store.artifact_refs(session, run_id))


@router.get("/{run_id}/events")
def run_events(
    run_id: str, runtime: RuntimeDep, after: Annotated[int, Query(ge=0, le=ID_MAX)] = 0
) -> list[dict[str, Any]]:
    """The stored event log after ``after`` (the same messages the watch socket replays)."""
    with runtime.sessions() as session:
        run_store.get_run(session, run_id)
        return run_store.events_after(session, run_id, after)


@router.post("/{run_id}/cancel", status_code=202)
def cancel_run(run_id: str, runtime: RuntimeDep) -> CancelOut:
    """A queued run is cancelled at once; a running one stops within 16 training batches."""
    state = runtime.cancel(run_id)
    return CancelOut(run_id=run_id, status="cancelled" if state == "cancelled" else "cancelling")


@router.delete("/{run_id}", status_code=204)
def delete_run(run_id: str, runtime: RuntimeDep) -> Response:
    """Delete a finished run with its events and artifacts (409 while queued or running)."""
    with transaction(runtime.sessions) as session:
        run_store.delete_run(session, run_id)
    return Response(status_code=204)
