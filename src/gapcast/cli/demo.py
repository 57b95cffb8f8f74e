"""``gapcast demo``: the newcomer's first command, on the bundled real sample series."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import typer
from rich.table import Table

from gapcast.cli.common import DbOption, console, database, handle_errors
from gapcast.cli.common import settings as load_settings
from gapcast.cli.data import dataset_row, gap_summary
from gapcast.db import repository
from gapcast.db.session import transaction
from gapcast.errors import NotFound
from gapcast.ingest import read_file

SAMPLE_NAME = "mauna-loa-co2"


def sample_path() -> Path:
    return Path(str(resources.files("gapcast") / "data" / "mauna_loa_co2_weekly.csv"))


@handle_errors
def demo_command(db: str | None = DbOption) -> None:
    """Import the bundled Mauna Loa CO2 series (once) and summarise it."""
    cfg = load_settings(db)
    with database(cfg.database_url) as sessions, transaction(sessions) as session:
        try:
            dataset = repository.get_dataset(session, SAMPLE_NAME)
            console.print(f"sample dataset [bold]{SAMPLE_NAME}[/] already imported")
        except NotFound:
            table = read_file(sample_path())
            dataset = repository.import_dataset(session, table=table, name=SAMPLE_NAME)
            console.print(f"imported the sample dataset [bold]{SAMPLE_NAME}[/]")
        arrays = repository.load_dataset_arrays(session, dataset)
        row = dataset_row(dataset)
    outages, missing = gap_summary(arrays.timestamps_ns, arrays.frequency_ns)
    summary = Table(title=f"{SAMPLE_NAME} in {cfg.database_url}", show_header=False)
    summary.add_row("series", ", ".join(arrays.channels))
    summary.add_row("points", f"{row['points']:,}")
    summary.add_row("frequency", str(row["frequency"]))
    summary.add_row("span", f"{str(row['start'])[:10]} → {str(row['end'])[:10]}")
    summary.add_row("gaps found", f"{outages} outages, {missing} missing points")
    console.print(summary)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
