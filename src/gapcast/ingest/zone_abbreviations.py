"""Times written with a time zone's abbreviation (``2024-03-31 01:00:00 CET``, ``... PDT``), as
European loggers, SCADA exports and US utilities write them. An abbreviation with one meaning is
read as its UTC offset; one with several (CST: US Central or China) is read in the zone given
with ``--timezone``, whose own abbreviations (CET and CEST in Europe/Berlin) also tell which of a
repeated hour is meant.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.ingest.common import FileKind, rows_refused

# At most this many distinct line endings are looked at for an abbreviation (a column of times
# has a few hundred: seconds and abbreviations), so a column of text costs no regex per row.
_MOST_ENDINGS = 10_000
_ZONE = re.compile(r"(?<![A-Za-z])[A-Z]{2,5}$")


def _trailing_zones(text: pd.Series) -> pd.Series:
    """The capitals ending each value (its zone abbreviation), NaN where there are none: found
    among the values' distinct last six characters, not value by value."""
    endings = text.str.slice(-6)
    distinct = endings.unique()
    if len(distinct) > _MOST_ENDINGS:
        return pd.Series(np.nan, index=text.index, dtype=object)
    found = {e: m.group(0) for e in distinct if isinstance(e, str) and (m := _ZONE.search(e))}
    return endings.map(found)


# UTC offsets of abbreviations with one meaning (the IANA database's names, and the German
# MEZ/MESZ German loggers write).
OFFSETS = {
    **{"UTC": "+00:00", "GMT": "+00:00", "UT": "+00:00", "WET": "+00:00", "WEST": "+01:00"},
    **{"CET": "+01:00", "CEST": "+02:00", "MEZ": "+01:00", "MESZ": "+02:00", "EET": "+02:00"},
    **{"EEST": "+03:00", "MSK": "+03:00", "SAST": "+02:00", "EST": "-05:00", "EDT": "-04:00"},
    **{"CDT": "-05:00", "MST": "-07:00", "MDT": "-06:00", "PST": "-08:00", "PDT": "-07:00"},
    **{"AKST": "-09:00", "AKDT": "-08:00", "HST": "-10:00", "JST": "+09:00", "KST": "+09:00"},
    **{"HKT": "+08:00", "SGT": "+08:00", "AWST": "+08:00", "ACST": "+09:30", "ACDT": "+10:30"},
    **{"AEST": "+10:00", "AEDT": "+11:00", "NZST": "+12:00", "NZDT": "+13:00"},
}
AMBIGUOUS = {
    "CST": "US Central -06:00 or China +08:00",
    "IST": "India +05:30, Irish Standard +01:00 or Israel +02:00",
    "BST": "British Summer +01:00 or Bangladesh +06:00",
    "AST": "Atlantic -04:00 or Arabia +03:00",
}


def read_abbreviated(
    text: pd.Series,
    parsed: pd.Series,
    timezone: str | None,
    column: pd.Series,
    name: str,
    kind: FileKind,
) -> tuple[pd.Series, NDArray[np.bool_], list[str]]:
    """``parsed`` (UTC, NaT where ISO 8601 did not read) with its rows that end in a time zone
    abbreviation read, which rows those were and the abbreviations read. An abbreviation that
    cannot be read refuses its rows by line, naming it and the option that reads it."""
    unread = np.flatnonzero(parsed.isna().to_numpy())
    zones = _trailing_zones(text.iloc[unread])
    done = np.zeros(len(text), dtype=bool)
    out = parsed.copy()
    for zone in zones.dropna().unique():
        at = (zones == zone).to_numpy()
        wall = text.iloc[unread[at]].str.slice(0, -len(zone)).str.strip()
        times = pd.to_datetime(wall, format="ISO8601", errors="coerce")
        # '2024-01-01 SOON' is no time: a time of day comes before the abbreviation.
        read = (times.notna() & wall.str.contains(":", regex=False)).to_numpy()
        if not read.any():
            continue
        rows = unread[at][read]
        utc = _in_zone(times[read], zone, timezone) if timezone else None
        if utc is None or utc.isna().any():
            fixed = _fixed(times[read], zone, timezone, column, rows, name, kind, utc)
            utc = fixed if utc is None else utc.fillna(fixed)
        out.iloc[rows] = utc.array
        done[rows] = True
    return out, done, sorted(set(zones[done[unread]]))


def _in_zone(times: pd.Series, zone: str, timezone: str) -> pd.Series:
    """``times`` (wall clock) in ``timezone`` where ``zone`` is its abbreviation at that time:
    of the two readings of a repeated hour, the one the abbreviation names; NaT elsewhere."""
    out = pd.Series(pd.NaT, index=times.index, dtype="datetime64[ns, UTC]")
    for summer in (True, False):
        local = times.dt.tz_localize(
            timezone, ambiguous=np.full(len(times), summer), nonexistent="NaT"
        )
        named = _abbreviations(local) == zone
        out[named & out.isna()] = local[named].dt.tz_convert("UTC")
    return out


def _abbreviations(local: pd.Series) -> pd.Series:
    """Each localized time's zone abbreviation, looked up once per distinct UTC offset (a zone
    has a handful), not formatted row by row."""
    offsets = (local.dt.tz_localize(None) - local.dt.tz_convert(None)).dropna()
    names = pd.Series("", index=local.index, dtype=object)
    for offset in offsets.unique():
        at = offsets.index[offsets == offset]
        names[at] = local[at[0]].strftime("%Z")
    return names


def _fixed(
    times: pd.Series,
    zone: str,
    timezone: str | None,
    column: pd.Series,
    rows: NDArray[np.intp],
    name: str,
    kind: FileKind,
    in_zone: pd.Series | None,
) -> pd.Series:
    """``times`` at the one UTC offset ``zone`` names, refused by row when it names none or
    several."""
    offset = OFFSETS.get(zone)
    if offset is None:
        bad = rows if in_zone is None else rows[in_zone.isna().to_numpy()]
        if timezone:
            what = f"{{n}} time(s) written in {zone}, which is not {timezone}'s name at that time"
            hint = "; write them with their UTC offset, or give the zone they are in"
        elif zone in AMBIGUOUS:
            what = f"{{n}} time(s) in {zone}, which names several zones ({AMBIGUOUS[zone]})"
            hint = "; give the zone they are in with timezone (--timezone America/Chicago)"
        else:
            what = f"{{n}} time(s) in {zone!r}, a time zone abbreviation gapcast does not know"
            hint = "; give the zone they are in with timezone (--timezone Europe/Berlin)"
        raise rows_refused(
            column,
            bad,
            kind,
            f"timestamp column {name!r}: {what.format(n=len(bad))}",
            field="timestamp_column",
            after=f" (first: {str(column.iloc[int(bad[0])])!r}){hint}",
        )
    hours, minutes = int(offset[1:3]), int(offset[4:])
    shift = pd.Timedelta(hours=hours, minutes=minutes) * (1 if offset[0] == "+" else -1)
    return (times - shift).dt.tz_localize("UTC")
