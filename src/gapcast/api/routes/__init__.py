"""REST routes, one module per resource; ``ROUTERS`` is what the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from gapcast.api.routes import (
    artifacts,
    configs,
    datasets,
    defaults,
    files,
    health,
    models,
    predict,
    runs,
    series,
    sweeps,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    datasets.router,
    files.router,
    series.router,
    models.router,
    defaults.router,
    configs.router,
    runs.router,
    artifacts.router,
    predict.router,
    sweeps.router,
)
