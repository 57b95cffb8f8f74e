"""Home Assistant's history export (the History panel's "Download data"): one row per state
change, ``entity_id,state,last_changed``, times in UTC. Read as the long format it is — a series
per entity — without being told its columns, with Home Assistant's words for "no reading"
(``unavailable``, ``unknown``) read as missing (and stored as no-reading marks, where holding a
reading stops: ``tables.no_readings``), and the entities whose states are not numbers
(a door's ``on``/``off``, a mode's name) left out: they have nothing to forecast. The REST API's
answer (``/api/history/period``: an array of state changes per entity) reads as those rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gapcast.errors import InvalidInput

# The columns the export writes; a recorder dump may add the time of the last attribute change.
SERIES = "entity_id"
STATE = "state"
TIMES = ("last_changed", "last_updated")
# What Home Assistant records when an integration has no reading: an outage, not a value.
NO_READING = ("unavailable", "unknown")
MAX_LISTED = 5


def home_assistant_history(df: pd.DataFrame) -> tuple[pd.DataFrame, str, str, str] | None:
    """``(rows, time column, series column, note)`` when ``df`` is Home Assistant's history
    export, its rows of entities without a numeric state left out; else None."""
    names = {str(c).strip().lower(): c for c in df.columns}
    if not ({SERIES, STATE} <= set(names) and set(names) - {SERIES, STATE} <= set(TIMES)):
        return None
    time = next((names[t] for t in TIMES if t in names), None)
    if time is None:
        return None
    entity, state = names[SERIES], names[STATE]
    numeric = pd.to_numeric(df[state].astype(str).str.strip(), errors="coerce").notna()
    has_number = numeric.groupby(df[entity], sort=False).any()  # in the file's order
    textual = [str(e) for e in has_number.index[~has_number.to_numpy()]]
    note = (
        f"a Home Assistant history export: a series per {entity!r}, times from {time!r}, "
        f"states {' and '.join(map(repr, NO_READING))} read as missing"
    )
    if textual:
        listed = ", ".join(map(repr, textual[:MAX_LISTED]))
        listed += f" and {len(textual) - MAX_LISTED} more" if len(textual) > MAX_LISTED else ""
        note += f"; entities without a numeric state left out: {listed}"
        df = df[~df[entity].astype(str).isin(textual)]
        if df.empty:
            raise InvalidInput(
                f"a Home Assistant history export without one numeric state: {listed} (a "
                "forecast needs a sensor that reports numbers)",
                field="file",
            )
    if longest := _longest_outage(df, entity, state, time):
        # Kept as "no reading" marks, where a resample holding each reading stops: the user
        # sees the outages the file reports, and how long they get.
        note += f"; the longest spell without a reading: {longest}"
    return df, str(time), str(entity), note


def _longest_outage(df: pd.DataFrame, entity: str, state: str, time: str) -> str | None:
    """'3h (sensor.kitchen, from 2024-11-01 02:00 UTC)': the longest time from a no-reading state
    to the entity's next reading (None when there is none, or its times do not read as ISO)."""
    from gapcast.processing._time import format_duration

    when = pd.to_datetime(df[time].astype(str), utc=True, format="ISO8601", errors="coerce")
    if when.isna().any():
        return None
    marked = df[state].astype(str).str.strip().str.lower().isin(NO_READING)
    best: tuple[pd.Timedelta, str, pd.Timestamp] | None = None
    ordered = df.assign(_when=when, _marked=marked).sort_values("_when", kind="stable")
    for name, rows in ordered.groupby(entity, sort=False):
        # A spell starts at a mark after a reading and ends at the next reading.
        starts = rows["_marked"] & ~rows["_marked"].shift(fill_value=False)
        until = rows["_when"].where(~rows["_marked"]).bfill()
        for start, end in zip(rows["_when"][starts], until[starts], strict=True):
            if pd.notna(end) and (best is None or end - start > best[0]):
                best = (end - start, str(name), start)
    if best is None:
        return None
    span, name, start = best
    span = span.round("min" if span >= pd.Timedelta(minutes=1) else "s")
    return f"{format_duration(int(span.value))} ({name}, from {start:%Y-%m-%d %H:%M} UTC)"


def rest_history_records(doc: Any) -> list[dict[str, Any]] | None:
    """The export's rows from the REST API's history answer: an array per entity of its state
    changes (with ``minimal_response``, only each array's first names its entity); None for any
    other JSON document."""
    if not (
        isinstance(doc, list)
        and doc
        and all(isinstance(changes, list) and changes for changes in doc)
        and all(
            isinstance(changes[0], dict) and SERIES in changes[0] and STATE in changes[0]
            for changes in doc
        )
    ):
        return None
    rows = []
    for changes in doc:
        entity = changes[0][SERIES]
        for change in changes:
            if not isinstance(change, dict):
                return None
            rows.append({SERIES: entity, STATE: change.get(STATE), TIMES[0]: change.get(TIMES[0])})
    return rows
