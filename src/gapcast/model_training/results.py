"""RunResult and its parts: what a finished run hands to its caller (the worker stores it)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gapcast.model_training.run_information import ArtifactRef, RunInformation
from gapcast.training_config import TrainingConfig

ArtifactKind = Literal["model", "gap_model", "plot", "pipeline", "backtest"]
MEDIA_TYPES: dict[str, str] = {
    "model": "application/x-keras",
    "gap_model": "application/x-keras",
    "plot": "image/png",
    "pipeline": "application/json",
    "backtest": "application/json",
}


class Artifact(BaseModel):
    """One stored file of a run. Bytes serialise to JSON as base64."""

    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    kind: ArtifactKind
    media_type: str
    data: bytes = Field(repr=False)
    sha256: str
    size: int

    @classmethod
    def of(cls, kind: ArtifactKind, data: bytes) -> Artifact:
        return cls(
            kind=kind,
            media_type=MEDIA_TYPES[kind],
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )

    def ref(self) -> ArtifactRef:
        return ArtifactRef(
            kind=self.kind, media_type=self.media_type, sha256=self.sha256, size=self.size
        )


def finite(obj: Any) -> Any:
    """``obj`` with NaN/inf floats (an undefined metric: no positives, zero scale) made None,
    so metrics survive a JSON round trip."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite(v) for v in obj]
    return obj


