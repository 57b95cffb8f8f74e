"""MLRunner: one training run — prepare → gaps → (gap classifier) → candidates → refit →
backtest → save.

The runner never touches the database: it returns a :class:`RunResult` holding the figures and the
artifacts' bytes, and the caller stores it in one transaction. Progress leaves through ``on_event``
as the typed events of :mod:`gapcast.events`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import Cancelled, InvalidInput
from gapcast.events import (
    CandidateEvent,
    CandidateScore,
    GapsEvent,
    LogEvent,
    ProgressEvent,
    StatusEvent,
)
from gapcast.model_training import backtest, run_warnings
from gapcast.model_training import callbacks as cb
from gapcast.model_training.backtest import Detail
from gapcast.model_training.candidate_store import CandidateStore
from gapcast.model_training.candidates import (
    TrainedCandidate,
    candidates_for,
    choose,
    combine,
    data_for,
    eligible,
    halfway,
)
from gapcast.model_training.epoch_log import EpochLog
from gapcast.model_training.forecaster import Forecaster
from gapcast.model_training.gap_model import GapTrainingResult
from gapcast.model_training.gap_stage import SAVED_NAME as GAP_SAVED_NAME
from gapcast.model_training.gap_stage import gap_stage
from gapcast.model_training.halving import run_candidates
from gapcast.model_training.intervals import Intervals, calibrate
from gapcast.model_training.phase_scale import damped, fit_phase_scale, has_phases
from gapcast.model_training.refit import refit
from gapcast.model_training.results import (
    ForecastMetrics,
    GapMetrics,
    RunResult,
)
from gapcast.model_training.run_artifacts import run_artifacts
from gapcast.model_training.run_information import RunInformation
from gapcast.model_training.stored_pipeline import (
    resolved_config,
)
from gapcast.model_training.training_data import TrainingData, prepare
from gapcast.processing._time import format_duration
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import AUTO, TrainingConfig

Event = StatusEvent | ProgressEvent | GapsEvent | LogEvent | CandidateEvent
# Validation origins the intervals are calibrated on, at most (evenly spaced): plenty for the
# quantiles of each lead time, bounded work on minute data.
MAX_CALIBRATION_ORIGINS = 5_000


class MLRunner:
    """Runs one training configuration on one series.

    ``cancel``: anything with ``is_set()``; checked before each call of Keras's train step (16
    batches, ``general_model.STEPS_PER_EXECUTION``), the run then raises
    :class:`~gapcast.errors.Cancelled` within that many batches. ``checkpoint_dir``: where Keras's
    BackupAndRestore keeps the state of an unfinished run, so running again with the same directory
    resumes at the next epoch; the end-of-epoch ProgressEvent of epoch N is emitted only once
    epoch N's backup and log are written there, so copying the directory on that event captures
    epoch N. ``pool``: a ProcessingPool (its cache is reused across runs).
    """

    def __init__(
        self,
        config: TrainingConfig,
        run_info: RunInformation | None = None,
        *,
        on_event: Callable[[Event], None] | None = None,
        cancel: cb.CancelFlag | None = None,
        checkpoint_dir: str | Path | None = None,
        pool: Any = None,
        zone: str | None = None,
    ) -> None:
        self.config = config
        self.run_info = run_info if run_info is not None else RunInformation.from_config(config)
        self.on_event = on_event
        self.cancel = cancel
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.pool = pool
        # The zone the data was imported in (None: UTC). The gap classifier's positions in the
        # week, the ranges' profile by the hour and the times the figures and warnings name are
        # read on its wall clock; the calendar inputs stay in UTC (bench/README.md).
        self.zone = zone
        self.candidates = CandidateStore(self.checkpoint_dir)

    # -- events and cancellation ---------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _status(self, stage: Any, message: str | None = None) -> None:
        self._check_cancel()
        self._emit(StatusEvent(stage=stage, message=message))

    def _check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled")

    def _callbacks(
        self,
        name: str,
        epochs: int,
        batch_size: int,
        model: Any,
        *,
        phase: Any = None,
        candidate: str | None = None,
        epoch_offset: int = 0,
    ) -> list[Any]:
        out: list[Any] = []
        if self.cancel is not None:
            out.append(cb.make_cancel_callback(self.cancel))
        # Keras runs epoch-end hooks in list order. The backup comes before the progress callback
        # so that an end-of-epoch ProgressEvent means "this epoch is on disk": the Ray worker
        # ships the checkpoint directory on that event and would otherwise ship the epoch before.
        if self.checkpoint_dir is not None:
            out.append(cb.make_backup_callback(str(self.checkpoint_dir / name)))
        if self.on_event is not None:
            out.append(
                cb.make_progress_callback(
                    self._emit,
                    epochs=epochs,
                    batch_size=batch_size,
                    model=model,
                    phase=phase,
                    candidate=candidate,
                    epoch_offset=epoch_offset,
                )
            )
        return out

    # -- the run -------------------------------------------------------------------------------

    def run(self, frame: SeriesFrame) -> RunResult:
        started = time.perf_counter()
        self._status("preparing")
        data = prepare(frame, self.config, self.pool)
        self._describe(data)
        gap = self._gaps(data)
        trained, chosen = self._candidates(data)
        # From here on the data as the kept candidate reads it (and its pipeline is stored).
        data = data_for(chosen.candidate, data)
        self.run_info.pipeline_config = data.pipeline_config
        forecaster, refit_epochs = self._final_model(data, chosen)

        self._status("evaluating")
        metrics, detail = self._evaluate(data, frame, forecaster, trained, chosen)
        gap_metrics = GapMetrics.model_validate(gap.metrics) if gap is not None else None

        self._status("saving")
        history = chosen.history
        artifacts = run_artifacts(data, chosen, forecaster, gap, metrics, detail, history)
        info = self.run_info
        info.model = self.config.model
        info.runtime_s = time.perf_counter() - started
        info.epochs_run = refit_epochs if refit_epochs is not None else len(history)
        info.loss, info.val_loss = last_losses(history)
        info.history = history
        info.metrics = metrics.model_dump(mode="json")
        info.gap_metrics = gap_metrics.model_dump(mode="json") if gap_metrics else None
        info.artifacts = [a.ref() for a in artifacts]
        self._clear_checkpoints()
        return RunResult(
            run_info=info,
            metrics=metrics,
            gap_metrics=gap_metrics,
            epochs=info.epochs_run,
            runtime_s=info.runtime_s,
            loss=info.loss,
            val_loss=info.val_loss,
            history=history,
            artifacts=artifacts,
            pipeline_config=data.pipeline_config,
            gap_report=data.gap_summary,
            config=resolved_config(self.config, data),
        )

    # -- the stages ----------------------------------------------------------------------------

    def _describe(self, data: TrainingData) -> None:
        """What the run resolved, into its information; refuses data too short for a window."""
        from gapcast.model_training.keras_env import backend_name

        info = self.run_info
        info.freq_ns, info.channels = data.freq_ns, data.channels
        info.targets, info.covariates = data.targets, data.covariates
        info.future_covariates = data.future_covariates
        info.pipeline_config = data.pipeline_config
        info.lookback, info.horizon = data.lookback, data.horizon
        if shortened := getattr(data.pipeline.window, "shortened_", None):
            self._emit(LogEvent(message=shortened))
        if data.unused_channels:
            self._emit(LogEvent(level="warning", message=unused_channels_message(data)))
        if changed := data.pipeline.step_change:
            self._emit(LogEvent(message=step_change_message(*changed, data.freq_ns, self.zone)))
        if held := data.pipeline.held_channels:
            self._emit(LogEvent(message=held_channels_message(held, data.freq_ns)))
        info.keras_backend = backend_name()
        if len(data.origins["train"]) == 0 or len(data.origins["test"]) == 0:
            val_start, test_start = data.split
            parts = {
                "training": data.observed[:val_start],
                "validation": data.observed[val_start:test_start],
                "test": data.observed[test_start:],
            }
            # How observed each part is tells a short series from one whose readings thinned out
            # (a logger that changed its step midway leaves most of the later grid empty).
            observed = ", ".join(
                f"{name} {part.size:,} steps, {part.mean():.0%} observed"
                for name, part in parts.items()
                if part.size
            )
            raise InvalidInput(
                f"too little data: {len(data.origins['train'])} training and "
                f"{len(data.origins['test'])} test windows of lookback {info.lookback} + "
                f"horizon {info.horizon}; expected at least one each (on the "
                f"{format_duration(data.freq_ns)} grid: {observed})",
                field="config.preprocessing",
            )

    def _gaps(self, data: TrainingData) -> GapTrainingResult | None:
        """Reports the gaps found; trains the gap classifier when they call for one."""
        mode = self.config.training.gap_classifier
        recurring = data.recurring_at(self.zone)
        called = data.large_outages > 0 or recurring.size > 0
        want = mode == "always" or (mode == "auto" and called)
        s = data.gap_summary
        self._emit(
            GapsEvent(
                gaps=s.gaps,
                small=s.small,
                large=s.large,
                missing_points=s.missing_points,
                observed_fraction=s.observed_fraction,
                gap_classifier=want,
            )
        )
        return self._gap_stage(data, recurring) if want else None

    def _candidates(self, data: TrainingData) -> tuple[list[TrainedCandidate], TrainedCandidate]:
        """Every candidate trained and scored (the finalists' average among them), and the one
        kept."""
        cfg = self.config
        window = data.pipeline.window
        long = window.longer_season() if cfg.training.long_season_lag else None
        candidates = candidates_for(cfg, season=window.season_steps, long_season=long)
        names = ", ".join(c.label for c in candidates)
        score: CandidateScore = "mean_mase" if len(data.targets) > 1 else "mae"

        def announce(trained: TrainedCandidate) -> None:
            self._announce(trained, score)

        self._status("training", f"{names}: {len(data.origins['train'])} windows")
        trained = run_candidates(
            candidates,
            data,
            cfg,
            callbacks_for=lambda c: self._callbacks(
                f"candidate-{c.key}",
                cfg.training.epochs,
                cfg.training.batch_size,
                "forecaster",
                phase="candidate",
                candidate=c.key,
            ),
            history_for=lambda c: EpochLog(self.checkpoint_dir, f"candidate-{c.key}"),
            on_trained=announce,
            restore=self.candidates.restore,
            keep=self.candidates.keep,
        )
        # Scored from the finalists as they stand (restored ones too), so never kept on disk.
        # Each group of inputs (with and without the long season's lag) averaged alone.
        for long in dict.fromkeys(c.candidate.long_season for c in trained):
            combination = combine([c for c in trained if c.candidate.long_season == long], data)
            if combination is not None:
                announce(combination)
                trained = [*trained, combination]
        pool, evidence = eligible(trained, data)
        if evidence is not None:
            self._emit(LogEvent(message=evidence.message))
        # Model auto only, and not when told to forecast the value itself (correction "off").
        offer = cfg.model == AUTO and cfg.training.correction != "off"
        shrunk = halfway(choose(pool), data) if offer else None
        if shrunk is not None:
            announce(shrunk)
            trained = [*trained, shrunk]
            pool = [*pool, shrunk]
        return trained, choose(pool)

    def _final_model(
        self, data: TrainingData, chosen: TrainedCandidate
    ) -> tuple[Forecaster, int | None]:
        """The stored forecaster: the chosen candidate refit, with intervals calibrated on the
        chosen candidate before the refit saw the validation part."""
        intervals = self._calibrate(data, chosen)
        forecaster, refit_epochs = refit(
            chosen,
            data,
            self.config,
            callbacks_for=lambda name, total, done: self._callbacks(
                name,
                total,
                self.config.training.batch_size,
                "forecaster",
                phase="refit",
                candidate=chosen.candidate.key,
                epoch_offset=done,
            ),
            checkpoint_dir=self.checkpoint_dir,
            log=self._emit,
        )
        forecaster.intervals = intervals
        return forecaster, refit_epochs

    def _evaluate(
        self,
        data: TrainingData,
        frame: SeriesFrame,
        forecaster: Forecaster,
        trained: list[TrainedCandidate],
        chosen: TrainedCandidate,
    ) -> tuple[ForecastMetrics, Detail]:
        """The backtest on the test part, beside the baselines, with the candidates' figures."""
        t = self.config.training
        figures, detail = backtest.run_backtest(
            data,
            forecaster,
            frame,
            label=chosen.candidate.label,
            stride=t.origin_stride,
            stats_models=t.baselines,
            zone=self.zone,
        )
        loss, val_loss = last_losses(chosen.history)
        figures.update(scores(figures, "model"))
        figures["model_label"] = chosen.candidate.label
        figures["lookback"], figures["horizon"] = data.lookback, data.horizon
        figures["reference_season"] = data.pipeline.window.season_steps
        figures["warnings"] = run_warnings.warnings_for(figures, loss=loss, val_loss=val_loss)
        figures["warnings"] += run_warnings.glitch_warnings(data.glitches, self.zone)
        figures["warnings"] += run_warnings.flatline_warnings(
            data.real, data.targets, data.grid_ts, data.freq_ns, zone=self.zone
        )
        figures["warnings"] += run_warnings.running_total_warnings(data.real, data.targets)
        # Covariates as given (their real units: the preparation may scale the grid's).
        inputs = [*data.covariates, *data.future_covariates]
        if inputs:
            rows = [frame.channel_index(c) for c in inputs]
            given = np.where(frame.mask[rows], frame.values[rows], np.nan)
            figures["warnings"] += run_warnings.flatline_warnings(
                given, inputs, frame.timestamps, data.freq_ns, covariates=True, zone=self.zone
            )
            figures["warnings"] += run_warnings.running_total_warnings(
                given, inputs, covariates=True
            )
        figures["candidates"] = [
            {
                "key": c.candidate.key,
                "label": c.candidate.label,
                "model": c.candidate.model,
                "correction": c.candidate.correction,
                "val_mae": c.val_mae,
                "epochs": c.best_epochs,
                "epochs_run": c.epochs_run,
                "pruned": c.pruned,
                "seconds": c.seconds,
                "selected": c is chosen,
                "within_noise": c.within_noise,
            }
            for c in trained
        ]
        metrics = ForecastMetrics.model_validate(figures)
        for warning in metrics.warnings:
            self._emit(LogEvent(level="warning", message=warning.message))
        return metrics, detail

    # -- candidates and the final model --------------------------------------------------------

    def _announce(self, trained: TrainedCandidate, score: CandidateScore) -> None:
        c = trained.candidate
        self._emit(
            CandidateEvent(
                key=c.key,
                label=c.label,
                val_mae=trained.val_mae,
                score=score,
                epochs=trained.best_epochs,
                epochs_run=trained.epochs_run,
                pruned=trained.pruned,
                seconds=trained.seconds,
            )
        )

    def _calibrate(self, data: TrainingData, chosen: TrainedCandidate) -> Intervals | None:
        """Quantile offsets from the chosen candidate's residuals on the validation origins (it
        never trained on them; the refit that follows does, so it cannot calibrate itself)."""
        quantiles = tuple(self.config.training.quantiles)
        origins = data.origins["val"]
        if not quantiles or not len(origins):
            return None
        forecaster = chosen.forecaster
        residuals, observed, times = forecaster.residuals(data.frame, _at_most(origins))
        # Where in the day or week the errors are larger: read from the training part's origins
        # (apart from the validation errors calibrated in its units), damped to the contrast
        # those errors show.
        season = data.pipeline.window.season_steps
        phase = None
        wanted = self.config.training.phase_intervals
        if wanted and has_phases(season, data.freq_ns) and len(data.origins["train"]):
            trained, _, at = forecaster.residuals(data.frame, _at_most(data.origins["train"]))
            phase = fit_phase_scale(trained, at, season, data.freq_ns, self.zone)
            phase = None if phase is None else damped(phase, residuals, times)
        return calibrate(residuals, observed, quantiles, phase, times)

    def _clear_checkpoints(self) -> None:
        """A finished run leaves nothing to resume (Keras removes its own backups itself)."""
        if self.checkpoint_dir is not None:
            for pattern in ("*.history.json", "*.best.npz", GAP_SAVED_NAME):
                for path in self.checkpoint_dir.glob(pattern):
                    path.unlink(missing_ok=True)
            self.candidates.clear()

    def _gap_stage(self, data: TrainingData, recurring: NDArray[np.int64]) -> GapTrainingResult:
        from gapcast.model_training.gap_model import GAP_BATCH

        why = f"{data.large_outages} large outages of the targets"
        if not data.large_outages and recurring.size:
            from gapcast.model_training.gap_features import cycle_for, describe_positions

            cycle = cycle_for(data.freq_ns)
            where = describe_positions(cycle, recurring)
            if cycle == "hour-of-week":
                where += f" {self.zone or 'UTC'}"  # the wall clock the positions are read on
            why = (
                f"gaps recurring at {where} ({recurring.size} position(s) of the "
                f"{cycle.replace('-', ' ')})"
            )
        self._status("gap_classifier", why)
        epochs = self.config.training.gap_classifier_epochs
        return gap_stage(
            data,
            self.config,
            checkpoint_dir=self.checkpoint_dir,
            callbacks=self._callbacks("gap_backup", epochs, GAP_BATCH, "gap_classifier"),
            fold_callbacks=[cb.make_cancel_callback(self.cancel)] if self.cancel else [],
            log=self._emit,
            zone=self.zone,
        )


def unused_channels_message(data: TrainingData) -> str:
    """What a run says of the data's columns it does not read: a user who uploads a table of
    several sensors expects all of them to count, and nothing else in the run would tell."""
    unused = ", ".join(repr(c) for c in data.unused_channels)
    return (
        f"forecasting {', '.join(repr(t) for t in data.targets)}; not used: {unused} (name "
        "them in 'covariates' to give the model their past, in 'future_covariates' when their "
        "values are known in advance, or in 'target' to forecast them; on the command line "
        "--covariates and --target)"
    )


def step_change_message(before: int, since: int, freq_ns: int, zone: str | None) -> str:
    """Why a run's grid is not the dataset's step: the logger's readings grew coarser."""
    step = format_duration(freq_ns)
    return (
        f"the readings' step went from {format_duration(before)} to {step} after "
        f"{run_warnings.time_in_zone(since, zone)}: trained on {step}, the step forecasts will "
        "be made from, the earlier readings averaged into its steps (set the resample step's "
        "freq to choose another)"
    )


def held_channels_message(held: dict[str, int], freq_ns: int) -> str:
    """Why a slower covariate shows no gap between its readings: each is held on the grid."""
    names = ", ".join(f"{name!r} (up to {steps} steps)" for name, steps in held.items())
    return (
        f"read less often than the grid's {format_duration(freq_ns)} step: {names}; each "
        "reading is held until the next one is due, so only a missed reading counts as a gap"
    )


def scores(figures: dict[str, Any], method: str) -> dict[str, Any]:
    """The top-level figures of ``method``'s leaderboard row."""
    row = next(r for r in figures["leaderboard"] if r["method"] == method)
    keys = ("mae", "rmse", "smape", "mase", "bias", "mae_by_lead", "mae_after_outage")
    return {k: row[k] for k in keys}


def last_losses(history: list[dict[str, float]]) -> tuple[float | None, float | None]:
    """The last epoch's training and validation loss (None where not logged)."""
    last = history[-1] if history else {}
    return last.get("loss"), last.get("val_loss")


def _at_most(origins: NDArray[np.int64]) -> NDArray[np.int64]:
    """``origins`` thinned evenly to MAX_CALIBRATION_ORIGINS (a minute series' validation part
    holds tens of thousands; the quantiles need a few thousand)."""
    if len(origins) <= MAX_CALIBRATION_ORIGINS:
        return origins
    keep = np.linspace(0, len(origins) - 1, MAX_CALIBRATION_ORIGINS).astype(np.int64)
    return origins[np.unique(keep)]
