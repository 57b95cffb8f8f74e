"""Model choice: which candidates a run trains, and the one it keeps.

``model: "auto"`` (the default) trains a linear model and an MLP, each as a plain forecaster and
as "reference + learned correction", and keeps the candidate with the lowest MAE on the
validation origins — scored like the test backtest, in real units, origins right after outages
included. The reference is the seasonal naive value when the data has a season, the last value
(naive) when it has none. Naming a model trains just that model, with the correction on
(``training.correction`` overrides both; a window step with ``season="none"`` has no reference).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gapcast.model_training import backtest
from gapcast.model_training.forecaster import Forecaster, fit_model, window_dataset
from gapcast.model_training.training_data import TrainingData
from gapcast.training_config import AUTO, TrainingConfig

# The candidates of model "auto": cheap to train, and between them they cover the suite.
AUTO_MODELS: tuple[tuple[str, dict[str, Any]], ...] = (("linear", {}), ("mlp", {}))


@dataclass(frozen=True)
class Candidate:
    model: str
    correction: bool
    hyperparameters: dict[str, Any] = field(default_factory=dict, compare=False)
    reference: str = field(default="seasonal", compare=False)  # what the correction corrects

    @property
    def key(self) -> str:
        return f"{self.model}+correction" if self.correction else self.model

    @property
    def label(self) -> str:
        return f"{self.model}, {self.reference} correction" if self.correction else self.model


@dataclass
class TrainedCandidate:
    candidate: Candidate
    forecaster: Forecaster
    history: list[dict[str, float]]
    best_epochs: int
    val_mae: float | None
    seconds: float


def candidates_for(config: TrainingConfig, season: int | None) -> list[Candidate]:
    """What a run trains: see the module docstring. ``season`` is the window's reference season
    (1: naive, None: no reference)."""
    has_season = season is not None
    reference = "naive" if season == 1 else "seasonal"
    mode = config.training.correction
    if mode == "auto":
        options = [True, False] if config.model == AUTO else [True]
        options = [c for c in options if has_season or not c] or [False]
    else:
        options = [mode == "on" and has_season]
    if config.model == AUTO:
        models = list(AUTO_MODELS)
    else:
        models = [(config.model, dict(config.hyperparameters))]
    return [Candidate(m, c, hp, reference) for m, hp in models for c in options]


def validation_origins(data: TrainingData) -> backtest.Origins:
    """Origins of the validation part, chosen like the test backtest's."""
    val_start, test_start = data.split
    return backtest.choose_origins(
        data.observed,
        begin=val_start,
        end=test_start,
        horizon=data.horizon,
        stride=data.horizon,
        max_fill=data.max_fill,
    )


def validation_mae(forecaster: Forecaster, data: TrainingData) -> float | None:
    """MAE in real units over the validation origins (None when there are none)."""
    origins = validation_origins(data)
    if not len(origins):
        return None
    forecast = forecaster.forecast_at(data.frame, origins.index)
    truth = backtest.truth_at(data.real, origins.index, data.horizon)
    ok = np.isfinite(truth) & np.isfinite(forecast)
    return float(np.abs(forecast - truth)[ok].mean()) if ok.any() else None


def best_epoch_count(history: Sequence[dict[str, float]], early_stopping: bool) -> int:
    """Epochs up to the lowest validation loss when early stopping restored those weights,
    otherwise all the epochs trained."""
    losses = [h.get("val_loss") for h in history]
    known = [(v, i) for i, v in enumerate(losses) if v is not None]
    if early_stopping and known:
        return min(known)[1] + 1
    return max(len(history), 1)


def train(
    candidate: Candidate,
    data: TrainingData,
    config: TrainingConfig,
    *,
    origins: np.ndarray,
    validation: np.ndarray | None,
    epochs: int,
    callbacks: Sequence[Any],
    seed: int,
) -> tuple[Forecaster, float]:
    """A freshly built model of ``candidate`` trained on the windows at ``origins``."""
    from gapcast.model_training.general_model import GeneralModel
    from gapcast.model_training.ml_strategy import get_strategy

    t = config.training
    layout = data.pipeline.layout
    strategy = get_strategy(candidate.model)(candidate.hyperparameters)
    gm = GeneralModel(strategy, learning_rate=t.learning_rate, seed=seed, loss=t.loss)
    model = gm.build((layout.steps, layout.n_features), layout.horizon, layout.n_targets)

    def dataset(at: np.ndarray, shuffle: bool, cap: int | None) -> Any:
        return window_dataset(
            data.pipeline,
            data.frame,
            at,
            batch_size=t.batch_size,
            correction=candidate.correction,
            shuffle=shuffle,
            seed=seed,
            max_windows=cap,
        )

    started = time.perf_counter()
    fit_model(
        model,
        dataset(origins, True, t.max_windows),
        dataset(validation, False, t.max_windows) if validation is not None else None,
        epochs=epochs,
        callbacks=callbacks,
    )
    return Forecaster(model, data.pipeline, candidate.correction), time.perf_counter() - started


def choose(trained: Sequence[TrainedCandidate]) -> TrainedCandidate:
    """The candidate with the lowest validation MAE (the first one when none was scored)."""
    scored = [c for c in trained if c.val_mae is not None]
    if not scored:
        return trained[0]
    return min(scored, key=lambda c: c.val_mae if c.val_mae is not None else np.inf)


def run_candidates(
    candidates: Sequence[Candidate],
    data: TrainingData,
    config: TrainingConfig,
    *,
    callbacks_for: Callable[[Candidate], list[Any]],
    history_for: Callable[[Candidate], Any],
    on_trained: Callable[[TrainedCandidate], None],
    restore: Callable[[Candidate, TrainingData], TrainedCandidate | None] = lambda c, d: None,
    keep: Callable[[TrainedCandidate], None] = lambda c: None,
) -> list[TrainedCandidate]:
    """Train each candidate with early stopping on the validation windows and score it.

    ``restore`` gives back a candidate an earlier attempt of the run finished (then it is not
    trained again), ``keep`` saves one that just finished.
    """
    from gapcast.model_training.callbacks import make_early_stopping

    t = config.training
    has_val = len(data.origins["val"]) > 0
    out = []
    for candidate in candidates:
        done = restore(candidate, data)
        if done is not None:
            on_trained(done)
            out.append(done)
            continue
        log = history_for(candidate)
        best = (
            log.path.with_name(log.path.name.replace(".history.json", ".best.npz"))
            if log.path
            else None
        )
        stop = make_early_stopping(
            t.patience, has_validation=has_val, best_path=best, history=log.history
        )
        callbacks = [log.callback(), *callbacks_for(candidate), *([stop] if stop else [])]
        forecaster, seconds = train(
            candidate,
            data,
            config,
            origins=data.origins["train"],
            validation=data.origins["val"] if has_val else None,
            epochs=t.epochs,
            callbacks=callbacks,
            seed=t.seed,
        )
        history = log.history()
        result = TrainedCandidate(
            candidate=candidate,
            forecaster=forecaster,
            history=history,
            best_epochs=best_epoch_count(history, stop is not None),
            val_mae=validation_mae(forecaster, data),
            seconds=seconds,
        )
        keep(result)
        on_trained(result)
        out.append(result)
    return out
