"""The builder refuses bad step lists at build time, naming the step and field."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gapcast.errors import InvalidInput
from gapcast.processing import ProcessingBuilder, ProcessingPipeline, SeriesFrame
from gapcast.processing.config import WindowStep, default_steps
from gapcast.processing.registry import STEP_ORDER

from .conftest import gappy_frame


def build(steps: list[Any]) -> ProcessingPipeline:
    return ProcessingBuilder.from_config(steps).build()


def test_fluent_builder_in_any_order_gives_the_fixed_order() -> None:
    pipeline = (
        ProcessingBuilder()
        .resample("1h")
        .detect_gaps(max_fill="3h")
        .fill_gaps("linear")
        .remove_linear_trend()
        .scale("standard")
        .window(lookback=48, horizon=24)
        .calendar()
        .mask_outliers(threshold=10)
        .split(val=0.15, test=0.15)
        .build()
    )
    assert [s.name for s in pipeline.steps] == list(STEP_ORDER)
    assert [s.position for s in pipeline.steps] == list(range(9))


def test_default_steps_build_and_a_missing_resample_is_added() -> None:
    names = [s.name for s in build(default_steps()).steps]
    # No global fill, detrend or scale by default: windows are scaled relative to themselves.
    assert names == ["resample", "detect_gaps", "split", "mask_outliers", "calendar", "window"]
    pipeline = build([{"step": "window", "lookback": 4, "horizon": 2}])
    assert [s.name for s in pipeline.steps] == ["resample", "window"]
    assert pipeline.steps[1].position == 0  # messages still name the user's index


@pytest.mark.parametrize(
    ("steps", "message", "field"),
    [
        (
            [{"step": "window"}, {"step": "resample"}],
            r"window step \(preprocessing\[0\]\) must come after the resample step "
            r"\(preprocessing\[1\]\)",
            "preprocessing[0]",
        ),
        ([{"step": "resample"}, {"step": "scale"}], "no window step", "preprocessing"),
        (
            [{"step": "resample"}, {"step": "window", "lookback": 0}],
            r"window step \(preprocessing\[1\]\): lookback: Input should be greater than or "
            "equal to 1, received 0",
            "preprocessing[1].lookback",
        ),
        (
            [{"step": "resample"}, {"step": "smooth"}, {"step": "window"}],
            r"preprocessing\[1\]: unknown step 'smooth'; expected one of resample, detect_gaps",
            "preprocessing[1].step",
        ),
        (
            [{"step": "scale"}, {"step": "scale"}, {"step": "window"}],
            r"scale step \(preprocessing\[1\]\) duplicates preprocessing\[0\]",
            "preprocessing[1]",
        ),
        (
            [{"step": "fill_gaps"}, {"step": "window"}],
            "needs a detect_gaps step before it",
            "preprocessing[0]",
        ),
        (
            [{"step": "resample", "freq": "1 fortnight"}, {"step": "window"}],
            r"resample step \(preprocessing\[0\]\): freq: expected a fixed positive duration "
            r"such as '15min', '1h' or '7D', received '1 fortnight'",
            "preprocessing[0].freq",
        ),
        (
            [{"step": "detect_gaps", "max_fill": "3 months"}, {"step": "window"}],
            "max_fill: expected a fixed positive duration such as '15min', '1h' or '7D', "
            "received '3 months'",
            "preprocessing[0].max_fill",
        ),
        (
            [{"step": "window", "colour": "red"}],
            "colour: Extra inputs are not permitted",
            "preprocessing[0].colour",
        ),
        (["window"], "expected a step object, received str", "preprocessing[0]"),
    ],
)
def test_invalid_step_lists(steps: list[Any], message: str, field: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        build(steps)
    assert info.value.field == field


def test_fluent_errors_also_come_from_build() -> None:
    builder = ProcessingBuilder().resample().window(lookback=0)
    with pytest.raises(InvalidInput, match="lookback"):
        builder.build()
    with pytest.raises(InvalidInput, match="duplicates"):
        ProcessingBuilder().scale().scale("minmax").window().build()


def test_a_window_no_training_part_can_hold_fails_at_fit_with_a_clear_message() -> None:
    frame = gappy_frame(n=300, gaps=((100, 10), (200, 10)))
    before: list[dict[str, Any]] = [
        {"step": "resample"},
        {"step": "detect_gaps", "max_fill": 3},
        {"step": "fill_gaps"},
        {"step": "split", "val": 0.1, "test": 0.1},
    ]
    pipeline = build([*before, {"step": "window", "lookback": 48, "horizon": 200}])
    with pytest.raises(InvalidInput) as info:
        pipeline.fit_transform(frame)
    assert info.value.message.startswith(
        "window step (preprocessing[4]): no training window of lookback=48 + horizon=200 has "
        "50% of its inputs and one of its targets observed in the training part"
    )
    assert info.value.field == "preprocessing[4].horizon"
    # It says how much training data there was: 240 steps, of which the 20 missing are not.
    assert "(240 grid steps, 220 with a target observed)" in info.value.message
    # A horizon no lookback fits beside (the lookback left to its default) says just that.
    with pytest.raises(InvalidInput) as info:
        build([*before, {"step": "window", "horizon": 240}]).fit_transform(frame)
    assert info.value.message == (
        "window step (preprocessing[4]): horizon=240 is not shorter than the training part "
        "(240 grid steps), and a training window holds the lookback and the horizon; use a "
        "shorter horizon, or more data"
    )
    assert info.value.field == "preprocessing[4].horizon"


def test_a_target_never_observed_in_training_is_refused_by_name() -> None:
    frame = gappy_frame(n=300, gaps=())
    values = np.array(frame.values)
    values[1, :] = np.nan  # the second channel never reported
    frame = SeriesFrame.from_arrays(frame.timestamps, values, frame.channels)
    steps = [
        {"step": "resample"},
        {"step": "split", "val": 0.1, "test": 0.1},
        {"step": "window", "lookback": 24, "horizon": 6},
    ]
    pipeline = ProcessingPipeline.from_config(steps, targets=list(frame.channels))
    with pytest.raises(InvalidInput) as info:
        pipeline.fit_transform(frame)
    name = frame.channels[1]
    assert f"target '{name}' has no observed value in the training part (240 grid steps)" in (
        info.value.message
    )
    assert info.value.field == "target"
    # A covariate that never reported (a wrong column, a dead sensor) is named the same way.
    as_covariate = ProcessingPipeline.from_config(
        steps, targets=[frame.channels[0]], covariates=[name]
    )
    with pytest.raises(InvalidInput) as info:
        as_covariate.fit_transform(frame)
    assert f"covariate '{name}' has no observed value in the training part" in info.value.message
    assert info.value.field == "covariates"


def test_a_gap_inside_a_window_keeps_it_usable() -> None:
    """Gap-tolerant windows: a 10-point hole in a 48-point lookback leaves it usable."""
    frame = gappy_frame(n=300, gaps=((100, 10),))
    pipeline = build(
        [
            {"step": "resample"},
            {"step": "detect_gaps", "max_fill": 3},
            {"step": "split", "val": 0.1, "test": 0.1},
            {"step": "window", "lookback": 48, "horizon": 4},
        ]
    )
    starts = pipeline.fit_transform(frame).train.starts
    assert {80, 90, 100} <= set(starts.tolist())  # lookbacks holding part of the hole


def test_unknown_target_and_covariate_channels() -> None:
    steps = [WindowStep(lookback=4, horizon=2)]
    with pytest.raises(InvalidInput, match="unknown target channel 'x'") as info:
        ProcessingPipeline.from_config(steps, targets=["x"]).fit_transform(gappy_frame())
    assert info.value.field == "target"
    with pytest.raises(InvalidInput, match="unknown covariate channel 'y'"):
        ProcessingPipeline.from_config(steps, covariates=["y"]).fit_transform(gappy_frame())
