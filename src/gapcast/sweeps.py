"""Hyperparameter sweeps: the search space, the objective, and Optuna's ask/tell on stored trials.

A sweep searches over a training config's tunable values — ``hyperparameters.<name>`` of the model,
the training parameters (``learning_rate``, ``batch_size``, ``epochs``, ...) and the window
(``lookback``, ``horizon``, ``stride``). Each trial is an ordinary run (stored, watchable, executed
by whatever executor the server has), tagged with ``runs.sweep_id`` and ``runs.trial``.

The sampler's state is never kept in memory between steps: to ask for the next trial, a study is
rebuilt from the trials stored so far (``add_trial`` is Optuna's *tell* for finished trials, and
unfinished ones are added as running so the sampler avoids them), then ``ask``-ed. That makes a
sweep survive a server restart and lets any replica advance it. The sampler is seeded with the
sweep's seed plus the trial number, so rebuilding never repeats a draw.

The grid is the exception: it is walked here, not by Optuna's GridSampler. That sampler reads its
own trials' ``grid_id`` attributes (which trials rebuilt with ``add_trial`` lack) and shuffles the
grid with its seed, so a fresh one per trial (seed + number) picked the points independently and
could run one twice while skipping another. Here one order of the grid is drawn from the sweep's
seed, and each trial takes the first point in it that no stored trial has.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import product
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gapcast.errors import GapcastError, InvalidInput
from gapcast.training_config import TrainingConfig, TrainingParams

Scalar = str | int | float | bool
TUNABLE = (
    *(name for name in TrainingParams.model_fields if name not in ("seed", "gap_classifier")),
    "lookback",
    "horizon",
    "stride",
)
HYPERPARAMETER = "hyperparameters."


class FloatParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["float"] = "float"
    low: float
    high: float
    log: bool = False
    step: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> FloatParam:
        _check_bounds(self.low, self.high, self.log)
        return self


class IntParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["int"] = "int"
    low: int
    high: int
    step: int = Field(default=1, ge=1)
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> IntParam:
        _check_bounds(self.low, self.high, self.log)
        return self


class CategoricalParam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["categorical"] = "categorical"
    choices: list[Scalar] = Field(min_length=1)


Param = Annotated[FloatParam | IntParam | CategoricalParam, Field(discriminator="type")]


def _check_bounds(low: float, high: float, log: bool) -> None:
    if low > high:
        raise ValueError(f"expected low <= high, received low={low}, high={high}")
    if log and low <= 0:
        raise ValueError(f"a log scale needs low > 0, received low={low}")


class SweepRequest(BaseModel):
    """``POST /sweeps``: what to train (like a train request) and how to search."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | int
    config: str | int | dict[str, Any] | None = Field(
        default=None, description="a stored config's name or id, an inline config, or defaults"
    )
    overrides: dict[str, Any] = Field(default_factory=dict, description="applied to every trial")
    space: dict[str, Param] = Field(
        min_length=1,
        description="parameter path → range: 'hyperparameters.units', 'learning_rate', 'lookback'",
    )
    trials: int = Field(default=10, ge=1, le=1000)
    parallel: int = Field(default=1, ge=1, le=256, description="trials queued at once")
    objective: str = Field(default="val_loss", description="val_loss, loss or metrics.<name>")
    direction: Literal["minimize", "maximize"] = "minimize"
    sampler: Literal["tpe", "random", "grid"] = "tpe"
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    name: str | None = Field(default=None, max_length=200)


@dataclass(frozen=True)
class TrialRecord:
    number: int
    params: dict[str, Any]
    state: Literal["running", "complete", "fail"]
    value: float | None = None


# -- the space and the trial configs -----------------------------------------------------------


def trial_config(config: TrainingConfig, params: dict[str, Any]) -> TrainingConfig:
    """``config`` with a trial's parameter values applied."""
    overrides: dict[str, Any] = {}
    hyper = dict(config.hyperparameters)
    for path, value in params.items():
        if path.startswith(HYPERPARAMETER):
            hyper[path.removeprefix(HYPERPARAMETER)] = value
        else:
            overrides[path] = value
    if hyper != config.hyperparameters:
        overrides["hyperparameters"] = hyper
    return config.with_overrides(overrides) if overrides else config


def probes(param: FloatParam | IntParam | CategoricalParam) -> list[Scalar]:
    """The values a space must accept for every value between them to be acceptable."""
    if isinstance(param, CategoricalParam):
        return list(param.choices)
    return [param.low, param.high]


