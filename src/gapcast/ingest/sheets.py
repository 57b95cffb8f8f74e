"""Excel workbooks (.xlsx): the first sheet's cells as a table, typed as the spreadsheet typed
them (dates as times, numbers as numbers), with the workbook's inflated size and the sheet's
cells checked against the limits as it is read.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gapcast.errors import InvalidInput, TooLarge
from gapcast.ingest.common import check_distinct

# A workbook is zipped XML: its sheets inflate to several times the cells' CSV size. Up to this
# many times the upload limit is read; more is a zip bomb, not a sheet of readings.
INFLATION = 10


def read_sheet(
    data: bytes, max_bytes: int | None, max_points: int | None, sheet: str | None = None
) -> pd.DataFrame:
    """The worksheet named ``sheet`` (default: the first) as a frame: its first row of two or
    more cells the header, each later non-empty row a row, indexed so that errors name the
    sheet's own row numbers. ``frame.attrs['notes']`` says which sheet was read when the
    workbook has several and none was named."""
    from openpyxl import load_workbook

    _check_inflated(data, max_bytes)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise InvalidInput(f"not a readable .xlsx workbook: {exc}", field="file") from exc
    try:
        if not book.worksheets:
            raise InvalidInput("the workbook has no worksheet", field="file")
        titles = [s.title for s in book.worksheets]
        if sheet is not None and sheet not in titles:
            raise InvalidInput(
                f"sheet: the workbook has no sheet {sheet!r}; its sheets: "
                f"{', '.join(map(repr, titles))}",
                field="sheet",
            )
        chosen = book.worksheets[titles.index(sheet) if sheet is not None else 0]
        others = [t for t in titles if t != chosen.title]
        hint = f"; its other sheets: {', '.join(map(repr, others))} (--sheet)" if others else ""
        frame = _frame(chosen.iter_rows(values_only=True), max_points, chosen.title, hint)
    finally:
        book.close()
    if others and sheet is None:
        said = (
            f"read the workbook's first sheet, {chosen.title!r}; its other sheets "
            f"({', '.join(map(repr, others))}) were not: name the one you want with sheet "
            "(--sheet)"
        )
        frame.attrs["notes"] = [*frame.attrs.get("notes", []), said]
    return frame


def _check_inflated(data: bytes, max_bytes: int | None) -> None:
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"not a readable .xlsx workbook: {exc}", field="file") from exc
    inflated = sum(e.file_size for e in entries)
    if max_bytes is not None and inflated > INFLATION * max_bytes:
        raise TooLarge(
            f"the workbook inflates to {inflated:,} bytes, over {INFLATION} times the limit of "
            f"{max_bytes:,} bytes (GAPCAST_MAX_UPLOAD_BYTES)",
            field="file",
        )


def _frame(
    rows: Iterable[Sequence[Any]], max_points: int | None, title: str, hint: str
) -> pd.DataFrame:
    header: list[str] = []
    titles: list[str] = []
    body: list[Sequence[Any]] = []
    numbers: list[int] = []
    for number, row in enumerate(rows, start=1):
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue  # an empty row (a spreadsheet's blank lines, its formatted but empty end)
        if not header:
            if sum(cell is not None for cell in row) < 2:
                titles.append(str(next(c for c in row if c is not None)))
                continue  # a title above the table ('Meter 7, January'): a table has 2 columns
            named = max(i for i, cell in enumerate(row) if cell is not None) + 1
            header = [
                str(cell).strip() if cell is not None else f"Unnamed: {i}"
                for i, cell in enumerate(row[:named])
            ]
            continue
        if len(row) > len(header) and any(c is not None for c in row[len(header) :]):
            raise InvalidInput(
                f"row {number} of the sheet has values right of its header's "
                f"{len(header)} columns; give them a header",
                field="file",
                rows=[number],
            )
        body.append(row)
        numbers.append(number)
        if max_points is not None and len(body) * max(len(header) - 1, 1) > max_points:
            raise TooLarge(
                f"the sheet holds more than {max_points:,} points (GAPCAST_MAX_POINTS_PER_DATASET)",
                field="file",
            )
    if not header:
        raise InvalidInput(
            f"sheet {title!r} holds no table (no row of two or more cells){hint}", field="file"
        )
    width = len(header)
    check_distinct(header)
    columns = {
        name: _column([row[i] if i < len(row) else None for row in body])
        for i, name in enumerate(header)
    }
    # Errors name rows as file lines (header on line 1, data from 2): the index makes those the
    # sheet's own row numbers.
    frame = pd.DataFrame(columns)
    frame.index = pd.Index(np.asarray(numbers, dtype=np.intp) - 2)
    blank = [c for c in header if c.startswith("Unnamed: ") and frame[c].isna().all()]
    if blank and len(blank) < width:
        frame = frame.drop(columns=blank)
    if titles:
        frame.attrs["notes"] = [f"above the header, read as titles: {', '.join(map(repr, titles))}"]
    return frame


def _column(cells: list[Any]) -> pd.Series:
    """One column's cells typed as the sheet typed them: all numbers a float column, all dates a
    column of times (wall clock, as written), anything else text."""
    present = [c for c in cells if c is not None and not (isinstance(c, str) and not c.strip())]
    if present and all(isinstance(c, int | float) and not isinstance(c, bool) for c in present):
        return pd.Series([c if isinstance(c, int | float) else np.nan for c in cells], dtype=float)
    if present and all(isinstance(c, dt.datetime | dt.date) for c in present):
        return pd.Series(pd.to_datetime(pd.Series(cells, dtype=object)))
    return pd.Series(["" if c is None else _text(c) for c in cells], dtype=object)


def _text(cell: Any) -> str:
    if isinstance(cell, dt.datetime | dt.date | dt.time):
        return cell.isoformat()
    return str(cell)
