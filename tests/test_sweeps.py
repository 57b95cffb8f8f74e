"""Sweeps: a seed fixes the trials proposed (Optuna's ask over the trials stored so far)."""

from __future__ import annotations

from typing import Any

import pytest

from gapcast.errors import InvalidInput
from gapcast.sweeps import CategoricalParam, TrialRecord, ask, check_space
from gapcast.training_config import TrainingConfig

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


# --- grid ---------------------------------------------------------------------------------------

GRID: dict[str, Any] = {
    "lookback": {"type": "categorical", "choices": [16, 24]},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
}


def _grid(space: dict[str, Any], seed: int, trials: int, state: str) -> list[dict[str, Any]]:
    """Trials asked one after the other, each stored as ``state`` before the next is asked
    (``running``: queued together, as ``parallel`` does; ``complete``: one at a time)."""
    history: list[TrialRecord] = []
    for number in range(trials):
        params = ask(
            space, sampler="grid", seed=seed, direction="minimize", history=history, number=number
        )
        value = 1.0 if state == "complete" else None
        history.append(TrialRecord(number, params, state, value))  # type: ignore[arg-type]
    return [record.params for record in history]


@pytest.mark.parametrize("state", ["running", "complete"])
def test_a_grid_sweep_never_repeats_a_point_while_one_is_left(state: str) -> None:
    # Optuna's GridSampler, seeded afresh per trial, repeated a point for 13 of these 20 seeds.
    two = {"lookback": GRID["lookback"]}
    for seed in range(20):
        assert sorted(p["lookback"] for p in _grid(two, seed, 2, state)) == [16, 24], seed
    for seed in range(5):
        points = _grid(GRID, seed, 6, state)
        assert len({tuple(sorted(p.items())) for p in points}) == 6, (seed, points)


def test_a_grid_sweep_skips_the_points_of_stored_trials_whatever_their_numbers() -> None:
    # A sweep resumed after a restart (or advanced by another replica): the stored trials, in
    # any order and state, are the points already taken.
    order = _grid(GRID, 3, 6, "complete")
    history = [
        TrialRecord(4, order[4], "fail"),
        TrialRecord(0, order[0], "complete", 0.5),
        TrialRecord(2, order[2], "running"),
    ]
    asked = ask(GRID, sampler="grid", seed=3, direction="minimize", history=history, number=3)
    assert asked == order[1]
    assert _grid(GRID, 3, 6, "running") == order  # the seed fixes the order
    assert _grid(GRID, 4, 6, "running") != order


def test_a_grid_keeps_equal_looking_choices_apart() -> None:
    space = {"shuffle": {"type": "categorical", "choices": [1, True]}}
    assert sorted(str(p["shuffle"]) for p in _grid(space, 0, 2, "running")) == ["1", "True"]
    # A repeated choice is one point: a grid of [16, 16] × [32] has one, too few for 2 trials.
    repeated = {"lookback": {"type": "categorical", "choices": [16, 16]}}
    assert _grid(repeated, 0, 1, "running") == [{"lookback": 16}]
    with pytest.raises(InvalidInput, match="the grid has 1 points, fewer than trials=2"):
        space = {"lookback": CategoricalParam(choices=[16, 16])}
        check_space(TrainingConfig(), space, sampler="grid", trials=2)
