"""Fixtures of the reliability suite: a migrated database of each kind per module (SQLite, and
PostgreSQL in a schema of its own), and the helpers of ``support.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gapcast.api.testing import temporary_database

from .support import POSTGRES_URL


@pytest.fixture(scope="module")
def postgres_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """PostgreSQL only (tests about PostgreSQL itself, such as it going away)."""
    if not POSTGRES_URL:
        pytest.skip("GAPCAST_TEST_POSTGRES_URL is not set")
    with temporary_database(
        "postgres", tmp_dir=tmp_path_factory.mktemp("db"), postgres_url=POSTGRES_URL
    ) as url:
        yield url
