"""Model choice: which candidates a run trains, and the one it keeps.

``model: "auto"`` (the default) trains a linear model and an MLP, each as a plain forecaster and
as "reference + learned correction", and keeps the candidate with the lowest MAE on the
validation origins (a horizon apart) — scored like the test backtest, in real units, origins
right after outages included. The reference is the seasonal naive value when the data has a
season, the last value (naive) when it has none. Naming a model trains just that model, with
the correction on (``training.correction`` overrides both; a window step with ``season="none"``
has no reference).
The four candidates of "auto" are trained by successive halving (:mod:`halving`): all of them for
a short rung, then only the better half on to early stopping. The finalists' average is one more
candidate (:func:`combine`), scored on the same validation origins at no training cost: a
combination of forecasts is often better than the best of them (the lesson of the M3/M4
competitions), and where it is not, validation says so and a single model is kept. Last, the
candidate kept so far taken halfway to its reference (:func:`halfway`) is scored the same way.

When a longer season holds beyond the reference's (:func:`data_for`;
``training.long_season_lag``, on by default), each of the four is offered again with that
season's lag as an input; each group is halved and averaged alone, and a lag candidate is kept
only when it wins beyond the noise (:func:`eligible`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gapcast.model_training import backtest, paired_noise
from gapcast.model_training.forecaster import Forecaster, fit_model, window_dataset
from gapcast.model_training.training_data import TrainingData
from gapcast.processing.seasons import Season
from gapcast.training_config import AUTO, TrainingConfig

# The candidates of model "auto": cheap to train, and between them they cover the suite.
AUTO_MODELS: tuple[tuple[str, dict[str, Any]], ...] = (("linear", {}), ("mlp", {}))
# The model name (and key) of the finalists' average (see combine).
COMBINATION = "average"
# The key suffix of a forecast taken halfway to its reference (see halfway).
HALFWAY = "halfway"
# The key suffix of a candidate whose windows read the long season's lag (see data_for).
LAG = "lag"


@dataclass(frozen=True)
class Candidate:
    model: str
    correction: bool
    hyperparameters: dict[str, Any] = field(default_factory=dict, compare=False)
    reference: str = field(default="seasonal", compare=False)  # what the correction corrects
    members: tuple[Candidate, ...] = ()  # a combination's (see combine); empty: trained itself
    halfway: bool = False  # this forecast averaged with the reference's (see halfway)
    # Windows that also read each target one longer season back (see data_for).
    long_season: Season | None = None

    @property
    def key(self) -> str:
        if self.members:
            key = COMBINATION
        else:
            key = f"{self.model}+correction" if self.correction else self.model
        if self.long_season is not None:
            key = f"{key}+{LAG}{self.long_season.steps}"
        return f"{key}+{HALFWAY}" if self.halfway else key

    @property
    def label(self) -> str:
        # "+" inside a member's label and commas between members keep an average of several
        # corrected members readable ("average of linear + naive correction, linear and mlp").
        if self.members:
            *rest, last = (m.label for m in self.members)
            label = f"{COMBINATION} of " + (", ".join(rest) + " and " if rest else "") + last
        elif self.correction:
            label = f"{self.model} + {self.reference} correction"
        else:
            label = self.model
        if self.long_season is not None and not self.members:
            label = f"{label} + {self.long_season.name} lag"
        if not self.halfway:
            return label
        return f"{label}, halfway to " + (
            "naive" if self.reference == "naive" else "seasonal naive"
        )


@dataclass
class TrainedCandidate:
    candidate: Candidate
    forecaster: Forecaster
    history: list[dict[str, float]]
    best_epochs: int
    val_mae: float | None
    seconds: float
    pruned: bool = False  # stopped at the rung of successive halving (see run_candidates)
    members: tuple[TrainedCandidate, ...] = ()  # a combination's finalists (see combine)
    base: TrainedCandidate | None = None  # what a halfway candidate halves (see halfway)
    # Reads the long season's lag, whose gain was within the noise: never chosen (see eligible).
    within_noise: bool = False

    @property
    def epochs_run(self) -> int:
        """Epochs trained (the rung's, for a pruned candidate; a combination's longest member's)."""
        if self.members:
            return max(m.epochs_run for m in self.members)
        return len(self.history)


def candidates_for(
    config: TrainingConfig, season: int | None, long_season: Season | None = None
) -> list[Candidate]:
    """What a run trains: see the module docstring. ``season`` is the window's reference season
    (1: naive, None: no reference); ``long_season`` a longer confirmed one, whose lag model
    "auto" offers each candidate again with."""
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
    out = [Candidate(m, c, hp, reference) for m, hp in models for c in options]
    if config.model == AUTO and long_season is not None:
        out += [replace(c, long_season=long_season) for c in out]
    return out


def data_for(candidate: Candidate, data: TrainingData) -> TrainingData:
    """The data ``candidate`` reads: the run's, or for a candidate with the long season's lag
    the same data read by windows that also see each target one long season back.

    Two days of hourly data show the day but not the week, and the calendar's day of week
    teaches a weekly shape only from many weeks of data; the lag gives a month of data the week.
    As an input of every candidate it cost the suite's demand series a quarter of its accuracy,
    so it comes as more candidates, and validation chooses, past a noise test (:func:`eligible`;
    bench/README.md, "Held-out series")."""
    steps = candidate.long_season.steps if candidate.long_season is not None else None
    if data.pipeline.window.long_season_ == steps:
        return data
    long = data.long_season_data
    if steps is None or long is None or long.pipeline.window.long_season_ != steps:
        raise ValueError(f"no data read as candidate {candidate.key} reads it")
    return long


def validation_origins(data: TrainingData) -> backtest.Origins:
    """Origins of the validation part a horizon apart, chosen otherwise like the test backtest's.

    Not every step, as the test backtest's default is: choosing on every step of the validation
    part (or every quarter horizon) chose no better candidates on the quality suite: the same
    ones or others as close on four series, and a worse one on CO2 at one seed of three
    (bench/README.md, "Every step of the test part")."""
    val_start, test_start = data.split
    return backtest.choose_origins(
        data.observed,
        begin=val_start,
        end=test_start,
        horizon=data.horizon,
        stride=data.horizon,
        max_fill=data.max_fill,
    )


def _validation_errors(
    forecaster: Forecaster, data: TrainingData, origins: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(absolute errors (n, horizon, k), where scored, target scales or None) at ``origins``."""
    forecast = forecaster.forecast_at(data.frame, origins)
    truth = backtest.truth_at(data.real, origins, data.horizon)
    ok = np.isfinite(truth) & np.isfinite(forecast)
    scales = None
    if len(data.targets) > 1:
        scales = backtest.target_scales(data.real[:, : data.split[0]], data.mase_season)
    return np.abs(forecast - truth), ok, scales


def validation_mae(forecaster: Forecaster, data: TrainingData) -> float | None:
    """MAE in real units over the validation origins (None when there are none); with several
    targets, their mean MASE, as the test backtest ranks methods (backtest.ranking_error)."""
    origins = validation_origins(data)
    if not len(origins):
        return None
    return backtest.ranking_error(*_validation_errors(forecaster, data, origins.index))


@dataclass(frozen=True)
class LagEvidence:
    """How far the best candidate reading the long season's lag is ahead of the best one
    without it on the validation origins: the mean per-origin gain (in the ranking's units) and
    two standard errors of it (None: too few origins to tell a gain from chance)."""

    season: str  # the long season's name ("1 week")
    gain: float
    margin: float | None
    origins: int

    @property
    def beyond_noise(self) -> bool:
        return self.margin is not None and self.gain > self.margin

    @property
    def message(self) -> str:
        lead = f"the {self.season} lag: {self.gain:.4g} better on {self.origins} validation origins"
        if self.margin is None:
            return f"{lead}, too few to tell from chance: chosen without it"
        if self.beyond_noise:
            return f"{lead}, beyond the noise ({self.margin:.4g}): kept"
        return f"{lead}, within the noise ({self.margin:.4g}): chosen without it"


def lag_evidence(
    with_lag: TrainedCandidate, without: TrainedCandidate, data: TrainingData
) -> LagEvidence:
    """The paired comparison (:mod:`paired_noise`) of two candidates' validation errors."""
    origins = validation_origins(data).index
    errors = []
    for c in (with_lag, without):
        abs_err, ok, scales = _validation_errors(c.forecaster, data_for(c.candidate, data), origins)
        errors.append(paired_noise.origin_errors(abs_err, ok, scales))
    lagged, plain = errors
    both = np.isfinite(lagged) & np.isfinite(plain)
    gain = float((plain[both] - lagged[both]).mean()) if both.any() else 0.0
    margin, n = paired_noise.margin(lagged, plain)
    season = with_lag.candidate.long_season
    name = season.name if season is not None else "long season"
    return LagEvidence(season=name, gain=gain, margin=margin, origins=n)


def eligible(
    trained: Sequence[TrainedCandidate], data: TrainingData
) -> tuple[list[TrainedCandidate], LagEvidence | None]:
    """The candidates the choice is made among, and the evidence for the long season's lag
    (None when no candidate reads it, or none that does would be chosen).

    The lag is an input the candidates without it do not have, and validation holds a few
    origins (a day apart on hourly data): a lag candidate with the lowest validation MAE by less
    than chance explains is as likely fitted to those few days as better. So the group with the
    lag must win by more than two standard errors of the paired per-origin difference (the
    Diebold-Mariano test the bench's verdicts use), or the choice is made without it: the
    simpler inputs win a tie, as in the one-standard-error rule of model selection. The lag
    candidates left out are marked ``within_noise`` (shown beside their validation MAE).
    """
    best = choose(trained)
    plain = [c for c in trained if c.candidate.long_season is None]
    if best.candidate.long_season is None or not plain or best.val_mae is None:
        return list(trained), None
    evidence = lag_evidence(best, choose(plain), data)
    if evidence.beyond_noise:
        return list(trained), evidence
    for c in trained:
        c.within_noise = c.candidate.long_season is not None
    return plain, evidence


def best_epoch_count(history: Sequence[dict[str, float]], early_stopping: bool) -> int:
    """Epochs up to the lowest validation loss when early stopping restored those weights,
    otherwise all the epochs trained."""
    losses = [h.get("val_loss") for h in history]
    known = [(v, i) for i, v in enumerate(losses) if v is not None]
    if early_stopping and known:
        return min(known)[1] + 1
    return max(len(history), 1)


def build(
    candidate: Candidate,
    data: TrainingData,
    config: TrainingConfig,
    *,
    origins: np.ndarray,
    validation: np.ndarray | None,
    seed: int,
) -> tuple[Any, Any, Any]:
    """A freshly built model of ``candidate`` and its datasets: the windows at ``origins`` and
    at ``validation`` (None without)."""
    from gapcast.model_training.general_model import GeneralModel
    from gapcast.model_training.ml_strategy import get_strategy

    t = config.training
    data = data_for(candidate, data)
    layout = data.pipeline.layout
    strategy = get_strategy(candidate.model)(candidate.hyperparameters)
    gm = GeneralModel(
        strategy,
        learning_rate=t.learning_rate,
        seed=seed,
        loss=t.loss,
        weight_decay=t.weight_decay or None,
    )
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
            store=data.window_store,
            # Outages are drawn onto training windows only: validation reads what is there.
            outages=t.drawn_outages if shuffle else 0.0,
            outage_lengths=data.training_outages,
        )

    val = dataset(validation, False, t.max_windows) if validation is not None else None
    return model, dataset(origins, True, t.max_windows), val


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
    model, train_set, val_set = build(
        candidate, data, config, origins=origins, validation=validation, seed=seed
    )
    started = time.perf_counter()
    fit_model(model, train_set, val_set, epochs=epochs, callbacks=callbacks)
    pipeline = data_for(candidate, data).pipeline
    return Forecaster(model, pipeline, candidate.correction), time.perf_counter() - started


def combine(trained: Sequence[TrainedCandidate], data: TrainingData) -> TrainedCandidate | None:
    """The average of the finalists' forecasts as one more candidate, scored like them; None
    with fewer than two scored finalists (a named model, or one left by pruning). The finalists
    read the same inputs (with or without the long season's lag: model "auto" averages each
    group apart), so one model averages them.

    The average is taken in window-relative units, where the members' outputs and their shares of
    the reference add up: a corrected and a plain member average to their mean output plus half
    the reference (``Forecaster.correction`` 0.5), which is the mean of their forecasts in real
    units (the mapping back is linear per window). The members keep equal weights: weights fitted
    on the validation origins would be fitted on the very figures that choose between the average
    and its members.
    """
    from gapcast.model_training.general_model import average_models

    finalists = [c for c in trained if not c.pruned and c.val_mae is not None and not c.members]
    if len(finalists) < 2:
        return None
    if len({c.candidate.long_season for c in finalists}) > 1:
        raise ValueError("finalists with and without the long season's lag read other inputs")
    data = data_for(finalists[0].candidate, data)
    started = time.perf_counter()
    members = tuple(c.candidate for c in finalists)
    forecaster = Forecaster(
        average_models([c.forecaster.model for c in finalists], name=COMBINATION),
        data.pipeline,
        float(np.mean([c.forecaster.correction for c in finalists])),
    )
    # The loss curves shown for the average are its best member's.
    best = min(finalists, key=lambda c: c.val_mae if c.val_mae is not None else np.inf)
    return TrainedCandidate(
        candidate=Candidate(
            COMBINATION,
            any(m.correction for m in members),
            reference=members[0].reference,
            members=members,
            long_season=members[0].long_season,
        ),
        forecaster=forecaster,
        history=best.history,
        best_epochs=max(c.best_epochs for c in finalists),
        val_mae=validation_mae(forecaster, data),
        seconds=time.perf_counter() - started,
        members=tuple(finalists),
    )


def halfway(kept: TrainedCandidate, data: TrainingData) -> TrainedCandidate | None:
    """``kept``'s forecast averaged with the reference's (the last value, or the value one
    season earlier) as one more candidate, scored like the rest; None without a reference.

    Shrinking a learned forecast towards naive is the oldest combination of forecasting practice
    (the M competitions' "Comb" and Theta average with simple methods): where the learned part
    is mostly noise around naive, as on a sensor series that naive nearly beats, half of it is
    closer to the truth than all of it, and where it is not, validation says so. In window-
    relative units the average is half the model's output plus the mean of the reference shares
    (1 for the reference itself), so it is stored as one Keras model whose output is halved.
    """
    from gapcast.model_training.general_model import halved_model

    if data.pipeline.window.season_steps is None or kept.val_mae is None:
        return None
    data = data_for(kept.candidate, data)
    started = time.perf_counter()
    c = kept.candidate
    forecaster = Forecaster(
        halved_model(kept.forecaster.model),
        data.pipeline,
        (float(kept.forecaster.correction) + 1.0) / 2.0,
    )
    return TrainedCandidate(
        candidate=replace(c, halfway=True),
        forecaster=forecaster,
        history=kept.history,
        best_epochs=kept.best_epochs,
        val_mae=validation_mae(forecaster, data),
        seconds=time.perf_counter() - started,
        members=kept.members,
        base=kept,
    )


def choose(trained: Sequence[TrainedCandidate]) -> TrainedCandidate:
    """The candidate with the lowest validation MAE among those trained to the end (a pruned one
    was scored after fewer epochs; the first one when none was scored)."""
    finished = [c for c in trained if not c.pruned] or list(trained)
    scored = [c for c in finished if c.val_mae is not None]
    if not scored:
        return finished[0]
    return min(scored, key=lambda c: c.val_mae if c.val_mae is not None else np.inf)
