"""The root conftest fails a session in which a PostgreSQL or browser test skipped although
PostgreSQL is configured (as in CI): such a build would be green without having run them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")

TESTS = """
import pytest

@pytest.mark.postgres
def test_needs_postgres():
    pytest.skip("no PostgreSQL here")

def test_runs():
    pass

def test_skips_for_another_reason():
    pytest.skip("nothing to do with a database")

@pytest.mark.postgres
@pytest.mark.skipif(True, reason="set GAPCAST_TEST_PG_RESTART=1 (restarts PostgreSQL)")
def test_opt_in():
    pass
"""
BROWSER = """
import pytest
pytest.skip("Debian's chromium is not installed", allow_module_level=True)
"""


def _session(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_some.py").write_text(TESTS)
    (tmp_path / "test_page.py").write_text(BROWSER)
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "GAPCAST_TEST_POSTGRES_URL")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            tmp_path,
            "-o",
            "addopts=",
            "--strict-markers",
            "-o",
            "markers=postgres\nbrowser",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env={**environ, **env},
        timeout=120,
        check=False,
    )


def test_a_skipped_postgres_or_browser_test_fails_the_session_in_ci(tmp_path: Path) -> None:
    done = _session(tmp_path, GAPCAST_TEST_POSTGRES_URL="postgresql://nowhere/test", CI="true")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = done.stdout[done.stdout.index("unexpected skips") :]
    assert "test_some.py::test_needs_postgres: no PostgreSQL here" in summary
    assert "test_page.py: Debian's chromium is not installed" in summary
    assert "test_some.py::test_opt_in" in summary  # CI always opts in
    assert "test_skips_for_another_reason" not in summary
    assert "1 passed, 4 skipped" in done.stdout  # the page module counts as one
