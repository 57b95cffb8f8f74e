"""An AWS CloudWatch answer as the CLI saves it: ``aws cloudwatch get-metric-statistics`` (a
``Label`` and its ``Datapoints``, one per period with a field per statistic, in no order) or
``aws cloudwatch get-metric-data`` (``MetricDataResults``: per query, its ``Timestamps`` and
``Values``, newest first). Read as one record per time with a field per series, as the JSON
reader's other shapes give them; the columns carry CloudWatch's unit the way a header does
(``CPUUtilization Average [%]``), and a result CloudWatch left incomplete is said.
"""

from __future__ import annotations

from typing import Any

from gapcast.errors import InvalidInput

TIME = "Timestamp"
STATISTICS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
# CloudWatch's unit names as a header writes them; 'None' is no unit.
UNITS = {"Percent": "%", "None": None}


def cloudwatch_records(doc: Any) -> tuple[list[dict[str, Any]], str] | None:
    """The records of a CloudWatch answer and a note saying how it was read; None for any
    other JSON document."""
    if isinstance(doc, dict) and isinstance(doc.get("Datapoints"), list) and "Label" in doc:
        return _statistics(str(doc["Label"]), doc["Datapoints"])
    if isinstance(doc, dict) and isinstance(doc.get("MetricDataResults"), list):
        return _metric_data(doc["MetricDataResults"])
    return None


def _statistics(label: str, points: list[Any]) -> tuple[list[dict[str, Any]], str]:
    if not points:
        raise InvalidInput(
            f"the CloudWatch answer for {label!r} holds no datapoints (a period with no data, "
            "or a metric name or dimension that matches nothing)",
            field="file",
        )
    for number, point in enumerate(points, start=1):
        if not isinstance(point, dict) or TIME not in point:
            raise InvalidInput(
                f"datapoint {number} of {label!r} has no {TIME!r}: {str(point)[:60]!r}",
                field="file",
            )
    extended = sorted({k for p in points for k in p.get("ExtendedStatistics") or {}})
    given = [s for s in STATISTICS if any(s in p for p in points)] + extended
    unit = _unit(next((p["Unit"] for p in points if "Unit" in p), None))
    names = {
        s: _header(
            f"{label} {s}" if len(given) > 1 else label, None if s == "SampleCount" else unit
        )
        for s in given
    }
    records = []
    for point in sorted(points, key=lambda p: str(p[TIME])):
        values = {**point, **(point.get("ExtendedStatistics") or {})}
        records.append({TIME: point[TIME], **{names[s]: values.get(s) for s in given}})
    return records, (
        f"read as a CloudWatch get-metric-statistics answer: {label!r}, "
        f"{', '.join(given) or 'no statistic'}"
    )


def _metric_data(results: list[Any]) -> tuple[list[dict[str, Any]], str]:
    if not results:
        raise InvalidInput("the CloudWatch answer holds no MetricDataResults", field="file")
    rows: dict[str, dict[str, Any]] = {}
    names: list[str] = []
    partial: list[str] = []
    for number, result in enumerate(results, start=1):
        if not isinstance(result, dict):
            raise InvalidInput(f"MetricDataResults entry {number} is not an object", field="file")
        name = str(result.get("Label") or result.get("Id") or f"metric {number}")
        name = name if name not in names else f"{name} ({number})"
        times, values = result.get("Timestamps"), result.get("Values")
        if not isinstance(times, list) or not isinstance(values, list) or len(times) != len(values):
            raise InvalidInput(
                f"MetricDataResults entry {number} ({name}): expected lists of Timestamps and "
                "Values of one length",
                field="file",
            )
        names.append(name)
        if result.get("StatusCode") not in (None, "Complete"):
            partial.append(f"{name!r} ({result['StatusCode']})")
        for when, value in zip(times, values, strict=True):
            rows.setdefault(str(when), {})[name] = value
    records = [{TIME: when, **fields} for when, fields in sorted(rows.items())]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    note = f"read as a CloudWatch get-metric-data answer: {len(names)} series ({shown})"
    if partial:
        note += (
            f"; incomplete: {', '.join(partial)}: CloudWatch returned part of the range, the "
            "rest comes with the answer's NextToken"
        )
    return records, note


def _unit(unit: Any) -> str | None:
    if unit is None:
        return None
    return UNITS.get(str(unit), str(unit))


def _header(name: str, unit: str | None) -> str:
    return f"{name} [{unit}]" if unit else name
