"""MLRunner: one training run — prepare → gaps → (gap classifier) → candidates → refit →
backtest → save.

The runner never touches the database: it returns a :class:`RunResult` holding the figures and the
artifacts' bytes, and the caller stores it in one transaction. Progress leaves through ``on_event``
as the typed events of :mod:`gapcast.events`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gapcast.errors import Cancelled, InvalidInput
from gapcast.events import CandidateEvent, GapsEvent, LogEvent, ProgressEvent, StatusEvent
from gapcast.model_training import backtest
from gapcast.model_training import callbacks as cb
from gapcast.model_training.candidates import (
    Candidate,
    TrainedCandidate,
    candidates_for,
    choose,
    combine,
    run_candidates,
)
from gapcast.model_training.candidates import train as train_candidate
from gapcast.model_training.checkpoint_files import write_atomically
from gapcast.model_training.forecaster import Forecaster
from gapcast.model_training.gap_model import GapTrainingResult
from gapcast.model_training.intervals import Intervals, calibrate
from gapcast.model_training.results import (
    Artifact,
    ForecastMetrics,
    GapMetrics,
    RunResult,
)
from gapcast.model_training.run_information import RunInformation
from gapcast.model_training.training_data import TrainingData, prepare
from gapcast.plotting import plot_data
from gapcast.processing._time import format_duration
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig

Event = StatusEvent | ProgressEvent | GapsEvent | LogEvent | CandidateEvent
# Version of the stored pipeline document; 1 (no "format" key): global scaling, lookback-only
# inputs, which this version cannot feed.
PIPELINE_FORMAT = 2
# Validation origins the intervals are calibrated on, at most (evenly spaced): plenty for the
# quantiles of each lead time, bounded work on minute data.
MAX_CALIBRATION_ORIGINS = 5_000


class MLRunner:
    """Runs one training configuration on one series.

    ``cancel``: anything with ``is_set()``; checked between batches, the run then raises
    :class:`~gapcast.errors.Cancelled` within one batch. ``checkpoint_dir``: where Keras's
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
    ) -> None:
        self.config = config
        self.run_info = run_info if run_info is not None else RunInformation.from_config(config)
        self.on_event = on_event
        self.cancel = cancel
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.pool = pool

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
        from gapcast.model_training.keras_env import backend_name

        started = time.perf_counter()
        cfg, info = self.config, self.run_info
        self._status("preparing")
        data = prepare(frame, cfg, self.pool)
        info.freq_ns, info.channels = data.freq_ns, data.channels
        info.targets, info.covariates = data.targets, data.covariates
        info.pipeline_config = data.pipeline_config
        info.lookback, info.horizon = data.lookback, data.horizon
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

        mode = cfg.training.gap_classifier
        want_gaps = mode == "always" or (mode == "auto" and data.large_outages > 0)
        s = data.gap_summary
        self._emit(
            GapsEvent(
                gaps=s.gaps,
                small=s.small,
                large=s.large,
                missing_points=s.missing_points,
                observed_fraction=s.observed_fraction,
                gap_classifier=want_gaps,
            )
        )
        gap = self._train_gap_classifier(data) if want_gaps else None

        candidates = candidates_for(cfg, season=data.pipeline.window.season_steps)
        names = ", ".join(c.label for c in candidates)
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
            on_trained=self._announce,
            restore=self._restore_candidate,
            keep=self._keep_candidate,
        )
        # Scored from the finalists as they stand (restored ones too), so never kept on disk.
        combination = combine(trained, data)
        if combination is not None:
            self._announce(combination)
            trained = [*trained, combination]
        chosen = choose(trained)
        intervals = self._calibrate(data, chosen)
        forecaster, refit_epochs = self._refit(data, chosen)
        forecaster.intervals = intervals
        history = chosen.history

        self._status("evaluating")
        figures, detail = backtest.run_backtest(
            data,
            forecaster,
            frame,
            label=chosen.candidate.label,
            stride=cfg.training.origin_stride,
            stats_models=cfg.training.baselines,
        )
        last = history[-1] if history else {}
        loss, val_loss = last.get("loss"), last.get("val_loss")
        figures.update(scores(figures, "model"))
        figures["model_label"] = chosen.candidate.label
        figures["lookback"], figures["horizon"] = data.lookback, data.horizon
        figures["reference_season"] = data.pipeline.window.season_steps
        figures["warnings"] = backtest.warnings_for(figures, loss=loss, val_loss=val_loss)
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
            }
            for c in trained
        ]
        metrics = ForecastMetrics.model_validate(figures)
        for warning in metrics.warnings:
            self._emit(LogEvent(level="warning", message=warning.message))
        gap_metrics = GapMetrics.model_validate(gap.metrics) if gap is not None else None

        self._status("saving")
        from gapcast.model_training.general_model import model_to_bytes
        from gapcast.plotting import render_run_png

        artifacts = [Artifact.of("model", model_to_bytes(forecaster.model))]
        p_gap = None
        if gap is not None:
            artifacts.append(Artifact.of("gap_model", model_to_bytes(gap.model)))
            p_gap = self._plot_gap_probability(gap, data)
        artifacts.append(
            Artifact.of(
                "pipeline", json.dumps(self._pipeline_doc(data, chosen, intervals, gap)).encode()
            )
        )
        document = detail.document(data.grid_ts, data.targets)
        if p_gap is not None:
            # The page draws it as a track under the backtest: no data one step ahead.
            document["gap_probability"] = {
                "times": p_gap[0].tolist(),
                "values": np.round(p_gap[1], 4).tolist(),
            }
        artifacts.append(Artifact.of("backtest", json.dumps(document).encode()))
        artifacts.append(
            Artifact.of(
                "plot",
                render_run_png(
                    plot_data(
                        data,
                        metrics,
                        detail,
                        history=history,
                        gap_probability=p_gap,
                        gap_threshold=gap.doc.get("threshold") if gap is not None else None,
                    )
                ),
            )
        )

        info.model = cfg.model
        info.runtime_s = time.perf_counter() - started
        info.epochs_run = refit_epochs if refit_epochs is not None else len(history)
        info.loss, info.val_loss = loss, val_loss
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
            gap_report=s,
            config=resolved_config(cfg, data),
        )

    # -- candidates and the final model --------------------------------------------------------

    def _announce(self, trained: TrainedCandidate) -> None:
        c = trained.candidate
        self._emit(
            CandidateEvent(
                key=c.key,
                label=c.label,
                val_mae=trained.val_mae,
                epochs=trained.best_epochs,
                epochs_run=trained.epochs_run,
                pruned=trained.pruned,
                seconds=trained.seconds,
            )
        )

    def _candidate_dir(self) -> Path | None:
        return self.checkpoint_dir / "candidates" if self.checkpoint_dir is not None else None

    def _keep_candidate(self, trained: TrainedCandidate) -> None:
        """A finished candidate survives a crash: a resumed run does not train it again."""
        from gapcast.model_training.general_model import model_to_bytes

        where = self._candidate_dir()
        if where is None:
            return
        where.mkdir(parents=True, exist_ok=True)
        key = trained.candidate.key
        # The model first: the figures' file is what says a candidate was kept.
        write_atomically(where / f"{key}.keras", model_to_bytes(trained.forecaster.model))
        figures = {
            "history": trained.history,
            "best_epochs": trained.best_epochs,
            "val_mae": trained.val_mae,
            "seconds": trained.seconds,
            "pruned": trained.pruned,
        }
        write_atomically(where / f"{key}.json", json.dumps(figures).encode())

    def _restore_candidate(
        self, candidate: Candidate, data: TrainingData
    ) -> TrainedCandidate | None:
        from gapcast.model_training.general_model import load_model_bytes

        where = self._candidate_dir()
        if where is None or not (where / f"{candidate.key}.json").exists():
            return None
        figures = json.loads((where / f"{candidate.key}.json").read_text())
        model = load_model_bytes((where / f"{candidate.key}.keras").read_bytes())
        return TrainedCandidate(
            candidate=candidate,
            forecaster=Forecaster(model, data.pipeline, candidate.correction),
            history=figures["history"],
            best_epochs=int(figures["best_epochs"]),
            val_mae=figures["val_mae"],
            seconds=float(figures["seconds"]),
            pruned=bool(figures.get("pruned", False)),
        )

    def _calibrate(self, data: TrainingData, chosen: TrainedCandidate) -> Intervals | None:
        """Quantile offsets from the chosen candidate's residuals on the validation origins (it
        never trained on them; the refit that follows does, so it cannot calibrate itself)."""
        quantiles = tuple(self.config.training.quantiles)
        origins = data.origins["val"]
        if not quantiles or not len(origins):
            return None
        if len(origins) > MAX_CALIBRATION_ORIGINS:
            keep = np.linspace(0, len(origins) - 1, MAX_CALIBRATION_ORIGINS).astype(np.int64)
            origins = origins[np.unique(keep)]
        residuals, observed = chosen.forecaster.residuals(data.frame, origins)
        return calibrate(residuals, observed, quantiles)

    def _refit(self, data: TrainingData, chosen: TrainedCandidate) -> tuple[Forecaster, int | None]:
        """The chosen candidate trained again on train + validation for its best epoch count
        (the most recent data is what a forecast leans on most), as ``ensemble`` copies with
        seeds ``seed``, ``seed + 1``, ... averaged in one stored model; as trained when refit is
        off or there is no validation part. A combination refits ``ensemble`` copies of each
        member (seeds ``seed``, ``seed + 1``, ... for each), each for the member's own epoch
        count, all averaged in one model (equal weights, as validated).

        The copies train one after another, each with its own initial weights *and* its own
        order of windows: trained side by side on the same batches (one compiled step), the
        copies stayed too alike and their average was no better than one on the quality suite,
        while independent copies beat a single model on all five series (bench/README.md).
        """
        from gapcast.model_training.general_model import average_models

        t = self.config.training
        if not t.refit or not len(data.origins["val"]):
            return chosen.forecaster, None
        members = chosen.members or (chosen,)
        # Each member's copies take the seeds a refit of that member alone would: the average
        # then differs from its members by the choice of members only, not by luckier or
        # unluckier seeds (on the suite's CO₂, 5 copies of one MLP scored 0.384 with seeds
        # 42-46 and 0.402 with 47-51).
        plan = [(member, t.seed + i) for member in members for i in range(t.ensemble)]
        total = sum(m.best_epochs for m, _ in plan)
        each = ", ".join(f"{m.candidate.label} {m.best_epochs}" for m in members)
        average = f", an average of {len(plan)} copies" if len(plan) > 1 else ""
        self._emit(
            LogEvent(
                message=f"{chosen.candidate.label}: refit on train + validation for "
                f"{each if chosen.members else chosen.best_epochs} epoch(s){average}"
            )
        )
        origins = np.concatenate([data.origins["train"], data.origins["val"]])
        models, done = [], 0
        for i, (member, seed) in enumerate(plan):
            # Copy 0 keeps the single model's checkpoint names: a run resumed across versions
            # (or with ensemble 1) finds its files.
            name = "refit" if i == 0 else f"refit-{i}"
            log = EpochLog(self.checkpoint_dir, name)
            forecaster, _ = train_candidate(
                member.candidate,
                data,
                self.config,
                origins=origins,
                validation=None,
                epochs=member.best_epochs,
                callbacks=[
                    log.callback(),
                    *self._callbacks(
                        name,
                        total,
                        t.batch_size,
                        "forecaster",
                        phase="refit",
                        candidate=chosen.candidate.key,
                        epoch_offset=done,
                    ),
                ],
                seed=seed,
            )
            done += member.best_epochs
            models.append(forecaster.model)
        refit = Forecaster(average_models(models), data.pipeline, chosen.forecaster.correction)
        return refit, max(m.best_epochs for m in members)

    def _clear_checkpoints(self) -> None:
        """A finished run leaves nothing to resume (Keras removes its own backups itself)."""
        if self.checkpoint_dir is not None:
            for pattern in ("*.history.json", "*.best.npz"):
                for path in self.checkpoint_dir.glob(pattern):
                    path.unlink(missing_ok=True)
            (self.checkpoint_dir / "gap_classifier.json").unlink(missing_ok=True)
            where = self._candidate_dir()
            if where is not None and where.exists():
                for path in where.iterdir():
                    path.unlink(missing_ok=True)
                where.rmdir()

    def _pipeline_doc(
        self,
        data: TrainingData,
        chosen: TrainedCandidate,
        intervals: Intervals | None,
        gap: GapTrainingResult | None = None,
    ) -> dict[str, Any]:
        """What prediction needs besides the model: the fitted steps, the window layout, and
        whether the model's output corrects the seasonal naive value."""
        return {
            "format": PIPELINE_FORMAT,
            "steps": data.pipeline_config,
            "targets": data.targets,
            "covariates": data.covariates,
            "lookback": data.lookback,
            "horizon": data.horizon,
            "freq_ns": data.freq_ns,
            "model": chosen.candidate.model,
            # The share of the reference added to the model's output (a combination's mean).
            "correction": float(chosen.forecaster.correction),
            "members": [m.label for m in chosen.candidate.members],
            "intervals": intervals.to_dict() if intervals is not None else None,
            # The gap classifier's inputs, threshold and window calibration (None: no gap model).
            "gap_classifier": gap.doc if gap is not None else None,
        }

    def _train_gap_classifier(self, data: TrainingData) -> GapTrainingResult:
        from gapcast.model_training.gap_model import (
            GAP_BATCH,
            GAP_LEARNING_RATE,
            train_gap_classifier,
        )
        from gapcast.model_training.general_model import load_model_bytes, model_to_bytes

        self._status("gap_classifier", f"{data.large_outages} large outages of the targets")
        t = self.config.training
        saved = self.checkpoint_dir / "gap_classifier.json" if self.checkpoint_dir else None
        doc = json.loads(saved.read_text()) if saved is not None and saved.exists() else {}
        if "doc" in doc:
            # A resumed run keeps the classifier its first attempt finished.
            model = load_model_bytes(bytes.fromhex(doc["model"]))
            return GapTrainingResult(
                model=model, metrics=doc["metrics"], history={}, doc=doc.get("doc", {})
            )
        result = train_gap_classifier(
            data.grid_ts,
            data.observed,
            data.split,
            lookback=data.lookback,
            horizon=data.horizon,
            epochs=t.gap_classifier_epochs,
            learning_rate=GAP_LEARNING_RATE,
            seed=t.seed,
            patience=t.patience,
            # An outage is a gap too long to fill: what the window-level question counts.
            min_outage=data.max_fill + 1,
            freq_ns=data.freq_ns,
            callbacks=self._callbacks(
                "gap_backup", t.gap_classifier_epochs, GAP_BATCH, "gap_classifier"
            ),
            fold_callbacks=[cb.make_cancel_callback(self.cancel)] if self.cancel else [],
        )
        m = result.metrics
        if m.get("evaluation") == "blocked_cv":
            self._emit(
                LogEvent(
                    message=f"gap classifier: the test part has too few gaps to score it on; "
                    f"scored by blocked cross-validation over {m['folds']} blocks of the whole "
                    f"series ({m['positives']} missing steps)"
                )
            )
        if saved is not None:
            kept = {
                "model": model_to_bytes(result.model).hex(),
                "metrics": result.metrics,
                "doc": result.doc,
            }
            write_atomically(saved, json.dumps(kept).encode())
        return result

    def _plot_gap_probability(
        self, gap: GapTrainingResult, data: TrainingData
    ) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, probability) of no data one step ahead over the test span."""
        from gapcast.model_training.gap_predict import one_step_probabilities

        return one_step_probabilities(
            gap.model, gap.doc, data.grid_ts, data.observed, data.split[1]
        )


def scores(figures: dict[str, Any], method: str) -> dict[str, Any]:
    """The top-level figures of ``method``'s leaderboard row."""
    row = next(r for r in figures["leaderboard"] if r["method"] == method)
    keys = ("mae", "rmse", "smape", "mase", "bias", "mae_by_lead", "mae_after_outage")
    return {k: row[k] for k in keys}


