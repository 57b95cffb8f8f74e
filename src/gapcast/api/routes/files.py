"""Reading a file without storing it: what the page's "predict from recent rows" sends, so a
file reads there exactly as an import reads it (its delimiter, time format, units, workbook)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, File, Request, UploadFile

from gapcast.api.deps import SettingsDep
from gapcast.api.reading import ReadingDep, uploaded_bytes
from gapcast.api.schemas import ERROR_RESPONSES, FileTableOut

router = APIRouter(prefix="/files", tags=["datasets"], responses=ERROR_RESPONSES)


@router.post("/read")
async def read_file(
    request: Request,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV, .xlsx, Parquet or JSON file")],
    reading: ReadingDep,
) -> FileTableOut:
    """The file's series, column-wise, read with the import's fields; nothing is stored."""
    data = await uploaded_bytes(request, file, settings)
    table = await anyio.to_thread.run_sync(
        reading.read, data, file.filename or "upload.csv", settings
    )
    return FileTableOut(
        data=table.column_wise(),
        units=dict(zip(table.channels, table.units, strict=True)),
        notes=table.notes,
        timezone=table.timezone,
    )
