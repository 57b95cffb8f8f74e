"""Datasets: upload (CSV/.xlsx/Parquet multipart), list, show with a gap summary, delete."""

from __future__ import annotations

from dataclasses import replace as replaced
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from gapcast.api.deps import RuntimeDep, SettingsDep
from gapcast.api.reading import Reading, ReadingDep, uploaded_bytes
from gapcast.api.schemas import ERROR_RESPONSES, DatasetOut
from gapcast.config import Settings
from gapcast.db import repository
from gapcast.db.append import append_to_dataset, reading_zone
from gapcast.db.session import transaction
from gapcast.errors import InvalidInput
from gapcast.execution.runtime import Runtime
from gapcast.ingest import file_stem

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=ERROR_RESPONSES)


@router.post("", status_code=201)
async def upload_dataset(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV, .xlsx, Parquet or JSON file")],
    reading: ReadingDep,
    name: Annotated[str | None, Form(description="dataset name (default: file stem)")] = None,
    replace: Annotated[bool, Form()] = False,
    append: Annotated[
        bool,
        Form(
            description="add the file's points to the dataset of that name (a newer export); "
            "times already stored with the same value are kept once"
        ),
    ] = False,
) -> DatasetOut:
    """Import a file as a dataset: one series per value column; empty cells are gaps. With
    ``append``, add a newer export's points to the dataset of that name (200)."""
    data = await uploaded_bytes(request, file, settings)
    if append and replace:
        raise InvalidInput("append and replace exclude each other: choose one", field="append")
    if append:
        response.status_code = 200  # an existing dataset changed; none was created
    filename = file.filename or "upload.csv"
    mode: Literal["new", "replace", "append"] = (
        "append" if append else "replace" if replace else "new"
    )
    return await anyio.to_thread.run_sync(
        _import, runtime, settings, reading, data, filename, name or file_stem(filename), mode
    )


def _import(
    runtime: Runtime,
    settings: Settings,
    reading: Reading,
    data: bytes,
    filename: str,
    name: str,
    mode: Literal["new", "replace", "append"],
) -> DatasetOut:
    said: list[str] = []
    if mode == "append":
        with runtime.sessions() as session:
            zone, note = reading_zone(session, name, reading.timezone)
        if zone is not None and note is not None:
            reading, said = replaced(reading, timezone=zone), [note]
    table = reading.read(data, filename, settings)
    with transaction(runtime.sessions) as session:
        if mode == "append":
            appended = append_to_dataset(
                session,
                table=table,
                name=name,
                on_duplicate=reading.on_duplicate,
                max_points=settings.max_points_per_dataset,
            )
            return DatasetOut.of(appended.dataset, notes=[*said, *table.notes, appended.note])
        dataset = repository.import_dataset(
            session, table=table, name=name, replace=mode == "replace"
        )
        return DatasetOut.of(dataset, notes=table.notes)


@router.get("")
def list_datasets(runtime: RuntimeDep) -> list[DatasetOut]:
    with runtime.sessions() as session:
        return [DatasetOut.of(d) for d in repository.list_datasets(session)]


@router.get("/{ref}")
def show_dataset(ref: str, runtime: RuntimeDep) -> DatasetOut:
    """One dataset (by name or id) with its gap summary on the dataset's own time grid."""
    from gapcast.processing.dataset_gaps import gap_summary

    with runtime.sessions() as session:
        dataset = repository.get_dataset(session, ref)
        frame = repository.load_dataset_frame(session, dataset.id)
        return DatasetOut.of(dataset, gaps=gap_summary(frame))


@router.delete("/{ref}", status_code=204)
def delete_dataset(ref: str, runtime: RuntimeDep) -> Response:
    """Delete a dataset and its points (refused while runs on it are queued or running)."""
    with transaction(runtime.sessions) as session:
        repository.delete_dataset(session, ref)
    return Response(status_code=204)