def resolved_config(config: TrainingConfig, data: TrainingData) -> TrainingConfig:
    """The configuration with what the run resolved written in (lookback, horizon, season, the
    calendar's cycles): a stored run never says "auto" for those."""
    steps = []
    for step in data.pipeline_config:
        clean = {k: v for k, v in step.items() if k != "fitted"}
        if clean["step"] == "calendar":
            clean["cycles"] = step["fitted"].get("cycles", clean.get("cycles"))
        steps.append(clean)
    doc = config.model_dump(mode="json")
    doc["preprocessing"] = steps
    return TrainingConfig.model_validate(doc)


class EpochLog:
    """Per-epoch logs of one training (``name``), kept in ``checkpoint_dir/<name>.history.json``
    so a resumed run reports them all."""

    def __init__(self, checkpoint_dir: Path | None, name: str = "forecaster") -> None:
        self.path = checkpoint_dir / f"{name}.history.json" if checkpoint_dir is not None else None
        self.epochs: dict[int, dict[str, float]] = {}
        if self.path is not None and self.path.exists():
            try:
                saved = json.loads(self.path.read_text())
            except json.JSONDecodeError:
                # Left truncated by a kill under an older version, which wrote in place: the
                # epochs it held are reported again as the training goes on.
                saved = {}
            self.epochs = {int(k): v for k, v in saved.items()}

    def record(self, epoch: int, logs: dict[str, Any] | None) -> None:
        clean = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
        self.epochs = {e: v for e, v in self.epochs.items() if e < epoch}
        self.epochs[epoch] = {"epoch": float(epoch + 1), **clean}
        if self.path is not None:
            write_atomically(self.path, json.dumps(self.epochs).encode())

    def history(self) -> list[dict[str, float]]:
        return [self.epochs[e] for e in sorted(self.epochs)]

    def callback(self) -> Any:
        from gapcast.model_training.keras_env import import_keras

        log = self

        class EpochLogCallback(import_keras().callbacks.Callback):  # type: ignore[misc]
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                log.record(epoch, logs)

        return EpochLogCallback()
