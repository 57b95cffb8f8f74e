"""Import then load back 1,000,000 points on SQLite and PostgreSQL, against bare references.

References, measured in the same run on the same rows:
- PostgreSQL import: a raw ``COPY points FROM STDIN`` of a prepared CSV buffer through psycopg;
  load: a raw ``COPY (SELECT ...) TO STDOUT`` through psycopg (bytes only, no parsing).
- SQLite import: a bare ``sqlite3`` ``executemany`` of prepared tuples; load: a bare ``sqlite3``
  ``SELECT`` into numpy.

Usage: .venv/bin/python bench/db_load.py [--points 1000000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import psycopg
from sqlalchemy import text

from gapcast.db import repository
from gapcast.db.migrate import upgrade
from gapcast.db.session import make_engine, make_sessionmaker, transaction
from gapcast.ingest import ParsedTable, read_table


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def make_table(n: int) -> tuple[ParsedTable, bytes]:
    rng = np.random.default_rng(0)
    ts = pd.Timestamp("2020-01-01", tz="UTC").value + np.arange(n, dtype=np.int64) * 60 * 10**9
    values = rng.normal(size=(1, n)).round(6)
    csv = pd.DataFrame({"timestamp": pd.to_datetime(ts, utc=True), "v": values[0]}).to_csv(
        index=False
    )
    table = ParsedTable(timestamps_ns=ts, channels=["v"], units=[None], values=values, source="b")
    return table, csv.encode()


def ours(url: str, table: ParsedTable) -> tuple[float, float]:
    engine = make_engine(url)
    upgrade(url, engine=engine)
    sessions = make_sessionmaker(engine)

    def do_import() -> None:
        with transaction(sessions) as s:
            repository.import_dataset(s, table=table, name="bench", replace=True)

    import_s = timed(do_import)

    def do_load() -> None:
        with sessions() as s:
            arrays = repository.load_dataset_arrays(s, repository.get_dataset(s, "bench"))
            assert arrays.values.shape[1] == table.values.shape[1]

    load_s = timed(do_load)
    engine.dispose()
    return import_s, load_s


def sqlite_reference(path: Path, table: ParsedTable) -> tuple[float, float]:
    n = len(table.timestamps_ns)
    rows = list(zip([1] * n, table.timestamps_ns.tolist(), table.values[0].tolist(), strict=True))
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE ref (series_id INT, ts INT, value REAL, PRIMARY KEY (series_id, ts))"
        " WITHOUT ROWID"
    )

    def do_import() -> None:
        with con:
            con.execute("DELETE FROM ref")
            con.executemany("INSERT INTO ref VALUES (?, ?, ?)", rows)

    def do_load() -> None:
        cur = con.execute("SELECT ts, value FROM ref WHERE series_id = 1 ORDER BY ts")
        arr = np.array(cur.fetchall(), dtype=np.float64)
        assert len(arr) == len(rows)

    result = timed(do_import), timed(do_load)
    con.close()
    return result


def postgres_reference(url: str, table: ParsedTable) -> tuple[float, float]:
    buf = io.StringIO()
    stamps = pd.to_datetime(table.timestamps_ns, utc=True).strftime("%Y-%m-%d %H:%M:%S+00")
    pd.DataFrame({"s": 1, "ts": stamps, "v": table.values[0]}).to_csv(
        buf, index=False, header=False
    )
    payload = buf.getvalue().encode()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as con:
        con.execute(
            "CREATE TABLE ref (series_id int, ts timestamptz, value float8,"
            " PRIMARY KEY (series_id, ts))"
        )
        con.commit()

        def do_import() -> None:
            with con.transaction():
                con.execute("TRUNCATE ref")
                with con.cursor().copy("COPY ref FROM STDIN (FORMAT CSV)") as copy:
                    copy.write(payload)

        def do_load() -> None:
            with con.cursor().copy(
                "COPY (SELECT ts, value FROM ref WHERE series_id = 1 ORDER BY ts)"
                " TO STDOUT (FORMAT BINARY)"
            ) as copy:
                size = sum(len(chunk) for chunk in copy)
            assert size > 0

        return timed(do_import), timed(do_load)


def report(
    label: str, n: int, ours_s: tuple[float, float], ref_s: tuple[float, float], ref: str
) -> None:
    for what, mine, theirs in (("import", ours_s[0], ref_s[0]), ("load", ours_s[1], ref_s[1])):
        print(
            f"{label:<10} {what:<6} gapcast {n / mine:>12,.0f} rows/s ({mine:.3f} s)  "
            f"{ref} {n / theirs:>12,.0f} rows/s ({theirs:.3f} s)  ratio {mine / theirs:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    table, csv = make_table(args.points)
    parse_s = timed(lambda: read_table(csv, filename="bench.csv"), repeat=1)
    print(
        f"CSV parse+validate: {args.points / parse_s:,.0f} rows/s "
        f"({parse_s:.2f} s, {len(csv) / 1e6:.0f} MB)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        mine = ours(f"sqlite:///{tmp}/ours.db", table)
        ref = sqlite_reference(Path(tmp) / "ref.db", table)
        report("SQLite", args.points, mine, ref, "sqlite3")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.postgres)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = f"{args.postgres}?options={quote(f'-csearch_path={schema}')}"
        mine = ours(url, table)
        ref = postgres_reference(url, table)
        report("PostgreSQL", args.points, mine, ref, "psql COPY")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


if __name__ == "__main__":
    main()
