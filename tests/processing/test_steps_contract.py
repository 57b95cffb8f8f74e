"""Every step class: config round trip, fit/transform, and inverse where declared."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from gapcast.errors import InvalidInput
from gapcast.processing import (
    STEP_CLASSES,
    STEP_ORDER,
    FrameStep,
    SeriesFrame,
    Split,
    Step,
    Window,
    WindowSplits,
)
from gapcast.processing.config import StepConfig, default_steps

from .conftest import gappy_frame

ADAPTER: TypeAdapter[StepConfig] = TypeAdapter(StepConfig)

# Non-default parameters where a step has any, so the round trip has something to carry.
PARAMS: dict[str, dict[str, object]] = {
    "resample": {"freq": "2h", "agg": "max"},
    "detect_gaps": {"max_fill": "4h"},
    "fill_gaps": {"method": "seasonal", "season": 24},
    "split": {"val": 0.2, "test": 0.1},
    "mask_outliers": {"threshold": 8.0, "max_run": 2},
    "remove_linear_trend": {},
    "scale": {"method": "robust"},
    "calendar": {"cycles": ["time_of_day"]},
    "window": {"lookback": 12, "horizon": 4, "stride": 2, "min_observed": 0.75, "season": "none"},
}


def input_frame(name: str) -> SeriesFrame:
    """What the step sees inside a pipeline: raw data for resample, a split grid otherwise."""
    raw = gappy_frame()
    if name == "resample":
        return raw
    grid = STEP_CLASSES["resample"]().fit_transform(raw)  # type: ignore[attr-defined]
    if name in ("mask_outliers", "remove_linear_trend", "scale", "window"):
        grid = Split(0.2, 0.2).fit_transform(grid)
    if name == "window":
        filled = STEP_CLASSES["fill_gaps"](max_fill=3)  # type: ignore[call-arg]
        grid = filled.fit_transform(grid)  # type: ignore[attr-defined]
    return grid


def test_registry_covers_every_config_step() -> None:
    assert set(STEP_CLASSES) == set(STEP_ORDER)
    order = [s.step for s in default_steps()]
    assert order == [name for name in STEP_ORDER if name in order]


@pytest.mark.parametrize("name", STEP_ORDER)
def test_unfitted_config_round_trip(name: str) -> None:
    step = STEP_CLASSES[name](**PARAMS[name])
    config = step.to_config()
    assert config.step == name
    assert config.fitted == {}
    assert not step.is_fitted
    again = type(step).from_config(ADAPTER.validate_python(config.model_dump(mode="json")))
    assert again == step
    assert again.get_params() == step.get_params()


@pytest.mark.parametrize("name", STEP_ORDER)
def test_fit_transform_and_fitted_round_trip(name: str) -> None:
    frame = input_frame(name)
    step: Step = STEP_CLASSES[name](**PARAMS[name])
    step.fit(frame)  # type: ignore[attr-defined]
    assert step.is_fitted
    config = step.to_config()
    assert config.fitted
    # Through JSON, as a stored training configuration would be.
    restored = type(step).from_config(ADAPTER.validate_json(config.model_dump_json()))
    assert restored == step
    assert restored.is_fitted
    out = step.transform(frame)  # type: ignore[attr-defined]
    again = restored.transform(frame)  # type: ignore[attr-defined]
    if isinstance(step, Window):
        assert isinstance(out, WindowSplits)
        for part in ("train", "val", "test"):
            np.testing.assert_array_equal(out[part].starts, again[part].starts)
        assert len(out.train) > 0
    else:
        assert isinstance(out, SeriesFrame)
        assert out.n_channels == frame.n_channels
        np.testing.assert_array_equal(out.values, again.values)
        np.testing.assert_array_equal(out.timestamps, again.timestamps)
        assert out.mask.shape == out.values.shape


@pytest.mark.parametrize("name", STEP_ORDER)
def test_inverse_where_declared(name: str) -> None:
    frame = input_frame(name)
    step = STEP_CLASSES[name](**PARAMS[name])
    step.fit(frame)  # type: ignore[attr-defined]
    if not isinstance(step, FrameStep):
        assert not step.invertible
        return
    out = step.transform(frame)
    if step.invertible:
        back = step.inverse_transform(out)
        np.testing.assert_allclose(back.values, frame.values, rtol=1e-12, atol=1e-9)
    else:
        with pytest.raises(InvalidInput, match="cannot be inverted"):
            step.inverse_transform(out)


@pytest.mark.parametrize(
    "name", ["resample", "split", "remove_linear_trend", "scale", "calendar", "window"]
)
def test_transform_before_fit_is_refused(name: str) -> None:
    step = STEP_CLASSES[name](**PARAMS[name])
    with pytest.raises(InvalidInput, match="not fitted"):
        step.transform(input_frame(name))  # type: ignore[attr-defined]
