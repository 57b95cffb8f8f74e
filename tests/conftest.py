"""Shared fixtures: a fresh database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL tests run in a schema of their own (``search_path`` in the URL), so tests never see each
other's rows; they skip when ``GAPCAST_TEST_POSTGRES_URL`` is unset, which ``.ci/run`` never allows.

Hypothesis runs under one of three profiles. ``ci`` (loaded when ``CI=true``, as ``.ci/run`` sets)
derives every test's examples from the test itself, so two CI runs of one commit try the same
inputs and a red build is red for a reason that is still there on the rerun. ``fuzz`` (``make
fuzz``) draws new examples, ten times as many, and prints how to replay a failure; what it finds is
pinned with ``@example``. ``dev``, the default, is Hypothesis's own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gapcast.api.testing import temporary_database
from gapcast.db.migrate import upgrade
from gapcast.db.session import make_engine, make_sessionmaker

# JAX's compile cache (model_training/keras_env.py) in a folder of this session, inherited by the
# servers and workers the tests start: tests share compiled programs with each other, never with
# the user's own runs or an earlier session.
if "GAPCAST_COMPILE_CACHE_DIR" not in os.environ:
    _COMPILE_CACHE = tempfile.mkdtemp(prefix="gapcast-test-jax-")
    os.environ["GAPCAST_COMPILE_CACHE_DIR"] = _COMPILE_CACHE
    atexit.register(shutil.rmtree, _COMPILE_CACHE, ignore_errors=True)

SAMPLE_CSV = Path(__file__).parents[1] / "src" / "gapcast" / "data" / "mauna_loa_co2_weekly.csv"
POSTGRES_URL = os.environ.get("GAPCAST_TEST_POSTGRES_URL")

# database=None everywhere: a replayed example from a local .hypothesis/ folder would make a run
# depend on the runs before it. Each profile starts from Hypothesis's "default" and says
# derandomize either way: Hypothesis loads its own "ci" profile whenever a CI variable exists
# (even CI=false), and a profile registered without a parent inherits from it.
_HYPOTHESIS_BASE = hypothesis_settings.get_profile("default")
hypothesis_settings.register_profile(
    "dev", parent=_HYPOTHESIS_BASE, derandomize=False, database=None
)
hypothesis_settings.register_profile(
    "ci", parent=_HYPOTHESIS_BASE, derandomize=True, database=None, print_blob=True
)
hypothesis_settings.register_profile(
    "fuzz",
    parent=_HYPOTHESIS_BASE,
    derandomize=False,
    max_examples=1000,
    database=None,
    print_blob=True,
)
HYPOTHESIS_PROFILE = os.environ.get(
    "GAPCAST_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev"
)
hypothesis_settings.load_profile(HYPOTHESIS_PROFILE)


# --- no unexpected skips ---------------------------------------------------------------------
# Where PostgreSQL is configured (CI always), a PostgreSQL or browser test that skips is a test that
# did not run while the build says green: the session fails and names it. Outside CI, the test
# that restarts PostgreSQL may still wait for its own opt-in (other engineers share the server).
_MUST_RUN_MARKS = ("postgres", "browser")
_MUST_RUN_WORDS = ("postgres", "chromium", "browser", "playwright")
_UNEXPECTED_SKIPS: list[str] = []


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def _check_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not POSTGRES_URL or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    if os.environ.get("CI") != "true" and "GAPCAST_TEST_PG_RESTART" in reason:
        return
    marked = any(mark in getattr(report, "keywords", {}) for mark in _MUST_RUN_MARKS)
    if marked or any(word in reason.lower() for word in _MUST_RUN_WORDS):
        _UNEXPECTED_SKIPS.append(f"{report.nodeid}: {reason}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _check_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _check_skip(report)  # a module that skips itself (no Chromium) never makes test items


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _UNEXPECTED_SKIPS:
        terminalreporter.section("unexpected skips", sep="=", red=True, bold=True)
        terminalreporter.line(
            "GAPCAST_TEST_POSTGRES_URL is set, so these PostgreSQL/browser tests had to run:"
        )
        for line in _UNEXPECTED_SKIPS:
            terminalreporter.line(f"  {line}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _UNEXPECTED_SKIPS and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def sample_csv() -> Path:
    return SAMPLE_CSV


def _shutdown_load(hours: int, seed: int = 0) -> pd.DataFrame:
    """Hourly load with a daily cycle, cut to a tenth during 6-hour planned shutdowns at random
    times: announced in advance (``shutdown`` is 1 during them), unforeseeable from the past."""
    rng = np.random.default_rng(seed)
    flag = np.zeros(hours)
    for start in rng.choice(hours - 6, hours // 48, replace=False):
        flag[start : start + 6] = 1.0
    t = np.arange(hours)
    load = (100 + 10 * np.sin(2 * np.pi * t / 24)) * (1 - 0.9 * flag) + rng.normal(0, 1, hours)
    stamps = pd.date_range("2024-01-01", periods=hours, freq="h", tz="UTC")
    return pd.DataFrame({"timestamp": stamps, "load": load, "shutdown": flag})


@pytest.fixture
def shutdown_load() -> Callable[..., pd.DataFrame]:
    """``shutdown_load(hours, seed=0)``: a series whose covariate is known in advance."""
    return _shutdown_load


def _postgres_schema_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("GAPCAST_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gapcast.db'}"
        upgrade(url)
        yield url
        return
    gen = _postgres_schema_url()
    url = next(gen)
    upgrade(url)
    yield url
    next(gen, None)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each kind shared by a module's live servers."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip("GAPCAST_TEST_POSTGRES_URL is not set")
    with temporary_database(
        request.param, tmp_dir=tmp_path_factory.mktemp("db"), postgres_url=POSTGRES_URL
    ) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated PostgreSQL database shared by a module (tests about PostgreSQL itself, or
    several servers on one database)."""
    if not POSTGRES_URL:
        pytest.skip("GAPCAST_TEST_POSTGRES_URL is not set")
    with temporary_database(
        "postgres", tmp_dir=tmp_path_factory.mktemp("db"), postgres_url=POSTGRES_URL
    ) as url:
        yield url
