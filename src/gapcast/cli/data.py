"""Commands for data: ``import``, ``datasets`` and ``db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from gapcast.cli.common import DbOption, JsonOption, console, database, handle_errors
from gapcast.cli.common import settings as load_settings
from gapcast.cli.output import print_json, print_records
from gapcast.db import repository
from gapcast.db.session import transaction
from gapcast.db.tables import Dataset
from gapcast.ingest import OnDuplicate, read_file

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


def dataset_row(dataset: Dataset) -> dict[str, object]:
    return {
        "id": dataset.id,
        "name": dataset.name,
        "series": [
            {"name": s.name, "unit": s.unit, "points": s.point_count} for s in dataset.series
        ],
        "points": dataset.point_count,
        "frequency": _freq_text(dataset.frequency_ns),
        "start": dataset.start.isoformat() if dataset.start else None,
        "end": dataset.end.isoformat() if dataset.end else None,
        "source": dataset.source,
    }


def _freq_text(ns: int | None) -> str | None:
    return None if ns is None else str(pd.Timedelta(ns, unit="ns"))


@handle_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file", show_default=False)],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Dataset name (default: file stem)")
    ] = None,
    timestamp_column: Annotated[str | None, typer.Option(help="Name of the time column")] = None,
    on_duplicate: Annotated[
        str, typer.Option(help="What to do with repeated timestamps: error, mean or last")
    ] = "error",
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite a dataset of that name")
    ] = False,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Import a CSV or Parquet file as a dataset (one series per value column)."""
    from gapcast.errors import InvalidInput

    if on_duplicate not in ("error", "mean", "last"):
        raise InvalidInput(
            f"--on-duplicate: expected error, mean or last, received {on_duplicate!r}",
            field="on_duplicate",
        )
    cfg = load_settings(db)
    table = read_file(
        file,
        timestamp_column=timestamp_column,
        on_duplicate=on_duplicate_value(on_duplicate),
        max_bytes=cfg.max_upload_bytes,
        max_points=cfg.max_points_per_dataset,
    )
    with database(cfg.database_url) as sessions, transaction(sessions) as session:
        dataset = repository.import_dataset(
            session, table=table, name=name or file.stem, replace=replace
        )
        row = dataset_row(dataset)
    row["missing_cells"] = table.missing_cells
    row["duplicates_merged"] = table.duplicates_merged
    if as_json:
        print_json(row)
        return
    console.print(
        f"imported [bold]{row['name']}[/] (id {row['id']}): {row['points']:,} points in "
        f"{len(table.channels)} series, frequency {row['frequency']}, "
        f"{sum(table.missing_cells.values()):,} empty cells skipped"
    )


def on_duplicate_value(text: str) -> OnDuplicate:
    if text == "mean":
        return "mean"
    if text == "last":
        return "last"
    return "error"


@handle_errors
def datasets_command(
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List the stored datasets."""
    with database(load_settings(db).database_url) as sessions, sessions() as session:
        rows = [dataset_row(d) for d in repository.list_datasets(session)]
    print_records(
        rows,
        as_json=as_json,
        columns=("id", "name", "series", "points", "frequency", "start", "end"),
        cells=_dataset_cells,
    )


def _dataset_cells(r: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(r["id"]),
        str(r["name"]),
        ", ".join(str(s["name"]) for s in r["series"]),
        f"{r['points']:,}",
        str(r["frequency"]),
        str(r["start"])[:19],
        str(r["end"])[:19],
    )


@db_app.command("upgrade")
def db_upgrade(db: str | None = DbOption) -> None:
    """Apply the database migrations (the server also does this at start)."""
    from gapcast.db.migrate import current, upgrade

    url = load_settings(db).database_url
    upgrade(url)
    console.print(f"database at revision {current(url)}")


def gap_summary(timestamps_ns: np.ndarray, freq_ns: int | None) -> tuple[int, int]:
    """(outages, missing points) of a loaded series on its median-step grid."""
    if freq_ns is None or len(timestamps_ns) < 2:
        return 0, 0
    steps = np.diff(timestamps_ns) / freq_ns
    holes = steps > 1.5
    return int(holes.sum()), int(np.round(steps[holes] - 1).sum())


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("datasets")(datasets_command)
    app.add_typer(db_app, name="db")
