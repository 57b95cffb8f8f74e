"""A live gapcast server for whole-server tests: ``live_server`` (uvicorn in a thread, one worker,
shared by the tests of a module) on SQLite and on PostgreSQL, and the sample dataset in it.

Reuse: depend on ``live_server`` and talk to ``live_server.url`` / ``live_server.ws_url``; for
other settings (a token, more workers) call ``gapcast.api.testing.running_server`` yourself with
``gapcast.api.testing.server_settings(...)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gapcast.api.testing import (
    TINY,
    LiveServer,
    running_server,
    server_settings,
    upload_sample,
)

DATASET = "co2"

# A run that keeps training until cancelled or killed (~0.1 s per epoch).
LONG: dict[str, Any] = {**TINY, "epochs": 400, "batch_size": 8}


@pytest.fixture(scope="module")
def live_server(
    server_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    settings = server_settings(server_db_url, tmp_path_factory.mktemp("data"))
    with running_server(settings) as live:
        upload_sample(live, DATASET)
        yield live
