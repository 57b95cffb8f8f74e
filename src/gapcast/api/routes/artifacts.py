"""A run's stored files: the ``.keras`` model (raw or base64 JSON), gap model, plot, pipeline."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from gapcast.api.deps import RuntimeDep
from gapcast.api.schemas import ERROR_RESPONSES, ArtifactOut
from gapcast.db import runs as run_store
from gapcast.db.tables import ARTIFACT_KINDS
from gapcast.errors import NotFound
from gapcast.execution.runtime import Runtime

router = APIRouter(prefix="/runs/{run_id}", tags=["artifacts"], responses=ERROR_RESPONSES)

Encoding = Annotated[
    Literal["raw", "base64"],
    Query(description="raw bytes, or JSON with the bytes base64-encoded in 'data'"),
]
_SUFFIX = {
    "model": ".keras",
    "gap_model": ".keras",
    "plot": ".png",
    "pipeline": ".json",
    "backtest": ".json",
}


def _artifact(runtime: Runtime, run_id: str, kind: str, encoding: str) -> Response:
    if kind not in ARTIFACT_KINDS:
        raise NotFound(
            f"unknown artifact kind {kind!r}; expected one of: {', '.join(ARTIFACT_KINDS)}",
            field="kind",
        )
    with runtime.sessions() as session:
        found = run_store.get_artifact(session, run_id, kind)
        data, media_type, sha256 = found.data, found.media_type, found.sha256
    if encoding == "base64":
        return JSONResponse(
            {
                "run_id": run_id,
                "kind": kind,
                "media_type": media_type,
                "encoding": "base64",
                "size": len(data),
                "sha256": sha256,
                "data": base64.b64encode(data).decode("ascii"),
            }
        )
    filename = f"gapcast-{run_id[:8]}-{kind}{_SUFFIX.get(kind, '')}"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "ETag": f'"{sha256}"',
        },
    )


@router.get("/artifacts")
def list_artifacts(run_id: str, runtime: RuntimeDep) -> list[ArtifactOut]:
    with runtime.sessions() as session:
        run_store.get_run(session, run_id)
        return [ArtifactOut.of(a) for a in run_store.artifact_refs(session, run_id)]


@router.get("/artifacts/{kind}", response_class=Response)
def get_artifact(
    run_id: str, kind: str, runtime: RuntimeDep, encoding: Encoding = "raw"
) -> Response:
    return _artifact(runtime, run_id, kind, encoding)


@router.get("/model", response_class=Response)
def get_model(run_id: str, runtime: RuntimeDep, encoding: Encoding = "raw") -> Response:
    """The trained forecaster as a ``.keras`` archive."""
    return _artifact(runtime, run_id, "model", encoding)


@router.get("/gap_model", response_class=Response)
def get_gap_model(run_id: str, runtime: RuntimeDep, encoding: Encoding = "raw") -> Response:
    """The gap classifier (only when the data had large gaps)."""
    return _artifact(runtime, run_id, "gap_model", encoding)


@router.get("/plot.png", response_class=Response)
def get_plot(run_id: str, runtime: RuntimeDep, encoding: Encoding = "raw") -> Response:
    """Forecast against the truth on the test part, large gaps shaded."""
    return _artifact(runtime, run_id, "plot", encoding)


@router.get("/pipeline.json", response_class=Response)
def get_pipeline(run_id: str, runtime: RuntimeDep, encoding: Encoding = "raw") -> Response:
    """The fitted preparation steps and window layout that prediction needs."""
    return _artifact(runtime, run_id, "pipeline", encoding)


@router.get("/backtest.json", response_class=Response)
def get_backtest(run_id: str, runtime: RuntimeDep, encoding: Encoding = "raw") -> Response:
    """Every method's forecast at every backtest origin, with the truth they were scored on."""
    return _artifact(runtime, run_id, "backtest", encoding)
