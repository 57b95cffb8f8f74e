"""A SQL query's answer as a file to import: where a data engineer's readings already live
(PostgreSQL, TimescaleDB, SQLite, any database SQLAlchemy has a driver for), ``gapcast import
--sql 'SELECT ...' --from URL`` reads them without an export step.

The rows are fetched in chunks (the point limit stops the fetch, not memory) and handed to the
file reader as Parquet, which keeps what the database said of each column: a ``timestamptz``
stays an instant, a ``timestamp`` without a zone stays a wall-clock time (read in ``--timezone``,
else UTC), NUMERIC becomes a float. Everything after that is the import of a file: the time
column found by name, long format, missing markers, limits and refusals.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pandas as pd

from gapcast.errors import InvalidInput, TooLarge

CHUNK_ROWS = 100_000


def query_parquet(url: str, sql: str, max_points: int | None = None) -> bytes:
    """The answer to ``sql`` on the database at ``url`` as Parquet bytes; refusals name what
    failed (the URL, the driver, the database's own message) with ``field`` ``sql``."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    from gapcast.db.session import normalise_url

    if not sql.strip():
        raise InvalidInput("--sql: the query is empty", field="sql")
    try:
        # Plain postgresql:// URLs get psycopg 3, as gapcast's own database URL does.
        shown = make_url(url).render_as_string(hide_password=True)
        engine = create_engine(normalise_url(url))
    except (ArgumentError, NoSuchModuleError) as exc:
        raise InvalidInput(
            f"--from: {url if '@' not in url else 'the URL'} is not a database URL SQLAlchemy "
            "can open (e.g. postgresql://user@host/db or sqlite:///readings.db)",
            field="from",
        ) from exc
    except ImportError as exc:  # the dialect is known, its driver not installed
        raise InvalidInput(
            f"--from: the driver for {shown} is not installed ({exc.name}): install it into "
            "gapcast's environment",
            field="from",
        ) from exc
    chunks: list[pd.DataFrame] = []
    cells = 0
    try:
        try:
            conn = engine.connect()
        except SQLAlchemyError as exc:
            raise InvalidInput(
                f"--from: cannot connect to {shown}: {_reason(exc)}", field="from"
            ) from exc
        with conn:
            for chunk in pd.read_sql_query(text(sql), conn, chunksize=CHUNK_ROWS):
                chunks.append(chunk)
                cells += chunk.size - len(chunk)  # every column but the time
                if max_points is not None and cells > max_points:
                    raise TooLarge(
                        f"the query returns over {max_points:,} points, the limit "
                        "(GAPCAST_MAX_POINTS_PER_DATASET): narrow it (a WHERE on the time, "
                        "fewer columns) or import it in parts with --append",
                        field="sql",
                    )
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        raise InvalidInput(
            f"--sql: the database refused the query: {_reason(exc)}", field="sql"
        ) from exc
    finally:
        engine.dispose()
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    if frame.empty:
        raise InvalidInput("--sql: the query returned no rows", field="sql")
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = pd.to_numeric(frame[column].map(_decimal_float))
    import pyarrow as pa

    out = io.BytesIO()
    try:
        frame.to_parquet(out, index=False)
    except (pa.ArrowException, ValueError) as exc:
        raise InvalidInput(
            f"--sql: a column of the answer mixes kinds of values ({exc}); CAST it in the query",
            field="sql",
        ) from exc
    return out.getvalue()


def _reason(exc: BaseException) -> str:
    """The database's own words: the driver's error under pandas' and SQLAlchemy's wrappers,
    its first line and its hint (PostgreSQL's 'Perhaps you meant ...')."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    hints = [line for line in lines[1:] if line.startswith("HINT:")]
    return "; ".join(lines[:1] + hints) or type(exc).__name__


def _decimal_float(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else value
