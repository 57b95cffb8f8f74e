"""Successive halving of the candidates of model "auto": train all for a rung, the better half on.

As Hyperband/ASHA prune trials: each candidate trains :data:`RUNG_EPOCHS` epochs and is scored by
its validation MAE (the figure the choice uses); the better half goes on to its early stop on the
same model, the rest stand as they are, marked ``pruned``. What the candidates are, and how the
one kept is chosen, is :mod:`candidates`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from gapcast.model_training.candidates import (
    Candidate,
    TrainedCandidate,
    best_epoch_count,
    build,
    data_for,
    validation_mae,
)
from gapcast.model_training.forecaster import Forecaster, fit_model
from gapcast.model_training.training_data import TrainingData
from gapcast.training_config import TrainingConfig

# Epochs of the rung of successive halving (why three: see rung_epochs).
RUNG_EPOCHS = 3


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
