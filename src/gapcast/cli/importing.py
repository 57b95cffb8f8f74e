"""``gapcast import``: files, folders of them or a query's answer into a dataset, in the
configured database or a running server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from gapcast.cli.common import (
    DbOption,
    JsonOption,
    ServerOption,
    TokenOption,
    console,
    database,
    handle_errors,
)
from gapcast.cli.common import settings as load_settings
from gapcast.cli.data import dataset_row, freq_text
from gapcast.cli.file_options import (
    ColumnsOption,
    CounterOption,
    DecimalOption,
    EncodingOption,
    MissingOption,
    SeriesColumnOption,
    SheetOption,
    TimeFormatOption,
    TimestampColumnOption,
    TimezoneOption,
    decimal_mark,
    on_duplicate_value,
    print_notes,
)
from gapcast.cli.output import print_json
from gapcast.db import repository
from gapcast.db.append import append_to_dataset, reading_zone
from gapcast.db.session import transaction
from gapcast.ingest import DecimalMark, file_stem, read_file


@handle_errors
def import_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="CSV, .xlsx, Parquet or JSON file; several (a logger's daily files), or a "
            "folder of them, make one dataset",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Dataset name (default: file stem)")
    ] = None,
    timestamp_column: TimestampColumnOption = None,
    on_duplicate: Annotated[
        str, typer.Option(help="What to do with repeated timestamps: error, mean or last")
    ] = "error",
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite a dataset of that name")
    ] = False,
    append: Annotated[
        bool,
        typer.Option(
            "--append",
            help="Add the file's points to the dataset of that name (a newer export; times "
            "already stored with the same value are kept once)",
        ),
    ] = False,
    decimal: DecimalOption = ".",
    time_format: TimeFormatOption = None,
    timezone: TimezoneOption = None,
    series_column: SeriesColumnOption = None,
    columns: ColumnsOption = None,
    encoding: EncodingOption = "utf-8",
    missing: MissingOption = None,
    counter: CounterOption = None,
    sheet: SheetOption = None,
    sql: Annotated[
        str | None,
        typer.Option(
            "--sql",
            help="Import a query's answer instead of a file, e.g. \"SELECT time, temp FROM "
            "readings WHERE time > now() - interval '90 days'\" (with --from)",
        ),
    ] = None,
    source_db: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="The database URL --sql runs on, e.g. postgresql://user@host/db",
            show_default=False,
        ),
    ] = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a CSV, .xlsx, Parquet or JSON file as a dataset, one series per value column.

    Several files (a logger's daily exports) make one dataset, as if appended one after the
    other: all are read first, and stored together or not at all. Into the configured database
    or, with --server, into a running server (file after file). With --sql and --from, a
    query's answer is read as a file would be."""
    with _query_file(sql, source_db, files, name, db) as queried:
        _import(
            queried or files or [],
            name=name,
            timestamp_column=timestamp_column,
            on_duplicate=on_duplicate,
            replace=replace,
            append=append,
            decimal=decimal,
            time_format=time_format,
            timezone=timezone,
            series_column=series_column,
            columns=columns,
            encoding=encoding,
            missing=missing,
            counter=counter,
            sheet=sheet,
            server=server,
            token=token,
            db=db,
            as_json=as_json,
        )


# What a folder's files are read as; other files in it (a README, a log) are left out.
DATA_SUFFIXES = (
    *(".csv", ".tsv", ".dat", ".txt"),
    *(".parquet", ".pq", ".xlsx", ".xlsm"),
    *(".json", ".jsonl", ".ndjson"),
)


def folder_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """The files to read: each folder given as its data files in name order (a logger's daily
    exports, named by date), not its subfolders; and a note per folder. A folder without one
    is refused, naming the kinds it looked for."""
    from gapcast.errors import InvalidInput

    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        data = [p for p in inside if _data_suffix(p.name)]
        if not data:
            raise InvalidInput(
                f"folder {path} holds no data file ({', '.join(DATA_SUFFIXES)}, or one of them "
                "gzipped)",
                field="file",
            )
        files += data
        other = [p.name for p in inside if p not in data]
        note = f"folder {path.name}: {len(data)} file(s) read, in name order"
        if other:
            listed = ", ".join(other[:3]) + (
                f" and {len(other) - 3} more" if len(other) > 3 else ""
            )
            note += f"; left out: {listed}"
        notes.append(note)
    return files, notes


def _data_suffix(name: str) -> bool:
    lower = name.lower().removesuffix(".gz")
    return lower.endswith(DATA_SUFFIXES)


