"""A live server for API tests, as in tests/e2e/conftest.py: ``live_server`` (one per module and
database kind, SQLite and PostgreSQL) holding the sample dataset as ``co2``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gapcast.api.testing import LiveServer, running_server, server_settings, upload_sample

DATASET = "co2"


@pytest.fixture(scope="module")
def live_server(
    server_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    settings = server_settings(
        server_db_url, tmp_path_factory.mktemp("data"), max_upload_bytes=2_000_000
    )
    with running_server(settings) as live:
        upload_sample(live, DATASET)
        yield live
