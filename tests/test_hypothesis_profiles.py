"""The Hypothesis profiles of tests/conftest.py: CI tries the same examples on every run."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st


def _draws(profile: str) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []

    @settings(settings.get_profile(profile), max_examples=30)
    @given(st.text(max_size=8), st.integers())
    def run(text: str, number: int) -> None:
        seen.append((text, number))

    run()
    return seen


def test_the_ci_profile_draws_the_same_examples_on_every_run() -> None:
    first = _draws("ci")
    assert len(first) == 30 and len(set(first)) > 1
    assert _draws("ci") == first


def test_the_profile_follows_the_environment() -> None:
    expected = os.environ.get(
        "GAPCAST_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev"
    )
    loaded = settings()
    assert loaded.database is None
    assert loaded.derandomize is (expected == "ci")
    assert loaded.max_examples == (1000 if expected == "fuzz" else 100)