def check_space(
    config: TrainingConfig, space: dict[str, Any], *, sampler: str, trials: int
) -> list[TrainingConfig]:
    """Refuse an unknown path or a value the config rejects, naming ``space.<path>``; returns the
    probe configs (bounds and choices) for the caller's further checks (dataset length)."""
    checked: list[TrainingConfig] = []
    for path, param in space.items():
        field = f"space.{path}"
        if not (path.startswith(HYPERPARAMETER) or path in TUNABLE):
            raise InvalidInput(
                f"cannot tune {path!r}; expected 'hyperparameters.<name>' or one of: "
                f"{', '.join(TUNABLE)}",
                field=field,
            )
        for value in probes(param):
            try:
                checked.append(trial_config(config, {path: value}))
            except GapcastError as exc:
                raise InvalidInput(f"{path}={value!r}: {exc.message}", field=field) from exc
            except ValueError as exc:  # pydantic's ValidationError
                first = str(exc).splitlines()
                message = f"{path}={value!r} is invalid: {first[-1].strip()}"
                raise InvalidInput(message, field=field) from exc
    if sampler == "grid":
        size = 1
        for path, param in space.items():
            if not isinstance(param, CategoricalParam):
                raise InvalidInput(
                    "the grid sampler needs categorical parameters (a list of choices)",
                    field=f"space.{path}",
                )
            size *= len(distinct(param.choices))
        if trials > size:
            raise InvalidInput(
                f"the grid has {size} points, fewer than trials={trials}", field="trials"
            )
    return checked


def check_objective(objective: str) -> None:
    if objective in ("val_loss", "loss") or (
        objective.startswith("metrics.") and len(objective) > len("metrics.")
    ):
        return
    raise InvalidInput(
        f"unknown objective {objective!r}; expected val_loss, loss or metrics.<name> "
        "(a figure of the run's metrics, e.g. metrics.mae)",
        field="objective",
    )


def objective_value(
    objective: str, *, loss: float | None, val_loss: float | None, metrics: dict[str, Any] | None
) -> float | None:
    """The trial's figure for ``objective``; None when the run did not report it (or not finite)."""
    if objective == "val_loss":
        value: Any = val_loss
    elif objective == "loss":
        value = loss
    else:
        value = metrics or {}
        for part in objective.removeprefix("metrics.").split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


# -- Optuna -------------------------------------------------------------------------------------


def _distributions(space: dict[str, Any]) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for path, raw in space.items():
        param = _param(raw)
        if isinstance(param, FloatParam):
            out[path] = FloatDistribution(param.low, param.high, log=param.log, step=param.step)
        elif isinstance(param, IntParam):
            step = 1 if param.log else param.step  # Optuna: a log scale has no step
            out[path] = IntDistribution(param.low, param.high, log=param.log, step=step)
        else:
            out[path] = CategoricalDistribution(param.choices)
    return out


def _param(raw: Any) -> FloatParam | IntParam | CategoricalParam:
    if isinstance(raw, FloatParam | IntParam | CategoricalParam):
        return raw
    kind = raw.get("type")
    if kind == "float":
        return FloatParam.model_validate(raw)
    if kind == "int":
        return IntParam.model_validate(raw)
    return CategoricalParam.model_validate(raw)


def _sampler(kind: str, seed: int) -> Any:
    import optuna

    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _grid_point(space: dict[str, Any], *, seed: int, history: list[TrialRecord]) -> dict[str, Any]:
    """The first point of the sweep's grid order that no trial so far (running, finished or
    failed) has: the same for every rebuild, so trials asked together or after a restart never
    share a point while one is left."""
    paths = sorted(space)
    choices = [distinct(_param(space[path]).choices) for path in paths]  # type: ignore[union-attr]
    grid = [dict(zip(paths, point, strict=True)) for point in product(*choices)]
    # The seed picks the order, and so which points a sweep of fewer trials than points tries.
    random.Random(seed).shuffle(grid)
    tried = {_point_key({k: v for k, v in r.params.items() if k in space}) for r in history}
    for point in grid:
        if _point_key(point) not in tried:
            return point
    # Every point has a trial: only when trials > grid size, which check_space refuses.
    raise InvalidInput(f"the grid's {len(grid)} points all have a trial", field="trials")


def distinct(choices: list[Scalar]) -> list[Scalar]:
    """The choices without repeats (a repeated one is one grid point), in their order."""
    return list({(type(c).__name__, c): c for c in choices}.values())


def _point_key(params: dict[str, Any]) -> tuple[tuple[str, str, Any], ...]:
    # The type too: True == 1 and 1 == 1.0 in Python, but they are different choices.
    return tuple(sorted((path, type(value).__name__, value) for path, value in params.items()))


def ask(
    space: dict[str, Any],
    *,
    sampler: str,
    seed: int,
    direction: str,
    history: list[TrialRecord],
    number: int,
) -> dict[str, Any]:
    """The parameters of trial ``number``, given every trial so far."""
    if sampler == "grid":
        return _grid_point(space, seed=seed, history=history)
    import optuna
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = _distributions(space)
    study = optuna.create_study(
        direction="maximize" if direction == "maximize" else "minimize",
        sampler=_sampler(sampler, seed + number),
    )
    states = {
        "running": TrialState.RUNNING,
        "complete": TrialState.COMPLETE,
        "fail": TrialState.FAIL,
    }
    for record in history:
        params = {k: v for k, v in record.params.items() if k in distributions}
        study.add_trial(
            create_trial(
                params=params,
                distributions={k: distributions[k] for k in params},
                state=states[record.state],
                value=record.value if record.state == "complete" else None,
            )
        )
    return dict(study.ask(distributions).params)
