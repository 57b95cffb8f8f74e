"""Datasets: upload (CSV/.xlsx/Parquet multipart), list, show with a gap summary, delete."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from gapcast.api.deps import RuntimeDep, SettingsDep
from gapcast.api.schemas import ERROR_RESPONSES, DatasetOut
from gapcast.config import Settings
from gapcast.db import repository
from gapcast.db.append import append_to_dataset
from gapcast.db.session import transaction
from gapcast.errors import InvalidInput, TooLarge
from gapcast.execution.runtime import Runtime
from gapcast.ingest import DecimalMark, OnDuplicate, file_stem, read_table

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=ERROR_RESPONSES)


@router.post("", status_code=201)
async def upload_dataset(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV, .xlsx or Parquet file")],
    name: Annotated[str | None, Form(description="dataset name (default: file stem)")] = None,
    timestamp_column: Annotated[
        str | None,
        Form(
            description="the time column (default: found by name); a date and a time of day "
            "in two columns: 'Date+Time'"
        ),
    ] = None,
    on_duplicate: Annotated[OnDuplicate, Form()] = "error",
    replace: Annotated[bool, Form()] = False,
    append: Annotated[
        bool,
        Form(
            description="add the file's points to the dataset of that name (a newer export); "
            "times already stored with the same value are kept once"
        ),
    ] = False,
    decimal: Annotated[DecimalMark, Form(description="the CSV numbers' decimal mark")] = ".",
    time_format: Annotated[
        str | None, Form(description="strftime format of the time column (default: ISO 8601)")
    ] = None,
    timezone: Annotated[
        str | None, Form(description="IANA zone of times without an offset (default: UTC)")
    ] = None,
    series_column: Annotated[
        str | None,
        Form(
            description="long format (one row per series and time): the column naming each "
            "row's series; each series becomes a column"
        ),
    ] = None,
    columns: Annotated[
        str | None,
        Form(description="comma-separated value columns to import (default: all of them)"),
    ] = None,
    encoding: Annotated[
        str | None,
        Form(description="a CSV's text encoding (default: utf-8), e.g. cp1252 for Excel's"),
    ] = None,
    missing: Annotated[
        str | None,
        Form(description="comma-separated words that mark no reading in value columns ('ERR')"),
    ] = None,
    counter: Annotated[
        str | None,
        Form(
            description="comma-separated value columns that are running totals (a meter's kWh "
            "register): read as their increase per reading"
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        Form(description="the worksheet of an .xlsx workbook to read (default: the first)"),
    ] = None,
) -> DatasetOut:
    """Import a file as a dataset: one series per value column; empty cells are gaps. With
    ``append``, add a newer export's points to the dataset of that name (200)."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.max_upload_bytes + 64 * 1024:  # multipart framing overhead
        raise TooLarge(
            f"the upload is {declared:,} bytes, over the limit of "
            f"{settings.max_upload_bytes:,} bytes",
            field="file",
        )
    if append and replace:
        raise InvalidInput("append and replace exclude each other: choose one", field="append")
    if append:
        response.status_code = 200  # an existing dataset changed; none was created
    data = await file.read(settings.max_upload_bytes + 1)
    filename = file.filename or "upload.csv"
    stem = file_stem(filename)
    return await anyio.to_thread.run_sync(
        _import,
        runtime,
        settings,
        data,
        filename,
        (name or stem),
        timestamp_column,
        on_duplicate,
        "append" if append else "replace" if replace else "new",
        decimal,
        time_format or None,
        timezone or None,
        series_column or None,
        columns.split(",") if columns else None,
        encoding or "utf-8",
        missing.split(",") if missing else [],
        counter.split(",") if counter else [],
        sheet or None,
    )


def _import(
    runtime: Runtime,
    settings: Settings,
    data: bytes,
    filename: str,
    name: str,
    timestamp_column: str | None,
    on_duplicate: OnDuplicate,
    mode: Literal["new", "replace", "append"],
    decimal: DecimalMark,
    time_format: str | None,
    timezone: str | None,
    series_column: str | None,
    columns: list[str] | None,
    encoding: str,
    missing: list[str],
    counter: list[str],
    sheet: str | None,
) -> DatasetOut:
    table = read_table(
        data,
        filename=filename,
        timestamp_column=timestamp_column or None,
        on_duplicate=on_duplicate,
        decimal=decimal,
        time_format=time_format,
        timezone=timezone,
        series_column=series_column,
        columns=columns,
        encoding=encoding,
        missing=missing,
        counter=counter,
        sheet=sheet,
        max_bytes=settings.max_upload_bytes,
        max_points=settings.max_points_per_dataset,
    )
    with transaction(runtime.sessions) as session:
        if mode == "append":
            appended = append_to_dataset(
                session,
                table=table,
                name=name,
                on_duplicate=on_duplicate,
                max_points=settings.max_points_per_dataset,
            )
            return DatasetOut.of(appended.dataset, notes=[*table.notes, appended.note])
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
    with runtime.sessions() as session:
        dataset = repository.get_dataset(session, ref)
        frame = repository.load_dataset_frame(session, dataset.id)
        return DatasetOut.of(dataset, gaps=_gap_summary(frame))


def _gap_summary(frame: Any) -> dict[str, Any] | None:
    from gapcast.processing.dataset_gaps import combined_summary, dataset_gaps

    if frame.n_points < 2:
        return None
    try:
        grid, reports = dataset_gaps(frame, max_fill=3)
    except InvalidInput:
        return None  # no regular step to measure gaps against
    return combined_summary(grid, reports)


@router.delete("/{ref}", status_code=204)
def delete_dataset(ref: str, runtime: RuntimeDep) -> Response:
    """Delete a dataset and its points (refused while runs on it are queued or running)."""
    with transaction(runtime.sessions) as session:
        repository.delete_dataset(session, ref)
    return Response(status_code=204)
