"""A Prometheus HTTP API answer to a range query (``/api/v1/query_range``, as ``curl`` saves it):
one record per time with a field per series, as the JSON reader's other shapes give them.

Each series is named by its metric and the labels that tell the series apart
(``node_load1 instance=b:9100``; the metric's name alone when there is one series), so a query
over several instances imports as one column each. Prometheus writes values as text ("0.5",
"NaN") and times as epoch seconds; both are read as a CSV's would be. A counter (``*_total``) is
a running total: the import's note names the counter option, as for a meter's register.
"""

from __future__ import annotations

from typing import Any

from gapcast.errors import InvalidInput

TIME = "time"


def range_query_records(doc: Any) -> tuple[list[dict[str, Any]], str] | None:
    """The records of a Prometheus answer (``{"status": "success", "data": {"resultType":
    "matrix", "result": [...]}}``, or its ``data`` alone) and a note saying how it was read;
    None for any other JSON document. An error answer, or an instant query's single values,
    are refused naming what to export instead."""
    data = doc.get("data") if isinstance(doc, dict) and "status" in doc else doc
    if not (
        isinstance(data, dict) and "resultType" in data and isinstance(data.get("result"), list)
    ):
        if isinstance(doc, dict) and doc.get("status") == "error":
            raise InvalidInput(
                f"the Prometheus answer is an error ({doc.get('errorType')}: "
                f"{str(doc.get('error'))[:200]}), not data",
                field="file",
            )
        return None
    kind = data["resultType"]
    if kind != "matrix":
        raise InvalidInput(
            f"a Prometheus {kind!r} result holds one value per series, not a series over time: "
            "export a range query (/api/v1/query_range with start, end and step), whose result "
            "is a 'matrix'",
            field="file",
        )
    result = data["result"]
    if not result:
        raise InvalidInput("the Prometheus range query returned no series", field="file")
    metrics = [s.get("metric") or {} if isinstance(s, dict) else {} for s in result]
    names = series_names(metrics)
    rows: dict[float, dict[str, Any]] = {}
    for number, (name, series) in enumerate(zip(names, result, strict=True), start=1):
        values = series.get("values") if isinstance(series, dict) else None
        if not isinstance(values, list):
            raise InvalidInput(
                f"series {number} ({name}) of the Prometheus answer has no 'values' list",
                field="file",
            )
        for pair in values:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise InvalidInput(
                    f"series {number} ({name}): expected [time, value] pairs, found "
                    f"{str(pair)[:60]!r}",
                    field="file",
                )
            try:
                when = float(pair[0])
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"series {number} ({name}): the time {str(pair[0])[:40]!r} is not a number "
                    "of epoch seconds",
                    field="file",
                ) from exc
            rows.setdefault(when, {})[name] = pair[1]
    records = [{TIME: when, **fields} for when, fields in sorted(rows.items())]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return records, f"read as a Prometheus range query: {len(names)} series ({shown})"


def series_names(metrics: list[dict[str, Any]]) -> list[str]:
    """Each series' name: its metric and the labels that differ between the series, as
    ``up instance=a:9100 job=api`` (the metric's name alone where nothing differs, ``value``
    for a series with neither: an expression's result). Spaces, not PromQL's commas, between
    them: the options that name columns (``--columns``, ``--counter``) take lists split at
    commas, and 'name, unit' reads as a unit."""
    keys = sorted({k for m in metrics for k in m if k != "__name__"})
    differ = [k for k in keys if len({str(m.get(k)) for m in metrics}) > 1]
    names = []
    for metric in metrics:
        parts = [str(metric["__name__"])] if "__name__" in metric else []
        parts += [f"{k}={metric[k]}" for k in differ if k in metric]
        names.append(" ".join(parts) or "value")
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # the same labels twice: told apart by their order
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} ({seen[name]})"
    return names