@contextmanager
def _query_file(
    sql: str | None,
    source_db: str | None,
    files: list[Path] | None,
    name: str | None,
    db: str | None,
) -> Iterator[list[Path] | None]:
    """With --sql, the query's answer as a Parquet file in a temporary directory (what the
    import and an upload to a server read), named after the dataset; else None."""
    import tempfile

    from gapcast.errors import InvalidInput
    from gapcast.ingest.sql_query import query_parquet

    if sql is None:
        if source_db is not None:
            raise InvalidInput("--from names the database --sql runs on: give --sql", field="sql")
        if not files:
            raise InvalidInput("give a file to import, or --sql and --from", field="file")
        yield None
        return
    if files:
        raise InvalidInput("--sql imports a query's answer: give it without files", field="sql")
    if source_db is None:
        raise InvalidInput("--sql needs --from, the URL of the database it runs on", field="from")
    if not name:
        raise InvalidInput("a query's answer needs a dataset name: --name", field="name")
    data = query_parquet(source_db, sql, load_settings(db).max_points_per_dataset)
    with tempfile.TemporaryDirectory(prefix="gapcast-sql-") as folder:
        path = Path(folder) / f"{file_stem(name)}.parquet"
        path.write_bytes(data)
        yield [path]


def _import(
    files: list[Path],
    *,
    name: str | None,
    timestamp_column: str | None,
    on_duplicate: str,
    replace: bool,
    append: bool,
    decimal: str,
    time_format: str | None,
    timezone: str | None,
    series_column: str | None,
    columns: str | None,
    encoding: str,
    missing: str | None,
    counter: str | None,
    sheet: str | None,
    server: str | None,
    token: str | None,
    db: str | None,
    as_json: bool,
) -> None:
    from gapcast.errors import InvalidInput

    if on_duplicate not in ("error", "mean", "last"):
        raise InvalidInput(
            f"--on-duplicate: expected error, mean or last, received {on_duplicate!r}",
            field="on_duplicate",
        )
    if append and replace:
        raise InvalidInput("--append and --replace exclude each other: choose one", field="append")
    files, found = folder_files(files)
    if found and len(files) > 1 and not name and len({f.parent for f in files}) == 1:
        name = files[0].parent.name  # a folder of a logger's exports: named after the folder
    if len(files) > 1 and not name:
        raise InvalidInput(
            f"{len(files)} files make one dataset: name it with --name", field="name"
        )
    mark = decimal_mark(decimal)
    chosen = columns.split(",") if columns else None
    markers = missing.split(",") if missing else []
    totals = counter.split(",") if counter else []
    cfg = load_settings(db)
    # How each file is read, the same here and on a server.
    reading: dict[str, Any] = {
        "decimal": mark,
        "time_format": time_format,
        "timezone": timezone,
        "series_column": series_column,
        "columns": chosen,
        "encoding": encoding,
        "missing": markers,
        "counter": totals,
        "sheet": sheet,
    }
    if server:
        notes: list[str] = list(found)
        for i, file in enumerate(files):
            with _naming(file, len(files)):
                row = upload(
                    file,
                    server,
                    token or cfg.api_token,
                    name,
                    timestamp_column,
                    on_duplicate,
                    replace and i == 0,
                    append=append or i > 0,
                    as_json=as_json,
                    quiet=as_json and len(files) > 1,
                    **reading,
                )
            notes += [f"{file.name}: {n}" for n in row.get("notes") or []]
        if as_json and len(files) > 1:
            print_json({**row, "notes": notes, "files": len(files)})
        return
    zoned: list[str] = []
    if append and timezone is None:
        # A newer export of the same logger: read in the zone the dataset was imported in.
        with database(cfg.database_url) as sessions, sessions() as session:
            zone, note = reading_zone(session, name or file_stem(files[0].name), None)
        if zone is not None and note is not None:
            reading["timezone"], zoned = zone, [note]
    tables = []
    for file in files:
        with _naming(file, len(files)):
            tables.append(
                read_file(
                    file,
                    timestamp_column=timestamp_column,
                    on_duplicate=on_duplicate_value(on_duplicate),
                    max_bytes=cfg.max_upload_bytes,
                    max_points=cfg.max_points_per_dataset,
                    **reading,
                )
            )
    several = len(files) > 1
    notes = (
        found
        + zoned
        + [
            f"{f.name}: {n}" if several else n
            for f, t in zip(files, tables, strict=True)
            for n in t.notes
        ]
    )
    with database(cfg.database_url) as sessions, transaction(sessions) as session:
        target = name or file_stem(files[0].name)
        # Stored oldest first, whatever order the shell listed them in: a running total's
        # increase at each file's first reading is measured from the file before (append).
        by_time = sorted(
            zip(files, tables, strict=True), key=lambda ft: int(ft[1].timestamps_ns[0])
        )
        for i, (file, table) in enumerate(by_time):
            with _naming(file, len(files)):
                if append or i > 0:
                    appended = append_to_dataset(
                        session,
                        table=table,
                        name=target,
                        on_duplicate=on_duplicate_value(on_duplicate),
                        max_points=cfg.max_points_per_dataset,
                    )
                    dataset = appended.dataset
                    if append or appended.same or appended.merged or appended.continued:
                        said = appended.note
                        notes.append(f"{file.name}: {said}" if several else said)
                else:
                    dataset = repository.import_dataset(
                        session, table=table, name=target, replace=replace
                    )
        row = dataset_row(dataset)
        n_series = len(dataset.series)
        dataset_id = dataset.id
    missing_cells = _summed(t.missing_cells for t in tables)
    row["missing_cells"] = missing_cells
    row["duplicates_merged"] = sum(t.duplicates_merged for t in tables)
    row["notes"] = notes
    if several:
        row["files"] = len(files)
    if as_json:
        print_json(row)
        return
    read = f" from {len(files)} files" if several else ""
    console.print(
        f"{'appended to' if append else 'imported'} [bold]{escape(str(row['name']))}[/]{read} "
        f"(id {row['id']}): {row['points']:,} points in {n_series} series, "
        f"frequency {freq_text(row['frequency'])}, "
        f"{sum(missing_cells.values()):,} empty cells skipped"
    )
    with database(cfg.database_url) as sessions, sessions() as session:
        from gapcast.processing.dataset_gaps import gap_summary

        print_gaps(gap_summary(repository.load_dataset_frame(session, dataset_id)))
    print_notes(notes)


