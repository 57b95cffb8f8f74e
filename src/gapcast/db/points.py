"""Bulk movement of data points between numpy arrays and the ``points`` table.

This is the hot path of import and of every training run, so it bypasses the ORM: PostgreSQL gets
binary ``COPY`` buffers built and parsed by numpy (no Python object per row), SQLite gets one
``executemany`` in the caller's transaction and a ``fromiter`` read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

# PostgreSQL stores timestamptz as microseconds since 2000-01-01 UTC.
_PG_EPOCH_US = 946_684_800 * 1_000_000
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PG_COPY_TRAILER = b"\xff\xff"

_IMPORT_ROW = np.dtype(
    [
        ("nfields", ">i2"),
        ("len_sid", ">i4"),
        ("sid", ">i4"),
        ("len_ts", ">i4"),
        ("ts", ">i8"),
        ("len_v", ">i4"),
        ("v", ">f8"),
    ]
)
_LOAD_ROW = np.dtype(
    [("nfields", ">i2"), ("len_ts", ">i4"), ("ts", ">i8"), ("len_v", ">i4"), ("v", ">f8")]
)
_SQLITE_ROW = np.dtype([("ts", "<i8"), ("v", "<f8")])


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_datetime(ns: int) -> datetime:
    """Nanoseconds since the epoch as a UTC datetime, exact to the microsecond (a float of
    seconds is not, for today's times)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def db_time(conn: Connection, ns: int) -> int | datetime:
    """A point's time as its column stores it: integer nanoseconds on SQLite, an aware datetime
    (microseconds) for PostgreSQL's timestamptz."""
    return ns if conn.dialect.name == "sqlite" else utc_datetime(ns)


def _driver(conn: Connection) -> Any:
    return conn.connection.driver_connection


def insert_points(
    conn: Connection, series_id: int, timestamps_ns: NDArray[np.int64], values: NDArray[np.float64]
) -> None:
    """Insert one series' points inside the caller's transaction (all or nothing)."""
    if len(timestamps_ns) == 0:
        return
    if conn.dialect.name == "postgresql":
        _pg_copy_in(conn, series_id, timestamps_ns, values)
    else:
        rows = zip([series_id] * len(values), timestamps_ns.tolist(), values.tolist(), strict=True)
        _driver(conn).cursor().executemany(
            "INSERT INTO points (series_id, ts, value) VALUES (?, ?, ?)", rows
        )


def _pg_copy_in(
    conn: Connection, series_id: int, timestamps_ns: NDArray[np.int64], values: NDArray[np.float64]
) -> None:
    rows = np.empty(len(values), dtype=_IMPORT_ROW)
    rows["nfields"] = 3
    rows["len_sid"] = 4
    rows["sid"] = series_id
    rows["len_ts"] = 8
    rows["ts"] = timestamps_ns // 1000 - _PG_EPOCH_US
    rows["len_v"] = 8
    rows["v"] = values
    cursor = _driver(conn).cursor()
    with cursor.copy("COPY points (series_id, ts, value) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_PG_COPY_HEADER)
        # Chunks keep the driver's buffer small on million-row imports.
        step = 1 << 18
        for start in range(0, len(rows), step):
            copy.write(rows[start : start + step].tobytes())
        copy.write(_PG_COPY_TRAILER)


def load_points(conn: Connection, series_id: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """One series' points ordered by time: (int64 UTC ns, float64)."""
    if conn.dialect.name == "postgresql":
        return _pg_copy_out(conn, series_id)
    cursor = _driver(conn).cursor()
    cursor.execute("SELECT ts, value FROM points WHERE series_id = ? ORDER BY ts", (series_id,))
    rows = np.fromiter(cursor, dtype=_SQLITE_ROW)
    return rows["ts"].astype(np.int64), rows["v"].astype(np.float64)


def _pg_copy_out(conn: Connection, series_id: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    cursor = _driver(conn).cursor()
    query = (
        "COPY (SELECT ts, value FROM points WHERE series_id = %s ORDER BY ts) "
        "TO STDOUT (FORMAT BINARY)"
    )
    with cursor.copy(query, (series_id,)) as copy:
        buffer = b"".join(bytes(chunk) for chunk in copy)
    header = len(_PG_COPY_HEADER)
    count = (len(buffer) - header - len(_PG_COPY_TRAILER)) // _LOAD_ROW.itemsize
    rows = np.frombuffer(buffer, dtype=_LOAD_ROW, count=count, offset=header)
    timestamps = (rows["ts"].astype(np.int64) + _PG_EPOCH_US) * 1000
    return timestamps, rows["v"].astype(np.float64)


# --- no-reading marks: few per series (an outage's start), so plain SQL, not COPY ------------


def insert_marks(conn: Connection, series_id: int, timestamps_ns: NDArray[np.int64]) -> None:
    """Store the times a file said ``series_id`` had no reading (see ``tables.no_readings``)."""
    from gapcast.db.tables import no_readings

    if len(timestamps_ns) == 0:
        return
    times = [db_time(conn, int(t)) for t in timestamps_ns]
    conn.execute(no_readings.insert(), [{"series_id": series_id, "ts": t} for t in times])


def load_marks(conn: Connection, series_id: int) -> NDArray[np.int64]:
    """One series' no-reading marks, ordered, as int64 UTC nanoseconds."""
    from sqlalchemy import select

    from gapcast.db.tables import no_readings

    query = (
        select(no_readings.c.ts)
        .where(no_readings.c.series_id == series_id)
        .order_by(no_readings.c.ts)
    )
    return np.array([time_ns(t) for t in conn.execute(query).scalars()], dtype=np.int64)


def delete_marks(conn: Connection, series_ids: list[int], since_ns: int | None = None) -> None:
    """Remove the marks of ``series_ids`` (from ``since_ns`` on, when given)."""
    from sqlalchemy import delete

    from gapcast.db.tables import no_readings

    if not series_ids:
        return
    query = delete(no_readings).where(no_readings.c.series_id.in_(series_ids))
    if since_ns is not None:
        query = query.where(no_readings.c.ts >= db_time(conn, since_ns))
    conn.execute(query)


def time_ns(value: int | datetime) -> int:
    """A stored time (SQLite's integer nanoseconds, a datetime) as nanoseconds since the epoch:
    the inverse of :func:`utc_datetime`."""
    if isinstance(value, int):
        return value
    return int((value - _EPOCH) // timedelta(microseconds=1)) * 1000
