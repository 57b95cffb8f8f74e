"""The server the end-to-end benchmarks measure: ``python -m gapcast.api`` in its own process, on
a SQLite file in a temporary folder, with the shipped CO2 sample to train on."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gapcast.api.testing import ServerProcess
from gapcast.config import Settings

SAMPLE = Path(__file__).parents[1] / "src" / "gapcast" / "data" / "mauna_loa_co2_weekly.csv"


@contextmanager
def bench_server(*, workers_max: int = 1, **settings: object) -> Iterator[tuple[str, int]]:
    """Yield the server's base URL and process id; stop it (and its workers) afterwards.
    ``settings``: any other :class:`Settings` field."""
    with tempfile.TemporaryDirectory(prefix="gapcast-bench-") as tmp:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=f"sqlite:///{tmp}/bench.db",
            data_dir=Path(tmp) / "data",
            workers_max=workers_max,
            **settings,
        )
        server = ServerProcess(settings, Path(tmp) / "server.log")
        live = server.start()
        assert server.process is not None
        try:
            yield live.url, server.process.pid
        finally:
            server.stop()
