"""What every command shares: the console, exit codes, settings and turning errors into messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from gapcast.config import Settings, get_settings
from gapcast.errors import Conflict, GapcastError, InvalidInput, NotFound, Unauthorized

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a gapcast error as one clear line and exit 2 (bad input, a refused token) or 1
    (anything else: the run failed, the server is unreachable)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except Unauthorized as exc:
            # The server's own message names HTTP headers; a CLI user sets an option instead.
            err_console.print(f"[bold red]error:[/] {escape(token_advice(exc))}", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from exc
        except (InvalidInput, NotFound, Conflict) as exc:
            # Escaped: messages quote users' headers and values ('power [kW]'), which rich would
            # otherwise read as markup and drop.
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            raise typer.Exit(EXIT_BAD_INPUT) from exc
        except GapcastError as exc:
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
            raise typer.Exit(EXIT_RUN_FAILED) from exc
        except (httpx.ConnectError, ConnectionRefusedError) as exc:
            err_console.print(
                f"[bold red]error:[/] no gapcast server answers ({escape(str(exc))}); start one "
                "with 'gapcast serve' or pass --server URL",
                highlight=False,
            )
            raise typer.Exit(EXIT_RUN_FAILED) from exc

    return wrapper


def token_advice(exc: Unauthorized) -> str:
    """What a refused token means on the command line, and what to do about it."""
    reason = exc.message.partition(":")[0] or "the server refused the request"
    return (
        f"the server refused the request ({reason}); pass --token TOKEN or set "
        "GAPCAST_API_TOKEN to the server's token"
    )


def settings(database_url: str | None = None) -> Settings:
    base = get_settings()
    return base.model_copy(update={"database_url": database_url}) if database_url else base


@contextmanager
def database(url: str, *, migrate: bool = True) -> Iterator[sessionmaker[Session]]:
    """A session factory on ``url``, migrated to the latest schema first."""
    from gapcast.db.migrate import upgrade
    from gapcast.db.session import make_engine, make_sessionmaker

    engine = make_engine(url)
    try:
        if migrate:
            upgrade(url, engine=engine)
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


DbOption = typer.Option(
    None, "--db", envvar="GAPCAST_DATABASE_URL", help="Database URL (default: sqlite ./gapcast.db)"
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")
ServerOption = typer.Option(
    None,
    "--server",
    envvar="GAPCAST_SERVER",
    help="URL of a running gapcast server (default: work on the configured database)",
    show_default=False,
)
TokenOption = typer.Option(
    None, "--token", envvar="GAPCAST_API_TOKEN", help="The server's API token", show_default=False
)


def default_server_url(cfg: Settings) -> str:
    """The server ``gapcast serve`` starts with these settings (for commands that need one)."""
    host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::", "") else cfg.host
    return f"http://{host}:{cfg.port}"


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` with a JSON value (``epochs=5``, ``hyperparameters={"units":16}``); a value
    that is not JSON is taken as a string (``model=gru``)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"--set: expected KEY=VALUE, received {text!r}", field="overrides")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def read_json_object(path: Path, *, label: str, field: str) -> dict[str, Any]:
    """The JSON object in ``path``; a missing, unreadable or non-object file is an InvalidInput
    whose message starts with ``label`` (the option as the user typed it)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{label}: {exc}", field=field) from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{label}: expected a JSON object", field=field)
    return data
