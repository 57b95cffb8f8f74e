"""Sweeps: a seed fixes the trials proposed (Optuna's ask over the trials stored so far)."""

from __future__ import annotations

from typing import Any

import pytest

from gapcast.sweeps import TrialRecord, ask

SPACE: dict[str, Any] = {
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "hyperparameters.units": {"type": "int", "low": 8, "high": 128, "step": 8},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
}
TRIALS = 12  # past TPE's 10 random start-up trials, so its model of the history is used too


def _propose(sampler: str, seed: int) -> list[dict[str, Any]]:
    """Run a sweep's ask/tell loop with an objective that depends only on the parameters."""
    history: list[TrialRecord] = []
    for number in range(TRIALS):
        params = ask(
            SPACE, sampler=sampler, seed=seed, direction="minimize", history=history, number=number
        )
        value = abs(params["learning_rate"] - 0.01) + params["hyperparameters.units"] / 1000
        history.append(TrialRecord(number, params, "complete", value))
    return [record.params for record in history]


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_the_same_seed_proposes_the_same_trials(sampler: str) -> None:
    first = _propose(sampler, seed=7)
    assert len({tuple(sorted(p.items())) for p in first}) > 1
    assert _propose(sampler, seed=7) == first
    assert _propose(sampler, seed=8) != first  # the seed is what fixes them
