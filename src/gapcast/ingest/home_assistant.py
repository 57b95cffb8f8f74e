"""Home Assistant's history export (the History panel's "Download data"): one row per state
change, ``entity_id,state,last_changed``, times in UTC. Read as the long format it is — a series
per entity — without being told its columns, with Home Assistant's words for "no reading"
(``unavailable``, ``unknown``) read as missing, and the entities whose states are not numbers
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
    return df, str(time), str(entity), note


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
