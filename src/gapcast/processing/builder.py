"""ProcessingBuilder: the one place a list of step configs is checked and turned into a pipeline.

Every mistake is an ``InvalidInput`` raised by ``build()``, naming the step and its field, so a
bad configuration fails when it is submitted rather than halfway through a training run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self

from pydantic import ValidationError

from gapcast.errors import InvalidInput
from gapcast.processing._time import parse_duration
from gapcast.processing.base import Step
from gapcast.processing.config import ResampleStep, StepConfig, _Step
from gapcast.processing.fill import FillGaps
from gapcast.processing.gaps import DetectGaps
from gapcast.processing.pipeline import ProcessingPipeline
from gapcast.processing.registry import CONFIG_TYPES, STEP_CLASSES, STEP_ORDER
from gapcast.processing.windows import Window

RANK = {name: i for i, name in enumerate(STEP_ORDER)}


def _validation_message(exc: ValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    return f"{loc}: {first['msg']}, received {first.get('input')!r}", loc or None


def validate_steps(items: Sequence[StepConfig | Mapping[str, Any]]) -> list[StepConfig]:
    """Parse and check a step list: known names, valid fields, no duplicates, the fixed order,
    a window step, and a detect_gaps step before fill_gaps."""
    configs: list[StepConfig] = []
    for i, item in enumerate(items):
        where = f"preprocessing[{i}]"
        if isinstance(item, _Step):
            configs.append(item)
            continue
        if not isinstance(item, Mapping):
            raise InvalidInput(
                f"{where}: expected a step object, received {type(item).__name__}", field=where
            )
        name = item.get("step")
        if name not in CONFIG_TYPES:
            raise InvalidInput(
                f"{where}: unknown step {name!r}; expected one of {', '.join(STEP_ORDER)}",
                field=f"{where}.step",
            )
        try:
            configs.append(CONFIG_TYPES[name].model_validate(dict(item)))  # type: ignore[arg-type]
        except ValidationError as exc:
            message, loc = _validation_message(exc)
            raise InvalidInput(
                f"{name} step ({where}): {message}",
                field=f"{where}.{loc}" if loc else where,
            ) from exc

    seen: dict[str, int] = {}
    for i, config in enumerate(configs):
        if config.step in seen:
            raise InvalidInput(
                f"{config.step} step (preprocessing[{i}]) duplicates preprocessing"
                f"[{seen[config.step]}]; each step may appear once",
                field=f"preprocessing[{i}]",
            )
        seen[config.step] = i
    for i, config in enumerate(configs):
        for j in range(i + 1, len(configs)):
            later = configs[j]
            if RANK[later.step] < RANK[config.step]:
                raise InvalidInput(
                    f"{config.step} step (preprocessing[{i}]) must come after the {later.step} "
                    f"step (preprocessing[{j}]); steps run in the order {', '.join(STEP_ORDER)}",
                    field=f"preprocessing[{i}]",
                )
    if "window" not in seen:
        raise InvalidInput(
            "the preprocessing has no window step; add one such as "
            '{"step": "window", "lookback": 48, "horizon": 24}',
            field="preprocessing",
        )
    if "fill_gaps" in seen and "detect_gaps" not in seen:
        i = seen["fill_gaps"]
        raise InvalidInput(
            f"fill_gaps step (preprocessing[{i}]) needs a detect_gaps step before it "
            "(it decides which gaps are small enough to fill)",
            field=f"preprocessing[{i}]",
        )
    for i, config in enumerate(configs):
        where = f"{config.step} step (preprocessing[{i}])"
        if config.step == "resample" and config.freq is not None:
            parse_duration(config.freq, field=f"preprocessing[{i}].freq", where=where)
        if config.step == "detect_gaps" and isinstance(config.max_fill, str):
            parse_duration(config.max_fill, field=f"preprocessing[{i}].max_fill", where=where)
    return configs


class ProcessingBuilder:
    """Fluent construction of a ``ProcessingPipeline``.

    The fluent methods may be called in any order — steps always run in the fixed order
    resample, detect_gaps, fill_gaps, split, mask_outliers, remove_linear_trend, scale, calendar,
    window — while a
    config
    list given to ``from_config`` must already be in that order (it is what gets stored).
    """

    def __init__(self) -> None:
        self._items: list[StepConfig | Mapping[str, Any]] = []
        self._ordered = False
        self._targets: tuple[str, ...] | None = None
        self._covariates: tuple[str, ...] = ()
        self._future: tuple[str, ...] = ()

    @classmethod
    def from_config(
        cls,
        steps: Sequence[StepConfig | Mapping[str, Any]],
        targets: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        future_covariates: Sequence[str] = (),
    ) -> ProcessingBuilder:
        builder = cls()
        builder._items = list(steps)
        builder._ordered = True
        builder._targets = None if targets is None else tuple(targets)
        builder._covariates = tuple(covariates)
        builder._future = tuple(future_covariates)
        return builder

    def _add(self, step: str, **params: Any) -> Self:
        self._items.append({"step": step, **params})
        return self

    def resample(
        self, freq: str | None = None, agg: str = "mean", max_hold: str | None = None
    ) -> Self:
        params = {"max_hold": max_hold} if max_hold is not None else {}
        return self._add("resample", freq=freq, agg=agg, **params)

    def detect_gaps(self, max_fill: int | str = 3) -> Self:
        return self._add("detect_gaps", max_fill=max_fill)

    def fill_gaps(self, method: str = "linear", season: int | None = None) -> Self:
        return self._add("fill_gaps", method=method, season=season)

    def split(self, val: float = 0.15, test: float = 0.15) -> Self:
        return self._add("split", val=val, test=test)

    def mask_outliers(self, threshold: float = 20.0, max_run: int = 3) -> Self:
        return self._add("mask_outliers", threshold=threshold, max_run=max_run)

    def remove_linear_trend(self) -> Self:
        return self._add("remove_linear_trend")

    def scale(self, method: Literal["standard", "minmax", "robust"] = "standard") -> Self:
        return self._add("scale", method=method)

    def calendar(self, cycles: list[str] | None = None) -> Self:
        return self._add("calendar", cycles=cycles)

    def window(
        self,
        lookback: int | None = None,
        horizon: int | None = None,
        stride: int = 1,
        *,
        min_observed: float = 0.5,
        scaling: Literal["window", "none"] = "window",
        season: int | Literal["auto", "none"] = "auto",
    ) -> Self:
        """Windows of ``lookback`` inputs and ``horizon`` targets (None: from the frequency and
        the seasons, resolved when the pipeline is fitted)."""
        return self._add(
            "window",
            lookback=lookback,
            horizon=horizon,
            stride=stride,
            min_observed=min_observed,
            scaling=scaling,
            season=season,
        )

    def targets(self, *names: str) -> Self:
        self._targets = names
        return self

    def covariates(self, *names: str) -> Self:
        self._covariates = names
        return self

    def future_covariates(self, *names: str) -> Self:
        """Covariates known in advance (holidays, planned work, a weather forecast): the model
        reads their values at the forecast steps too, and ``predict`` needs them there."""
        self._future = names
        return self

    def build(self) -> ProcessingPipeline:
        items = self._items
        if not self._ordered:
            items = sorted(items, key=lambda item: RANK.get(_step_name(item), -1))
        configs = validate_steps(items)
        positions: list[int | None] = list(range(len(configs)))
        if configs[0].step != "resample":
            # Every later step needs a regular grid: without a resample step, regularise on the
            # data's own frequency (and say so in the stored config).
            configs.insert(0, ResampleStep())
            positions.insert(0, None)
        steps: list[Step] = []
        for config, position in zip(configs, positions, strict=True):
            step = STEP_CLASSES[config.step].from_config(config)
            step.position = position
            steps.append(step)
        detect = next((s for s in steps if isinstance(s, DetectGaps)), None)
        for step in steps:
            if isinstance(step, FillGaps) and detect is not None:
                step.max_fill = detect.max_fill
        window = steps[-1]
        assert isinstance(window, Window)
        targets, covariates, future = self._targets, self._covariates, self._future
        if window.is_fitted and targets is None:
            # A stored, fitted pipeline knows which channels it was trained on.
            targets = window.targets_
            future = window.future_
            covariates = tuple(c for c in window.inputs_ if c not in targets and c not in future)
        window.targets = targets
        window.future = future
        return ProcessingPipeline(
            steps, targets=targets, covariates=covariates, future_covariates=future
        )


def _step_name(item: StepConfig | Mapping[str, Any]) -> str:
    if isinstance(item, Mapping):
        return str(item.get("step"))
    return item.step
