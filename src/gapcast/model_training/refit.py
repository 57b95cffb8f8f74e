"""The final model: the chosen candidate trained again on train + validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gapcast.events import LogEvent
from gapcast.model_training.candidates import TrainedCandidate, data_for
from gapcast.model_training.candidates import train as train_candidate
from gapcast.model_training.epoch_log import EpochLog
from gapcast.model_training.forecaster import Forecaster
from gapcast.model_training.training_data import TrainingData
from gapcast.training_config import TrainingConfig

# (checkpoint name, epochs of the whole refit, epochs before this copy) -> the copy's callbacks
CallbacksFor = Callable[[str, int, int], list[Any]]


def refit(
    chosen: TrainedCandidate,
    data: TrainingData,
    config: TrainingConfig,
    *,
    callbacks_for: CallbacksFor,
    checkpoint_dir: Path | None,
    log: Callable[[LogEvent], None],
) -> tuple[Forecaster, int | None]:
    """The chosen candidate trained again on train + validation for its best epoch count (the
    most recent data is what a forecast leans on most), as ``ensemble`` copies with seeds
    ``seed``, ``seed + 1``, ... averaged in one stored model; as trained when refit is off or
    there is no validation part. A combination refits ``ensemble`` copies of each member (seeds
    ``seed``, ``seed + 1``, ... for each), each for the member's own epoch count, all averaged in
    one model (equal weights, as validated). Returns the model and the epochs it trained (None:
    not refit).

    The copies train one after another, each with its own initial weights *and* its own order
    of windows: trained side by side on the same batches (one compiled step), the copies stayed
    too alike and their average was no better than one on the quality suite, while independent
    copies beat a single model on all five series (bench/README.md).
    """
    from gapcast.model_training.general_model import average_models, halved_model

    t = config.training
    if not t.refit or not len(data.origins["val"]):
        return chosen.forecaster, None
    data = data_for(chosen.candidate, data)
    if chosen.base is not None:
        # A forecast halfway to its reference: what it halves, refit, then halved.
        base, base_epochs = refit(
            chosen.base,
            data,
            config,
            callbacks_for=callbacks_for,
            checkpoint_dir=checkpoint_dir,
            log=log,
        )
        return Forecaster(
            halved_model(base.model), data.pipeline, chosen.forecaster.correction
        ), base_epochs
    members = chosen.members or (chosen,)
    # Each member's copies take the seeds a refit of that member alone would: the average then
    # differs from its members by the choice of members only, not by luckier or unluckier seeds
    # (on the suite's CO₂, 5 copies of one MLP scored 0.384 with seeds 42-46 and 0.402 with
    # 47-51).
    plan = [(member, t.seed + i) for member in members for i in range(t.ensemble)]
    total = sum(m.best_epochs for m, _ in plan)
    each = ", ".join(f"{m.candidate.label} {m.best_epochs}" for m in members)
    average = f", an average of {len(plan)} copies" if len(plan) > 1 else ""
    log(
        LogEvent(
            message=f"{chosen.candidate.label}: refit on train + validation for "
            f"{each if chosen.members else chosen.best_epochs} epoch(s){average}"
        )
    )
    origins = np.concatenate([data.origins["train"], data.origins["val"]])
    models, done = [], 0
    for i, (member, seed) in enumerate(plan):
        # Copy 0 keeps the single model's checkpoint names: a run resumed across versions (or
        # with ensemble 1) finds its files.
        name = "refit" if i == 0 else f"refit-{i}"
        epochs = EpochLog(checkpoint_dir, name)
        forecaster, _ = train_candidate(
            member.candidate,
            data,
            config,
            origins=origins,
            validation=None,
            epochs=member.best_epochs,
            callbacks=[epochs.callback(), *callbacks_for(name, total, done)],
            seed=seed,
        )
        done += member.best_epochs
        models.append(forecaster.model)
    final = Forecaster(average_models(models), data.pipeline, chosen.forecaster.correction)
    return final, max(m.best_epochs for m in members)
