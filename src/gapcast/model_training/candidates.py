"""Model choice: which candidates a run trains, and the one it keeps.

``model: "auto"`` (the default) trains a linear model and an MLP, each as a plain forecaster and
as "reference + learned correction", and keeps the candidate with the lowest MAE on the
validation origins (a horizon apart) — scored like the test backtest, in real units, origins
right after outages included. The reference is the seasonal naive value when the data has a
season, the last value (naive) when it has none. Naming a model trains just that model, with
the correction on (``training.correction`` overrides both; a window step with ``season="none"``
has no reference).
The four candidates of "auto" are trained by successive halving: all of them for a short rung,
then only the better half on to early stopping. The finalists' average is one more candidate
(:func:`combine`), scored on the same validation origins at no training cost: a combination of
forecasts is often better than the best of them (the lesson of the M3/M4 competitions), and where
it is not, validation says so and a single model is kept. Last, the candidate kept so far taken
halfway to its reference (:func:`halfway`) is scored the same way.

When a longer season holds beyond the reference's (:func:`data_for`;
``training.long_season_lag``, on by default), each of the four is offered again with that
season's lag as an input; each group is halved and averaged alone, and a lag candidate is kept
only when it wins beyond the noise (:func:`eligible`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
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
# Epochs of the rung of successive halving (why three: see rung_epochs).
RUNG_EPOCHS = 3
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


class _Training:
    """One candidate being trained: its model, datasets and callbacks, fitted in one stretch of
    epochs or, under successive halving, in two (the rung, then the rest) on the same model."""

    def __init__(
        self,
        candidate: Candidate,
        data: TrainingData,
        config: TrainingConfig,
        *,
        callbacks_for: Callable[[Candidate], list[Any]],
        history_for: Callable[[Candidate], Any],
    ) -> None:
        from gapcast.model_training.callbacks import make_early_stopping

        t = config.training
        has_val = len(data.origins["val"]) > 0
        data = data_for(candidate, data)
        self.candidate, self.data, self.epochs_wanted = candidate, data, t.epochs
        self.log = history_for(candidate)
        best = (
            self.log.path.with_name(self.log.path.name.replace(".history.json", ".best.npz"))
            if self.log.path
            else None
        )
        self.stop = make_early_stopping(
            t.patience, has_validation=has_val, best_path=best, history=self.log.history
        )
        self.callbacks = [
            self.log.callback(),
            *callbacks_for(candidate),
            *([self.stop] if self.stop else []),
        ]
        # run_candidates makes a _Training right before its first fit, as when each candidate
        # trained in one go: the build seeds the global and backend generators (initial weights,
        # dropout), so another candidate built in between would change this one's training. The
        # batch order needs no such care: each dataset draws it from its own generator, and
        # fit_model asks for the batches in order.
        self.model, self.train_set, self.val_set = build(
            candidate,
            data,
            config,
            origins=data.origins["train"],
            validation=data.origins["val"] if has_val else None,
            seed=t.seed,
        )
        self.seconds = 0.0
        self.fitted_to = 0  # epochs asked of the fits so far

    def fit(self, epochs: int) -> None:
        """Train up to epoch ``epochs`` (a later call continues where this one ended)."""
        if self.fitted_to:
            # A backup loaded by the first fit leaves its epoch on the model, and Keras would
            # start the next fit there instead of at initial_epoch.
            self.model._initial_epoch = None
            if self.stop is not None:
                self.stop.continue_next_fit()
            self.train_set.continue_next_fit()
        started = time.perf_counter()
        fit_model(
            self.model,
            self.train_set,
            self.val_set,
            epochs=epochs,
            callbacks=self.callbacks,
            initial_epoch=self.fitted_to,
        )
        self.seconds += time.perf_counter() - started
        self.fitted_to = epochs

    @property
    def stopped(self) -> bool:
        """Whether early stopping ended the training already."""
        return self.stop is not None and self.stop.stopped_epoch > 0

    def result(self) -> TrainedCandidate:
        """The candidate as it stands (best weights back in place), scored."""
        forecaster = Forecaster(self.model, self.data.pipeline, self.candidate.correction)
        history = self.log.history()
        return TrainedCandidate(
            candidate=self.candidate,
            forecaster=forecaster,
            history=history,
            best_epochs=best_epoch_count(history, self.stop is not None),
            val_mae=validation_mae(forecaster, self.data),
            seconds=self.seconds,
        )


def rung_epochs(candidates: int, epochs: int, has_validation: bool) -> int | None:
    """Epochs every candidate trains before the worse half stops, None for no halving.

    Three: a candidate trains at least 1 + patience epochs (6 by default) before early stopping
    ends it, so the rung costs half the least a full candidate costs. A candidate whose best
    epoch is within the rung already scores there exactly what it scores at its end (the rung is
    scored with the best weights so far). Two epochs were tried first: on the suite's
    sea_temp_hourly they pruned the MLP with naive correction that a full run keeps (its
    validation MAE overtakes the linear models' only from the third epoch), and the test MAE
    rose by 4%; with three, every suite series keeps the candidate a run without halving keeps.
    With two candidates or fewer (a named model; "auto" without a season) halving would save at
    most one candidate's training and bet the choice on the rung, so they train as before;
    without validation windows there is nothing to rank them by.
    """
    if candidates <= 2 or not has_validation or epochs <= RUNG_EPOCHS:
        return None
    return RUNG_EPOCHS


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
    """Train each candidate with early stopping on the validation windows and score it, in the
    order given.

    With more than two candidates, successive halving (as Hyperband/ASHA prune trials): each
    trains :data:`RUNG_EPOCHS` epochs and is scored by its validation MAE (the figure the choice
    uses); the better half goes on to its early stop on the same model, the rest are returned
    as they stand with ``pruned`` set.

    ``restore`` gives back a candidate an earlier attempt of the run finished (then it is not
    trained again; a pruned one is finished), ``keep`` saves one that just finished. A survivor
    the earlier attempt had not finished trains again (resuming from its own backup, if any);
    once an earlier attempt kept a pruned candidate, the rung is behind it, so the rest train
    to their end without one.
    """
    done: dict[int, TrainedCandidate] = {}
    for i, candidate in enumerate(candidates):
        restored = restore(candidate, data)
        if restored is not None:
            on_trained(restored)
            done[i] = restored
    pending = [i for i in range(len(candidates)) if i not in done]
    ranked = any(c.pruned for c in done.values())
    t = config.training
    groups = Counter(c.long_season for c in candidates)
    rung = rung_epochs(max(groups.values(), default=0), t.epochs, len(data.origins["val"]) > 0)

    def finish(i: int, training: _Training) -> None:
        result = training.result()
        keep(result)
        on_trained(result)
        done[i] = result

    def start(i: int) -> _Training:
        return _Training(
            candidates[i], data, config, callbacks_for=callbacks_for, history_for=history_for
        )

    if rung is not None and not ranked and len(pending) > 2:
        trainings: dict[int, _Training] = {}
        at_rung: dict[int, TrainedCandidate] = {}
        for i in pending:
            trainings[i] = start(i)
            trainings[i].fit(rung)
            at_rung[i] = trainings[i].result()
        scores = {i: r.val_mae for i, r in at_rung.items()}
        if all(v is not None for v in scores.values()):
            survivors = set()
            # Halved within each group of inputs (with and without the long season's lag): the
            # group without it then keeps the finalists it keeps alone, and a rung of both
            # cannot prune its slower learners in favour of the other's faster ones.
            for long in dict.fromkeys(candidates[i].long_season for i in pending):
                group = [i for i in pending if candidates[i].long_season == long]
                order = sorted(group, key=lambda i: (scores[i], i))
                survivors |= set(order[: max(1, len(group) // 2)] if len(group) > 2 else group)
        else:
            survivors = set(pending)  # an unscored candidate cannot be ranked: train them all
        for i in pending:
            if i not in survivors:
                result = at_rung[i]
                result.pruned = True
                keep(result)  # a pruned candidate is finished: a resume does not retrain it
                on_trained(result)
                done[i] = result
        for i in pending:
            if i in survivors:
                training = trainings.pop(i)
                if not training.stopped:
                    training.fit(t.epochs)
                finish(i, training)
            else:
                del trainings[i]
    else:
        for i in pending:
            training = start(i)
            training.fit(t.epochs)
            finish(i, training)
    return [done[i] for i in range(len(candidates))]
