"""A live server for API tests, as in tests/e2e/conftest.py: ``live_server`` (one per module and
database kind, SQLite and PostgreSQL) holding the sample dataset as ``co2``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gapcast.api.testing import LiveServer, running_server, temporary_database
from gapcast.config import Settings

POSTGRES_URL = os.environ.get("GAPCAST_TEST_POSTGRES_URL")
SAMPLE_CSV = Path(__file__).parents[2] / "src" / "gapcast" / "data" / "mauna_loa_co2_weekly.csv"
DATASET = "co2"


def server_settings(database_url: str, data_dir: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "host": "127.0.0.1",
        "workers_max": 1,
        "api_token": None,
        **changes,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("GAPCAST_TEST_POSTGRES_URL is not set")
    with temporary_database(
        request.param, tmp_dir=tmp_path_factory.mktemp("db"), postgres_url=POSTGRES_URL
    ) as url:
        yield url


@pytest.fixture(scope="module")
def live_server(
    server_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    settings = server_settings(
        server_db_url, tmp_path_factory.mktemp("data"), max_upload_bytes=2_000_000
    )
    with running_server(settings) as live:
        with live.http() as http:
            response = http.post(
                "/datasets",
                files={"file": ("co2.csv", SAMPLE_CSV.read_bytes())},
                data={"name": DATASET},
            )
            assert response.status_code == 201, response.text
        yield live