def print_gaps(summary: dict[str, Any] | None) -> None:
    """The dataset's gaps as the page counts them (each series on its own step), the first
    thing a user of outage-ridden data wants to see after an import."""
    if summary is None:
        return
    if not summary["n_gaps"]:
        console.print("gaps: none, every step observed", highlight=False)
        return
    console.print(
        f"gaps: {summary['n_gaps']:,} ({summary['n_small']:,} small; {summary['n_large']:,} "
        f"large, the longest {summary['longest_gap']:,} steps), "
        f"{summary['missing_points']:,} missing points, "
        f"{summary['observed_fraction']:.1%} observed",
        highlight=False,
    )


def _summed(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in counts:
        for column, n in one.items():
            total[column] = total.get(column, 0) + n
    return total


@contextmanager
def _naming(file: Path, files: int) -> Iterator[None]:
    """With several files, a refusal names the file it is about."""
    from gapcast.errors import GapcastError

    try:
        yield
    except GapcastError as exc:
        if files > 1:
            exc.message = f"{file.name}: {exc.message}"
            exc.args = (exc.message,)
        raise


def upload(
    file: Path,
    server: str,
    token: str | None,
    name: str | None,
    timestamp_column: str | None,
    on_duplicate: str,
    replace: bool,
    *,
    as_json: bool = False,
    decimal: DecimalMark = ".",
    time_format: str | None = None,
    timezone: str | None = None,
    series_column: str | None = None,
    columns: list[str] | None = None,
    encoding: str = "utf-8",
    append: bool = False,
    missing: list[str] | None = None,
    counter: list[str] | None = None,
    sheet: str | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Send the file to a running server's ``POST /datasets``; it parses and stores it (or
    refuses it as a whole, with the same messages as a local import). Returns the dataset as
    the server answered."""
    from gapcast.client import SyncClient
    from gapcast.errors import InvalidInput

    if not file.is_file():
        raise InvalidInput(f"no such file: {file}", field="file")
    row: dict[str, Any] = SyncClient(server.rstrip("/"), token).upload_dataset(
        file,
        name=name,
        timestamp_column=timestamp_column,
        on_duplicate=on_duplicate,
        replace=replace,
        decimal=decimal,
        time_format=time_format,
        timezone=timezone,
        series_column=series_column,
        columns=columns,
        encoding=encoding,
        append=append,
        missing=missing,
        counter=counter,
        sheet=sheet,
    )
    if quiet:
        return row
    if as_json:
        print_json(row)
        return row
    console.print(
        f"{'appended to' if append else 'imported'} [bold]{escape(row['name'])}[/] "
        f"(id {row['id']}) on {server}: "
        f"{row['points']:,} points in {len(row['series'])} series, "
        f"frequency {freq_text(row['frequency'])}",
        highlight=False,
    )
    print_gaps(SyncClient(server.rstrip("/"), token).dataset(row["id"]).get("gaps"))
    print_notes(list(row.get("notes") or []))
    return row


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
