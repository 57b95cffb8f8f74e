"""Turning a train request into a queued run: resolve dataset and config, apply overrides, check.

Everything a request can get wrong is found here, before a run exists, so the client gets an
``error`` naming the field and close code 1008 instead of a run that fails a minute later.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy.orm import Session

from gapcast.api.errors import invalid_from_validation
from gapcast.api.messages import TrainRequest
from gapcast.api.window_check import check_windows
from gapcast.config import Settings
from gapcast.db import repository
from gapcast.db import runs as run_store
from gapcast.db.tables import Dataset, Run, TrainingConfigRow
from gapcast.errors import GapcastError, InvalidInput
from gapcast.execution.recorder import EventRecorder, status_message
from gapcast.training_config import TrainingConfig


def validate_config(data: Any, *, prefix: str = "config") -> TrainingConfig:
    """A TrainingConfig from JSON data; errors name the field (``config.training.epochs``)."""
    if not isinstance(data, dict):
        raise InvalidInput(
            f"expected a config object, received {type(data).__name__}", field=prefix
        )
    try:
        return TrainingConfig.model_validate(data)
    except ValidationError as exc:
        raise invalid_from_validation(exc, data, prefix=prefix) from exc
    except GapcastError as exc:  # the model registry's own checks (unknown model, hyperparameters)
        if exc.field is not None and not exc.field.startswith(prefix):
            exc.field = f"{prefix}.{exc.field}"
        raise


def resolve_config(
    session: Session, ref: str | int | dict[str, Any] | None, overrides: dict[str, Any]
) -> tuple[TrainingConfig, TrainingConfigRow | None]:
    row = None
    if ref is None:
        config = TrainingConfig()
    elif isinstance(ref, dict):
        config = validate_config(ref)
    else:
        row = repository.get_config(session, str(ref) if isinstance(ref, str) else ref)
        config = validate_config(row.body)
    if overrides:
        try:
            config = config.with_overrides(overrides)
        except ValidationError as exc:
            raise invalid_from_validation(
                exc, config.model_dump(mode="json"), prefix="config"
            ) from exc
        except GapcastError as exc:
            if exc.field is not None and not exc.field.startswith(("overrides", "config")):
                exc.field = f"config.{exc.field}"
            raise
    return config, row


def check_channels(dataset: Dataset, config: TrainingConfig) -> None:
    """Refuse a target or covariate the dataset does not have (the worker would fail on it)."""
    names = [s.name for s in dataset.series]
    for field, wanted in (
        ("target", config.target or []),
        ("covariates", config.covariates),
        ("future_covariates", config.future_covariates),
    ):
        for i, name in enumerate(wanted):
            if name not in names:
                raise InvalidInput(
                    f"dataset {dataset.name!r} has no channel {name!r}; its channels are "
                    f"{', '.join(map(repr, names))}",
                    field=f"config.{field}[{i}]",
                )


def check_length(dataset: Dataset, config: TrainingConfig) -> None:
    """Refuse a series whose training part cannot hold one window, or whose test part cannot hold
    one horizon; finer checks (gaps, the resolved season) happen in the worker."""
    from gapcast.processing.seasons import default_horizon, default_lookback, fitted_sizes

    lookback, horizon = config.window()
    if dataset.start is None or dataset.end is None or not dataset.frequency_ns:
        steps = dataset.point_count
        freq_ns = None
    else:
        freq_ns = dataset.frequency_ns
        for step in config.preprocessing:
            if step.step == "resample" and step.freq is not None:
                # A calendar alias ('MS') raises: the worker's resample step judges it.
                with contextlib.suppress(ValueError):
                    freq_ns = max(freq_ns, int(pd.to_timedelta(step.freq).value))
        span_ns = (dataset.end - dataset.start).total_seconds() * 1e9
        steps = int(span_ns // freq_ns) + 1
    # Unset sizes are judged by the smallest the worker may resolve them to.
    said = {"lookback": lookback is not None, "horizon": horizon is not None}
    if horizon is None:
        horizon = default_horizon(freq_ns) if freq_ns else 1
    if lookback is None:
        lookback = default_lookback(freq_ns, [], None, horizon=horizon) if freq_ns else 1
    split = next((s for s in config.preprocessing if s.step == "split"), None)
    val, test = (split.val, split.test) if split is not None else (0.0, 0.0)
    train_steps = int(steps * (1 - val - test))
    test_steps = round(steps * test) if split is not None else steps
    # A short series' unset sizes are cut to fit it, as the worker's window step cuts them.
    held = [n for n in (test_steps, round(steps * val)) if n > 0] if split is not None else []
    lookback, horizon, _ = fitted_sizes(
        lookback,
        horizon,
        train=train_steps,
        held_out=min(held, default=0),
        season=None,
        lookback_given=said["lookback"],
        horizon_given=said["horizon"],
    )
    sizes = ", ".join(
        f"{name} {value}{'' if said[name] else ' (the default for this frequency)'}"
        for name, value in (("lookback", lookback), ("horizon", horizon))
    )
    if train_steps < lookback + horizon or test_steps < horizon:
        part = (
            f"its training part ({train_steps} steps) cannot hold one window of {sizes}"
            if train_steps < lookback + horizon
            else f"its test part ({test_steps} steps) cannot hold one horizon of {horizon}"
        )
        # The largest sizes that would fit, so the fix is one retry, not a search.
        fit_h = min(horizon, test_steps, max(train_steps // 3, 1))
        fit_l = min(lookback, train_steps - fit_h)
        example = f" (at most lookback {fit_l} with horizon {fit_h})" if fit_l >= 1 else ""
        raise InvalidInput(
            f"dataset {dataset.name!r} is too short: {steps} time steps; {part}. Use a smaller "
            f"lookback/horizon{example} or more data",
            field="config.preprocessing",
        )


def submit(recorder: EventRecorder, settings: Settings, request: TrainRequest, run_id: str) -> Run:
    """Create the run and its first event (``status queued``) in one transaction."""
    # The window check reads the target's points: done first, in a session of its own, because
    # the recorder's lock (held while ``build`` runs) serialises the events of every run.
    with recorder.sessions() as session:
        dataset = repository.get_dataset(session, request.dataset)
        config, _ = resolve_config(session, request.config, request.overrides)
        check_channels(dataset, config)
        check_length(dataset, config)
        check_windows(session, dataset, config)
    created: list[Run] = []

    def build(session: Session) -> list[dict[str, Any]]:
        dataset = repository.get_dataset(session, request.dataset)
        config, row = resolve_config(session, request.config, request.overrides)
        check_length(dataset, config)
        created.append(
            run_store.create_run(
                session,
                dataset=dataset,
                config=config,
                config_row=row,
                max_queued=settings.max_queued_runs,
                run_id=run_id,
            )
        )
        return [status_message("queued")]

    recorder.record(run_id, build)
    return created[0]
