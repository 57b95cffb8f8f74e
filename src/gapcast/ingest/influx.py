"""InfluxDB's annotated CSV (what a Flux query returns, and the UI's "Download CSV"): '#group',
'#datatype' and '#default' lines above each table's header, a blank first column, one row per
time and field (``_time``, ``_value``, ``_field``, ``_measurement`` and the tags), tables of
other shapes after a blank line. Read as a wide table: a column per series, named by its field
and what tells it apart from the others (its measurement, its tags: ``temp room=kitchen``), so
the reader's usual checks follow.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from gapcast.errors import InvalidInput

TIME = "_time"
# Columns of every Flux table that are about the query, not the series.
_QUERY = {"", "result", "table", "_start", "_stop"}
_ANNOTATIONS = ("#group", "#datatype", "#default")


def is_annotated(text: str) -> bool:
    """Whether ``text`` opens as InfluxDB's annotated CSV."""
    return text.lstrip("\ufeff \r\n").startswith(_ANNOTATIONS)


def read_annotated(text: str) -> pd.DataFrame:
    """The tables of an annotated CSV as one frame: a ``time`` column of text and a column per
    series, indexed so that a refusal names the file line of the first record of each time."""
    records: list[tuple[int, str, str, dict[str, str]]] = []  # line, time, value, labels
    header: list[str] | None = None
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not any(cell.strip() for cell in row):
            header = None  # a blank line ends a table; the next brings its own header
            continue
        if row[0].startswith("#"):
            header = None
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            missing = [c for c in (TIME, "_value") if c not in header]
            if missing:
                raise InvalidInput(
                    f"line {number}: an InfluxDB table without {' and '.join(missing)}: export "
                    "the raw rows of a query (no pivot(); each row a _time and a _value)",
                    field="file",
                )
            continue
        cells = dict(zip(header, row, strict=False))
        labels = {k: v for k, v in cells.items() if k not in _QUERY | {TIME, "_value"}}
        records.append((number, cells[TIME], cells.get("_value", ""), labels))
    if not records:
        raise InvalidInput("the InfluxDB annotated CSV holds no rows", field="file")
    names = _series_names([r[3] for r in records])
    wide: dict[str, dict[str, str]] = {}
    lines: dict[str, int] = {}
    for (number, when, value, _), name in zip(records, names, strict=True):
        at = wide.setdefault(when, {})
        if name in at and at[name] != value:
            raise InvalidInput(
                f"line {number}: {name!r} has two values at {when} ({at[name]!r} and {value!r})",
                field="file",
            )
        at[name] = value
        lines.setdefault(when, number)
    frame = pd.DataFrame.from_dict(wide, orient="index").fillna("")
    frame.insert(0, "time", frame.index)
    # The reader names a CSV's rows by index + 2 (the header is line 1).
    frame.index = pd.Index([lines[w] - 2 for w in frame["time"]])
    series = list(dict.fromkeys(names))
    frame = frame[["time", *series]]
    shown = ", ".join(series[:3]) + (f" and {len(series) - 3} more" if len(series) > 3 else "")
    frame.attrs["notes"] = [f"read as InfluxDB annotated CSV: {len(series)} series ({shown})"]
    return frame


def _series_names(labels: list[dict[str, str]]) -> list[str]:
    """Each row's series: its ``_field``, after its ``_measurement`` where there are several,
    then the tags that differ between the series (``temp room=kitchen``)."""
    distinct = {tuple(sorted(d.items())) for d in labels}
    keys = sorted({k for d in distinct for k, _ in d} - {"_field", "_measurement"})
    differ = [k for k in keys if len({dict(d).get(k) for d in distinct}) > 1]
    several = len({dict(d).get("_measurement") for d in distinct}) > 1
    out = []
    for d in labels:
        parts = [d["_measurement"]] if several and "_measurement" in d else []
        parts += [d["_field"]] if "_field" in d else []
        parts += [f"{k}={d[k]}" for k in differ if k in d]
        out.append(" ".join(parts) or "value")
    return out
