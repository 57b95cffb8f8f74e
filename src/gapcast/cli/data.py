"""Commands for stored data: ``datasets`` and ``db upgrade`` (``import`` is :mod:`importing`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import typer

from gapcast.cli.common import (
    DbOption,
    JsonOption,
    console,
    database,
    handle_errors,
)
from gapcast.cli.common import settings as load_settings
from gapcast.cli.output import print_records, timestamp
from gapcast.db import repository
from gapcast.db.tables import Dataset
from gapcast.processing._time import format_duration, months_per_step

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


def dataset_row(dataset: Dataset) -> dict[str, object]:
    return {
        "id": dataset.id,
        "name": dataset.name,
        "series": [
            {
                "name": s.name,
                "unit": s.unit,
                "points": s.point_count,
                "running_total": s.counter_at is not None,
            }
            for s in dataset.series
        ],
        "points": dataset.point_count,
        "frequency": _freq_text(dataset.frequency_ns),
        "start": dataset.start.isoformat() if dataset.start else None,
        "end": dataset.end.isoformat() if dataset.end else None,
        "source": dataset.source,
        "timezone": dataset.timezone,
    }


def _freq_text(ns: int | None) -> str | None:
    return None if ns is None else str(pd.Timedelta(ns, unit="ns"))


STEP_UNITS = (("day", 86_400), ("h", 3_600), ("min", 60), ("s", 1))


def freq_text(value: object) -> str:
    """A stored frequency ('0 days 00:30:00') as people write it: '30 min', '1 h', '7 days'."""
    if value is None:
        return "–"
    seconds = pd.Timedelta(str(value)).total_seconds()
    if months_per_step(round(seconds * 10**9)):
        return format_duration(round(seconds * 10**9))  # binned by calendar month, quarter, year
    for unit, size in STEP_UNITS:
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
    return f"{seconds * 1000:g} ms"


@handle_errors
def datasets_command(
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List the stored datasets."""
    with database(load_settings(db).database_url) as sessions, sessions() as session:
        rows = [dataset_row(d) for d in repository.list_datasets(session)]
    # A dataset imported in a zone shows its times in it, as its file wrote them.
    zoned = any(r["timezone"] for r in rows)
    print_records(
        rows,
        as_json=as_json,
        columns=("id", "name", "series", "points", "step", "start", "end")
        + (("zone",) if zoned else ()),
        cells=lambda r: _dataset_cells(r) + ((r["timezone"] or "UTC",) if zoned else ()),
        # Names wrap in a narrow terminal; a time cut in two is unreadable.
        no_wrap=("id", "points", "step", "start", "end"),
    )


def short_time(value: Any) -> str:
    """A time without the parts that are zero: '1958-03-29', '2024-05-01 12:30'."""
    if value is None:
        return "–"
    text = timestamp(value)
    for zero in (" 00:00:00", ":00"):
        text = text.removesuffix(zero)
    return text


def _dataset_cells(r: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(r["id"]),
        str(r["name"]),
        ", ".join(str(s["name"]) for s in r["series"]),
        f"{r['points']:,}",
        freq_text(r["frequency"]),
        short_time(in_zone(r["start"], r["timezone"])),
        short_time(in_zone(r["end"], r["timezone"])),
    )


def in_zone(iso: str | None, zone: str | None) -> str | None:
    """An ISO time in UTC as the wall-clock time of ``zone`` (unchanged without one)."""
    if iso is None or zone is None:
        return iso
    return pd.Timestamp(iso).tz_convert(zone).isoformat()


@db_app.command("upgrade")
def db_upgrade(db: str | None = DbOption) -> None:
    """Apply the database migrations (the server also does this at start)."""
    from gapcast.db.migrate import current, upgrade

    url = load_settings(db).database_url
    upgrade(url)
    console.print(f"database at revision {current(url)}")


def register(app: typer.Typer) -> None:
    app.command("datasets")(datasets_command)
    app.add_typer(db_app, name="db")