class _Metrics(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _finite(cls, data: Any) -> Any:
        return finite(data)


class MethodScore(_Metrics):
    """One row of the leaderboard: a method's errors on the backtest origins, in real units."""

    method: str = Field(description="'model', 'naive', 'seasonal_naive_1_day', 'autoets', ...")
    label: str
    kind: Literal["model", "baseline"]
    mae: float | None
    rmse: float | None
    mase: float | None
    smape: float | None = Field(description="symmetric MAPE in percent (0-200)")
    bias: float | None = Field(description="mean of forecast minus truth")
    mae_by_lead: list[float | None] = Field(description="MAE at each forecast step")
    mae_after_outage: float | None = Field(
        default=None, description="MAE on the origins right after an outage (None: there were none)"
    )
    mae_by_target: dict[str, float | None] | None = Field(
        default=None,
        description="each target's MAE in its own units (runs with several targets; their "
        "mase is then the mean of the targets' MASE, which ranks the rows)",
    )
    seconds: float | None = Field(default=None, description="time the baseline took")


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    better: bool = Field(description="better than the best baseline by more than the noise")
    ratio: float | None = Field(
        description="the model's MAE / the best baseline's (several targets: of their mean MASE)"
    )
    baseline: str
    noise: float | None = Field(
        default=None,
        description="two standard errors of the per-origin difference from the best baseline, "
        "in the MAE's units (several targets: MASE): a gain within it is 'no better'; None "
        "with fewer than two origins or in runs stored before it was measured",
    )
    text: str


# The warnings that repeat the verdict's own sentence.
VERDICT_WARNINGS = frozenset({"worse_than_baseline", "no_better_than_baseline"})


class RunWarning(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Literal[
        "worse_than_baseline",
        "no_better_than_baseline",
        "validation_loss_high",
        "refused_origins",
        "few_origins",
        "glitches_masked",
        "flat_readings",
        "constant_readings",
        "running_total",
        "worse_after_outages",
        "intervals_under_cover",
        "intervals_under_cover_at",
    ]
    level: Literal["warning", "error"]
    message: str


class CandidateScore(_Metrics):
    key: str
    label: str
    model: str
    correction: bool
    val_mae: float | None = Field(
        description="MAE on the validation origins, real units (several targets: their mean MASE)"
    )
    epochs: int
    epochs_run: int | None = Field(None, description="epochs trained (None: stored before)")
    pruned: bool = Field(
        False, description="stopped after epochs_run epochs by successive halving, never chosen"
    )
    seconds: float
    selected: bool
    within_noise: bool = Field(
        False,
        description="reads the long season's lag, and the best such candidate's gain over the "
        "best without it on the validation origins was within the noise: never chosen",
    )


class BaselineIntervalScores(_Metrics):
    """A statsforecast baseline's own prediction intervals (its ``level``) at the run's
    quantiles, scored on the same points as the model's."""

    method: str
    label: str
    coverage: float | None = Field(description="share of scored points inside the outer interval")
    width: float | None = Field(description="mean width of the outer interval, real units")
    pinball: float | None = Field(description="mean pinball loss over the quantiles")
    pinball_ratio: float | None = Field(description="pinball / the seasonal naive's")


class IntervalScores(_Metrics):
    """The model's quantiles on the backtest origins."""

    quantiles: list[float]
    level: float = Field(description="nominal coverage of the outer interval (0.8 for P10-P90)")
    coverage: float | None = Field(description="share of scored points inside the outer interval")
    coverage_gappy_history: float | None = Field(
        description="the same, on origins whose lookback had gaps (None: there were none)"
    )
    coverage_complete_history: float | None
    coverage_worst_phase: float | None = Field(
        None,
        description="the same, at the hour of the day (sub-daily data) or the day of the week "
        "(daily data) where it was lowest, on the wall clock of the zone the dataset was "
        "imported in (UTC without one): a range right on average can be wrong at every busy "
        "hour (None for coarser data, too few points per hour, and runs stored before)",
    )
    coverage_worst_phase_at: str | None = Field(
        None, description="that hour ('12:00 UTC', '08:00 Europe/Berlin') or day ('Sunday')"
    )
    width: float | None = Field(description="mean width of the outer interval, real units")
    pinball: float | None = Field(description="mean pinball loss over the quantiles")
    pinball_seasonal_naive: float | None = Field(
        description="the same for the seasonal naive's empirical quantiles (training errors)"
    )
    pinball_ratio: float | None = Field(description="pinball / pinball_seasonal_naive")
    pinball_reference: str | None = Field(
        None,
        description="the baseline of pinball_seasonal_naive, as the leaderboard names it: "
        "'naive' where the series has no confirmed season, else 'seasonal naive, 1 day', ... "
        "(None in runs stored before it was named)",
    )
    gap_factor: float = Field(description="interval widening for histories with gaps (measured)")
    baselines: list[BaselineIntervalScores] = Field(
        default_factory=list,
        description="the statsforecast baselines' own intervals on the same points (runs with "
        "`baselines`; empty otherwise and in runs stored before)",
    )


class ForecastMetrics(_Metrics):
    """The backtest of a run: its model and every baseline forecast the same fixed origins of the
    test part, each from the history before it, and are scored on the same observed points.

    The model's own figures are repeated at the top level; a figure is None where it is
    undefined (MASE with a constant training series)."""

    mae: float | None
    rmse: float | None
    smape: float | None
    mase: float | None
    bias: float | None = None
    mae_by_lead: list[float | None] = Field(default_factory=list)
    mae_after_outage: float | None = None
    model_label: str = Field(description="the model scored, e.g. 'mlp + seasonal correction'")
    lookback: int | None = Field(default=None, description="input steps the run used")
    horizon: int | None = Field(default=None, description="forecast steps")
    reference_season: int | None = Field(
        default=None,
        description="season (steps) of the reference the model corrects; 1: the last value "
        "(naive); None: no reference",
    )
    leaderboard: list[MethodScore] = Field(
        description="model and baselines, sorted by MAE (several targets: by their mean MASE)"
    )
    best_baseline: str | None
    verdict: Verdict
    verdict_after_outage: Verdict | None = Field(
        default=None,
        description="the model against the best baseline on the origins right after outages "
        "alone (None without such origins, with several targets, or in runs stored before)",
    )
    warnings: list[RunWarning] = Field(default_factory=list)
    candidates: list[CandidateScore] = Field(default_factory=list)
    season: int = Field(description="season length in steps of MASE's seasonal naive scale")
    origins: int = Field(description="backtest origins scored")
    origins_after_outage: int = 0
    refused_origins: int = Field(
        default=0,
        description="origins where predict would refuse (history below min_observed); the "
        "model is scored there on what it makes of the history it has",
    )
    origin_stride: int
    points: int = Field(description="observed target points scored")
    intervals: IntervalScores | None = Field(
        default=None, description="the quantiles' coverage and pinball loss (None: off)"
    )

    def baseline(self, method: str) -> MethodScore | None:
        return next((r for r in self.leaderboard if r.method == method), None)


class GapVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    better: bool = Field(description="average precision above the baseline's beyond noise")
    baseline: str
    text: str = Field(description="'better than the hour-of-week rate by 23% (...)' or 'no better'")


class WindowGapMetrics(_Metrics):
    """The question users ask — will the horizon hold an outage of ``min_steps`` or more? — per
    scored window, against the same question answered from the calendar baseline's rates."""

    min_steps: int
    precision: float
    recall: float
    f1: float
    roc_auc: float | None
    average_precision: float | None
    brier: float | None
    threshold: float = Field(description="chosen F1-optimal on the validation part's windows")
    baseline: dict[str, float | None]
    windows: int
    positives: int = Field(description="windows holding such an outage")


class GapMetrics(_Metrics):
    """Gap classifier vs the calendar gap-rate baseline of the frequency (``baseline_name``), on
    the chronological test part or, when that holds too few gaps to score, by blocked
    cross-validation over the whole series (``evaluation`` says which).

    ``roc_auc`` is None when the scored steps have no gap (or nothing but gaps). The fields with
    defaults are optional because runs stored before they existed lack them; all of those were
    scored on the test part against the hour-of-week rate at a fixed 0.5 threshold."""

    precision: float
    recall: float
    f1: float
    roc_auc: float | None
    average_precision: float | None = Field(
        default=None,
        description="area under the precision-recall curve (threshold-free; a classifier "
        "ranking at random scores the gap rate); None without gaps or in older runs",
    )
    brier: float | None = Field(default=None, description="mean squared error of the probability")
    threshold: float | None = Field(
        default=None,
        description="probability from which a gap is flagged (precision, recall, F1): half "
        "the best F1 on held-out predictions (F1-optimal for a calibrated classifier), stored "
        "with the model; None in older runs (0.5)",
    )
    threshold_from: Literal["out_of_fold", "validation", "training", "default"] | None = Field(
        default=None,
        description="where the threshold was chosen: validation and out-of-fold predictions "
        "of training + validation; the validation part alone when the series is too short for "
        "folds (older runs: F1-optimal there); the training part in sample when no held-out "
        "step is a gap; or 0.5 when no step is",
    )
    baseline: dict[str, float | None]
    baseline_name: str = Field(
        default="hour-of-week rate",
        description="the calendar baseline: the training part's gap rate at the step's position "
        "in the frequency's natural cycle (hour-of-week, day-of-week, week-of-year, ...)",
    )
    verdict: GapVerdict | None = None
    window: WindowGapMetrics | None = Field(
        default=None, description="the window-level outage question (test part only)"
    )
    gap_rate: float = Field(description="fraction of scored steps without data")
    samples: int = Field(description="windows scored")
    evaluation: Literal["test_split", "blocked_cv"] = Field(
        default="test_split",
        description="test_split: the chronological test part; blocked_cv: each block of the "
        "whole series held out once (used when the test part has too few gaps)",
    )
    positives: int | None = Field(
        default=None, description="scored steps without data (the positives); None if not stored"
    )
    gap_steps: int | None = Field(
        default=None,
        description="distinct grid steps without data among the scored windows (a step is in up "
        "to horizon windows); what the verdict's noise margin is judged on",
    )
    folds: int | None = Field(default=None, description="blocks scored by blocked_cv")


class GapSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gaps: int
    small: int
    large: int
    missing_points: int
    observed_fraction: float
    largest: int = Field(description="length of the longest gap in grid steps")


class RunResult(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    run_info: RunInformation
    metrics: ForecastMetrics
    gap_metrics: GapMetrics | None = None
    epochs: int
    runtime_s: float
    loss: float | None
    val_loss: float | None
    history: list[dict[str, float]]
    artifacts: list[Artifact]
    pipeline_config: list[dict[str, Any]]
    gap_report: GapSummary
    config: TrainingConfig | None = Field(
        default=None, description="the configuration with lookback, horizon and season resolved"
    )

    def artifact(self, kind: ArtifactKind) -> Artifact | None:
        return next((a for a in self.artifacts if a.kind == kind), None)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # What a user printing a result in a notebook wants first (the whole backtest, every
        # epoch and the pipeline ran to screens): the model kept, its error, the honest verdict
        # against the baselines, the interval's coverage and the gap classifier's verdict.
        m = self.metrics
        yield "model", m.model_label or self.run_info.model
        yield "mae", None if m.mae is None else float(f"{m.mae:.4g}")
        yield "verdict", m.verdict.text
        if m.intervals is not None and m.intervals.coverage is not None:
            yield "coverage", round(m.intervals.coverage, 3)
        if self.gap_metrics is not None and self.gap_metrics.verdict is not None:
            yield "gaps", self.gap_metrics.verdict.text
        # The verdict says "worse" or "no better" already; the other warnings (glitches masked,
        # few origins) are named, since a notebook user sees nothing else of them.
        said = [w.code for w in m.warnings if w.code not in VERDICT_WARNINGS]
        if said:
            yield "warnings", said
        yield "lookback", m.lookback
        yield "horizon", m.horizon
        yield "epochs", self.epochs
        yield "runtime_s", round(self.runtime_s, 1)
        yield "artifacts", [a.kind for a in self.artifacts]
