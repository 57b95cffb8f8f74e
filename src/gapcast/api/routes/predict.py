"""Forecast with a finished run's model: from its dataset's end, or from posted recent points.

Prediction needs Keras, which the API process otherwise never imports: it is loaded on the first
predict call, in the thread pool (FastAPI runs these sync handlers there), and the loaded models of
the last few runs are kept, because loading a ``.keras`` archive costs far more than predicting.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from gapcast.api.deps import RuntimeDep
from gapcast.api.schemas import ERROR_RESPONSES, ForecastOut, PredictIn
from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.errors import Conflict, InvalidInput, NotFound
from gapcast.execution.runtime import Runtime

if TYPE_CHECKING:
    from gapcast.library import TrainedModel

router = APIRouter(prefix="/runs/{run_id}", tags=["predict"], responses=ERROR_RESPONSES)

_CACHE_SIZE = 4
_cache: OrderedDict[str, TrainedModel] = OrderedDict()
_cache_lock = threading.Lock()


def _trained_model(runtime: Runtime, run_id: str) -> TrainedModel:
    with _cache_lock:
        if run_id in _cache:
            _cache.move_to_end(run_id)
            return _cache[run_id]
    import json

    from gapcast.library import TrainedModel

    with runtime.sessions() as session:
        run = run_store.get_run(session, run_id)
        if run.status != "succeeded":
            raise Conflict(f"run {run_id} is {run.status}; only a succeeded run can predict")
        model = run_store.get_artifact(session, run_id, "model").data
        pipeline = json.loads(run_store.get_artifact(session, run_id, "pipeline").data)
        try:
            gap_model: bytes | None = run_store.get_artifact(session, run_id, "gap_model").data
        except NotFound:
            gap_model = None
    trained = TrainedModel(model, pipeline, gap_model)
    with _cache_lock:
        _cache[run_id] = trained
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return trained


@router.post("/predict")
def predict(run_id: str, runtime: RuntimeDep, body: PredictIn | None = None) -> ForecastOut:
    """The ``horizon`` steps from ``start`` (default: after the end of the run's dataset, or of
    ``data``), forecast from the points before it."""
    import pandas as pd

    trained = _trained_model(runtime, run_id)
    said: list[str] = []
    if body is not None and body.data is not None:
        with runtime.sessions() as session:
            run = run_store.get_run(session, run_id)
            zone, dataset = run.timezone, run.dataset_name
        data = body.data
        if zone is not None:
            data, said = _times_in_zone(data, zone, dataset)
        try:
            frame: Any = pd.DataFrame(data)
        except ValueError as exc:
            raise InvalidInput(f"data: {exc}", field="data") from exc
        source = "request"
    else:
        with runtime.sessions() as session:
            run = run_store.get_run(session, run_id)
            if run.dataset_id is None:
                raise Conflict("the run's dataset was deleted; post recent points in 'data'")
            frame = repository.load_dataset_frame(session, run.dataset_id, through_end=True)
        source = "dataset"
    start = body.start if body is not None else None
    document = trained.forecast_document(frame, start)
    document["notes"] = [*said, *document.get("notes", [])]
    return ForecastOut(run_id=run_id, source=source, **document)


def _times_in_zone(
    data: dict[str, list[Any]], zone: str, dataset: str
) -> tuple[dict[str, list[Any]], list[str]]:
    """The posted rows with their times without an offset read in the zone the run's dataset
    was imported in (as the CLI and the page read a file of them: the logger writes its next
    export as it wrote the first), and the note saying so; as posted when none lacks one."""
    import pandas as pd

    from gapcast.ingest.times import parse_timestamps

    times = data.get("timestamp")
    if not isinstance(times, list) or not times:
        return data, []
    localized: list[int] = []
    ns = parse_timestamps(pd.Series(times), "timestamp", "json", None, zone, localized=localized)
    if not localized:
        return data, []
    utc = [t.isoformat() for t in pd.to_datetime(ns, utc=True)]
    return {**data, "timestamp": utc}, [
        f"times without an offset read in {zone}, the zone dataset {dataset!r} was imported in "
        "(send them with an offset, or 'Z' for UTC, to read them otherwise)"
    ]
