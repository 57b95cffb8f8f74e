"""JSON as APIs and databases export it: an array of records (``[{"time": ..., "temp": ...}]``),
the same under one key (``{"data": [...]}``, beside other keys that describe it), columns
(``{"time": [...], "temp": [...]}``), JSON Lines (a record per line, ``.jsonl``/``.ndjson``), a
Prometheus range query's answer (:mod:`~gapcast.ingest.prometheus`), an AWS CloudWatch answer
(:mod:`~gapcast.ingest.cloudwatch`), or Home Assistant's history answer
(:mod:`~gapcast.ingest.home_assistant`). Read into the same table as a CSV; refusals name the
record (1-based), as a CSV's name the line.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from gapcast.errors import InvalidInput, TooLarge
from gapcast.ingest.cloudwatch import cloudwatch_records
from gapcast.ingest.home_assistant import rest_history_records
from gapcast.ingest.prometheus import range_query_records


def read_json_records(text: str, max_points: int | None = None) -> pd.DataFrame:
    """The records of a JSON document (or of JSON Lines, one per line) as a frame indexed by
    record number - 1; a value that is an object or an array refuses the file, naming it."""
    records, note = _document(text)
    if max_points is not None and len(records) > max_points:
        raise TooLarge(
            f"the file holds {len(records):,} records, over the limit of {max_points:,} points "
            "(GAPCAST_MAX_POINTS_PER_DATASET)",
            field="file",
        )
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InvalidInput(
                f"record {number} is {_kind(record)}, not an object of fields "
                '({"time": ..., "value": ...})',
                field="file",
            )
        for key, value in record.items():
            if isinstance(value, (dict, list)):
                raise InvalidInput(
                    f"record {number}: field {key!r} is {_kind(value)}; gapcast reads flat "
                    "records of a time and numbers (flatten it first, e.g. pandas.json_normalize)",
                    field="file",
                )
    frame = pd.DataFrame.from_records(records)
    if frame.empty or not len(frame.columns):
        raise InvalidInput("the file has no records", field="file")
    frame.index = pd.RangeIndex(len(frame))
    # Booleans are no readings: as text they are refused as a column of text, as a CSV's are.
    for column in frame.columns:
        cells = frame[column]
        if pd.api.types.is_bool_dtype(cells) or (
            cells.dtype == object and cells.map(lambda v: isinstance(v, bool)).any()
        ):
            frame[column] = cells.astype(str)
    frame.columns = [str(c) for c in frame.columns]
    frame.attrs["notes"] = [note] if note else []
    return frame


def _document(text: str) -> tuple[list[Any], str | None]:
    """The document's records, and a note where its shape was read as something more than
    records (a Prometheus answer)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            # A record per line under a .json name: JSON Lines.
            return _lines(text), None
        raise InvalidInput(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", field="file"
        ) from exc
    if (prometheus := range_query_records(doc)) is not None:
        return prometheus
    if (cloudwatch := cloudwatch_records(doc)) is not None:
        return cloudwatch
    if (states := rest_history_records(doc)) is not None:
        return states, None  # rows of Home Assistant's export, said as the export's are
    return _records(doc)


def _records(doc: Any) -> tuple[list[Any], str | None]:
    if isinstance(doc, list):
        return doc, None
    if isinstance(doc, dict) and not any(isinstance(v, (dict, list)) for v in doc.values()):
        return [doc], None  # one record (JSON Lines of one line)
    if isinstance(doc, dict):
        arrays = {k: v for k, v in doc.items() if isinstance(v, list)}
        if (
            len(doc) == 1
            and arrays
            and all(isinstance(r, dict) for r in next(iter(arrays.values())))
        ):
            return list(next(iter(arrays.values()))), None  # {"data": [records]}
        # An API's answer: one array of records beside what describes it ({"meta": {...},
        # "count": 960, "next": null, "data": [...]}).
        held = [k for k, v in arrays.items() if v and all(isinstance(r, dict) for r in v)]
        if len(held) == 1 and len(arrays) == 1:
            key = held[0]
            left = ", ".join(repr(k) for k in doc if k != key)
            return list(doc[key]), (
                f"records read from {key!r}, the document's one array of records ({left} left out)"
            )
        if arrays and len(arrays) == len(doc):
            lengths = {len(v) for v in arrays.values()}
            if len(lengths) != 1:
                listed = ", ".join(f"{k!r} {len(v)}" for k, v in arrays.items())
                raise InvalidInput(
                    f"the JSON columns differ in length ({listed}): expected one value per time "
                    "in each",
                    field="file",
                )
            n = lengths.pop()
            return [{k: v[i] for k, v in arrays.items()} for i in range(n)], None  # columns
    raise InvalidInput(
        f"the JSON document is {_kind(doc)}; expected an array of records "
        '([{"time": ..., "value": ...}]), one such array under a key, or columns '
        '({"time": [...], "value": [...]})',
        field="file",
    )


def _lines(text: str) -> list[Any]:
    out: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})", field="file"
            ) from exc
    return out


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} ({str(value)[:40]!r})"
