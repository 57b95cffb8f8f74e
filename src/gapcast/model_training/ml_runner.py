"""MLRunner: one training run — prepare → gaps → (gap classifier) → train → evaluate → save.

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

from gapcast.errors import Cancelled
from gapcast.events import GapsEvent, LogEvent, ProgressEvent, StatusEvent
from gapcast.model_training import callbacks as cb
from gapcast.model_training import evaluation
from gapcast.model_training.gap_model import GapTrainingResult, gap_probabilities
from gapcast.model_training.ml_strategy import get_strategy
from gapcast.model_training.results import (
    Artifact,
    ForecastMetrics,
    GapMetrics,
    RunResult,
)
from gapcast.model_training.run_information import RunInformation
from gapcast.model_training.training_data import TrainingData, prepare
from gapcast.processing.frame import SeriesFrame
from gapcast.training_config import TrainingConfig

Event = StatusEvent | ProgressEvent | GapsEvent | LogEvent


def stable_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Training arrays whose length is a multiple of the batch size (and that batch size).

    JAX compiles the train step once per batch shape; a last partial batch costs a second compile,
    so the oldest ``n % batch_size`` windows (fewer than one batch) are left out instead.
    """
    n = len(x)
    if n <= batch_size:
        return x, y, max(n, 1)
    drop = n % batch_size
    return x[drop:], y[drop:], batch_size


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

    def _callbacks(self, name: str, epochs: int, batch_size: int, model: Any) -> list[Any]:
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
                    self._emit, epochs=epochs, batch_size=batch_size, model=model
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
        info.keras_backend = backend_name()
        if len(data.x_train) == 0 or len(data.x_test) == 0:
            from gapcast.errors import InvalidInput

            raise InvalidInput(
                f"too little data: {len(data.x_train)} training and {len(data.x_test)} test windows"
                f" "
                f"of lookback {info.lookback} + horizon {info.horizon}; expected at least one each",
                field="config.preprocessing",
            )

        mode = cfg.training.gap_classifier
        want_gaps = mode == "always" or (mode == "auto" and data.gap_summary.large > 0)
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

        self._status("training", f"{info.model}: {len(data.x_train)} windows")
        model, history = self._train_forecaster(data)

        self._status("evaluating")
        pred_real = data.inverse(_predict(model, data.x_test), data.test_target_ts)
        season = evaluation.season_for(data.freq_ns)
        scores, truth = evaluation.score_test_windows(
            grid_ts=data.grid_ts,
            real=data.real,
            freq_ns=data.freq_ns,
            train_end=data.split[0],
            target_ts=data.test_target_ts,
            forecast=pred_real,
            season=season,
            lookback=info.lookback,
        )
        metrics = ForecastMetrics.model_validate(scores)
        gap_metrics = GapMetrics.model_validate(gap.metrics) if gap is not None else None

        self._status("saving")
        from gapcast.model_training.general_model import model_to_bytes
        from gapcast.plotting import PlotData, render_forecast_png

        artifacts = [Artifact.of("model", model_to_bytes(model))]
        p_gap = None
        if gap is not None:
            artifacts.append(Artifact.of("gap_model", model_to_bytes(gap.model)))
            p_gap = self._plot_gap_probability(gap, data)
        artifacts.append(Artifact.of("pipeline", json.dumps(self._pipeline_doc(data)).encode()))
        png = render_forecast_png(
            PlotData(
                title=f"{info.model} — MASE "
                + (f"{metrics.mase:.3f}" if metrics.mase is not None else "n/a"),
                target_ts=data.test_target_ts,
                forecast=pred_real,
                truth=truth,
                targets=data.targets,
                large_gaps=data.large_gaps,
                gap_probability=p_gap,
                history=history,
            )
        )
        artifacts.append(Artifact.of("plot", png))

        last = history[-1] if history else {}
        info.runtime_s = time.perf_counter() - started
        info.epochs_run = len(history)
        info.loss, info.val_loss = last.get("loss"), last.get("val_loss")
        info.history = history
        info.metrics = metrics.model_dump(mode="json")
        info.gap_metrics = gap_metrics.model_dump(mode="json") if gap_metrics else None
        info.artifacts = [a.ref() for a in artifacts]
        self._clear_checkpoints()
        return RunResult(
            run_info=info,
            metrics=metrics,
            gap_metrics=gap_metrics,
            epochs=len(history),
            runtime_s=info.runtime_s,
            loss=info.loss,
            val_loss=info.val_loss,
            history=history,
            artifacts=artifacts,
            pipeline_config=data.pipeline_config,
            gap_report=s,
        )

    def _clear_checkpoints(self) -> None:
        """A finished run leaves nothing to resume (Keras removes its own backups itself)."""
        if self.checkpoint_dir is not None:
            for name in ("history.json", "gap_classifier.json"):
                (self.checkpoint_dir / name).unlink(missing_ok=True)

    def _pipeline_doc(self, data: TrainingData) -> dict[str, Any]:
        """What prediction needs besides the model: the fitted steps and the window layout."""
        info = self.run_info
        return {
            "steps": data.pipeline_config,
            "targets": data.targets,
            "covariates": data.covariates,
            "lookback": info.lookback,
            "horizon": info.horizon,
            "freq_ns": data.freq_ns,
            "model": info.model,
        }

    def _train_gap_classifier(self, data: TrainingData) -> GapTrainingResult:
        from gapcast.model_training.gap_model import train_gap_classifier
        from gapcast.model_training.general_model import load_model_bytes, model_to_bytes

        self._status("gap_classifier", f"{data.gap_summary.large} large gaps")
        t = self.config.training
        saved = self.checkpoint_dir / "gap_classifier.json" if self.checkpoint_dir else None
        if saved is not None and saved.exists():
            # A resumed run keeps the classifier its first attempt finished.
            doc = json.loads(saved.read_text())
            model = load_model_bytes(bytes.fromhex(doc["model"]))
            return GapTrainingResult(model=model, metrics=doc["metrics"], history={})
        result = train_gap_classifier(
            data.grid_ts,
            data.observed,
            data.split,
            lookback=self.run_info.lookback,
            horizon=self.run_info.horizon,
            epochs=t.gap_classifier_epochs,
            batch_size=t.batch_size,
            learning_rate=t.learning_rate,
            seed=t.seed,
            patience=t.patience,
            callbacks=self._callbacks(
                "gap_backup", t.gap_classifier_epochs, t.batch_size, "gap_classifier"
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
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(
                json.dumps({"model": model_to_bytes(result.model).hex(), "metrics": result.metrics})
            )
        return result

    def _plot_gap_probability(
        self, gap: GapTrainingResult, data: TrainingData
    ) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps, probability) of no data one step ahead over the test span."""
        lookback = self.run_info.lookback
        start = np.arange(max(data.split[1], lookback), len(data.grid_ts))
        csum = np.concatenate([[0], np.cumsum(data.observed, dtype=np.int64)])
        recent = (csum[start] - csum[start - lookback]) / lookback
        steps = data.freq_ns * np.arange(self.run_info.horizon, dtype=np.int64)
        ts = data.grid_ts[start][:, None] + steps
        return ts[:, 0], gap_probabilities(gap.model, ts, recent)[:, 0]

    def _train_forecaster(self, data: TrainingData) -> tuple[Any, list[dict[str, float]]]:
        from gapcast.model_training.general_model import GeneralModel

        info, t = self.run_info, self.config.training
        strategy = get_strategy(info.model)(info.hyperparameters)
        gm = GeneralModel(strategy, learning_rate=t.learning_rate, seed=info.seed)
        gm.build(data.x_train.shape[1:], info.horizon, data.y_train.shape[-1])
        x, y, batch_size = stable_batches(data.x_train, data.y_train, t.batch_size)
        has_val = len(data.x_val) > 0
        extra = self._callbacks("forecaster", t.epochs, batch_size, "forecaster")
        log = EpochLog(self.checkpoint_dir)
        stop = cb.make_early_stopping(t.patience, has_validation=has_val)
        # EpochLog before BackupAndRestore: a crash between the two repeats an epoch, loses none.
        callbacks = [log.callback(), *extra, *([stop] if stop is not None else [])]
        gm.fit(
            x,
            y,
            validation=(data.x_val, data.y_val) if has_val else None,
            epochs=t.epochs,
            batch_size=batch_size,
            callbacks=callbacks,
        )
        return gm.model_, log.history()


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    from gapcast.model_training.general_model import predict

    return predict(model, x)


class EpochLog:
    """Per-epoch logs, kept in ``checkpoint_dir/history.json`` so a resumed run reports them all."""

    def __init__(self, checkpoint_dir: Path | None) -> None:
        self.path = checkpoint_dir / "history.json" if checkpoint_dir is not None else None
        self.epochs: dict[int, dict[str, float]] = {}
        if self.path is not None and self.path.exists():
            self.epochs = {int(k): v for k, v in json.loads(self.path.read_text()).items()}

    def record(self, epoch: int, logs: dict[str, Any] | None) -> None:
        clean = {k: float(v) for k, v in (logs or {}).items() if isinstance(v, int | float)}
        self.epochs = {e: v for e, v in self.epochs.items() if e < epoch}
        self.epochs[epoch] = {"epoch": float(epoch + 1), **clean}
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.epochs))

    def history(self) -> list[dict[str, float]]:
        return [self.epochs[e] for e in sorted(self.epochs)]

    def callback(self) -> Any:
        from gapcast.model_training.keras_env import import_keras

        log = self

        class EpochLogCallback(import_keras().callbacks.Callback):  # type: ignore[misc]
            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                log.record(epoch, logs)

        return EpochLogCallback()
