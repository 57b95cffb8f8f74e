"""CLI test fixtures: a working directory of its own (the CLI writes ./gapcast-out and
./gapcast-data there) and settings that ignore any GAPCAST_* of the developer's shell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gapcast.config import get_settings

# Small enough to train in a few seconds on 2 cores, long enough to have gaps and a test part.
TINY = ["--model", "linear", "--epochs", "2", "--lookback", "16", "--horizon", "4"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    for name in ("GAPCAST_DATABASE_URL", "GAPCAST_SERVER", "GAPCAST_API_TOKEN", "GAPCAST_PORT"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
