"""How an uploaded file is read: the form fields ``POST /datasets`` and ``POST /files/read``
share (the CLI's import options), and the upload itself, bounded by the size limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request, UploadFile

from gapcast.api.limits import MULTIPART_OVERHEAD
from gapcast.config import Settings
from gapcast.errors import TooLarge
from gapcast.ingest import DecimalMark, OnDuplicate, ParsedTable, read_table


@dataclass(frozen=True)
class Reading:
    timestamp_column: str | None
    on_duplicate: OnDuplicate
    decimal: DecimalMark
    time_format: str | None
    timezone: str | None
    series_column: str | None
    columns: list[str] | None
    encoding: str
    missing: list[str]
    counter: list[str]
    sheet: str | None

    def read(self, data: bytes, filename: str, settings: Settings) -> ParsedTable:
        """The file's table, read as these fields say, within the server's limits."""
        return read_table(
            data,
            filename=filename,
            timestamp_column=self.timestamp_column,
            on_duplicate=self.on_duplicate,
            decimal=self.decimal,
            time_format=self.time_format,
            timezone=self.timezone,
            series_column=self.series_column,
            columns=self.columns,
            encoding=self.encoding,
            missing=self.missing,
            counter=self.counter,
            sheet=self.sheet,
            max_bytes=settings.max_upload_bytes,
            max_points=settings.max_points_per_dataset,
        )


def reading_form(
    timestamp_column: Annotated[
        str | None,
        Form(
            description="the time column (default: found by name); a date and a time of day "
            "in two columns: 'Date+Time'"
        ),
    ] = None,
    on_duplicate: Annotated[OnDuplicate, Form()] = "error",
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
) -> Reading:
    return Reading(
        timestamp_column=timestamp_column or None,
        on_duplicate=on_duplicate,
        decimal=decimal,
        time_format=time_format or None,
        timezone=timezone or None,
        series_column=series_column or None,
        columns=columns.split(",") if columns else None,
        encoding=encoding or "utf-8",
        missing=missing.split(",") if missing else [],
        counter=counter.split(",") if counter else [],
        sheet=sheet or None,
    )


ReadingDep = Annotated[Reading, Depends(reading_form)]


async def uploaded_bytes(request: Request, file: UploadFile, settings: Settings) -> bytes:
    """The upload's bytes; refused by its declared length before any is read."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > settings.max_upload_bytes + MULTIPART_OVERHEAD:
        raise TooLarge(
            f"the upload is {declared:,} bytes, over the limit of "
            f"{settings.max_upload_bytes:,} bytes",
            field="file",
        )
    return await file.read(settings.max_upload_bytes + 1)
