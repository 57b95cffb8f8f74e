"""Liveness: ``/healthz`` answers without a token (load balancers and probes have none)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from gapcast.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(runtime: RuntimeDep) -> dict[str, Any]:
    """Server, database and worker-slot status."""
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "version": version("gapcast"),
        "executor": runtime.executor.kind,
        "workers_max": runtime.executor.capacity,
        "workers_busy": runtime.executor.capacity - runtime.executor.free_slots(),
    }
