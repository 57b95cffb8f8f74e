"""The grid of values a target takes, and quantiles read off it."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import TypeAdapter

from gapcast.processing import ProcessingPipeline, SeriesFrame
from gapcast.processing.config import StepConfig
from gapcast.processing.value_grid import on_grid, value_grid

rng = np.random.default_rng(7)


@pytest.mark.parametrize(
    ("values", "grid"),
    [
        (rng.poisson(3, 200).astype(float) + 40, (1.0, 0.0)),  # counts
        (np.round(rng.normal(20, 2, 200), 1), (0.1, 0.0)),  # a meter to one decimal
        (np.round(rng.normal(20, 2, 200) * 2) / 2 + 0.25, (0.5, 0.25)),  # off zero
        (np.tile([0.0, 0.2, 0.5], 10), (0.1, 0.0)),  # a step no two values differ by
        (np.round(rng.normal(3e4, 2e3, 200), -2), (100.0, 0.0)),  # rounded to hundreds
    ],
)
def test_the_grid_values_lie_on(values: np.ndarray, grid: tuple[float, float]) -> None:
    assert value_grid(values) == grid
    with_gaps = np.where(rng.random(values.size) < 0.2, np.nan, values)
    assert value_grid(with_gaps) == grid


@pytest.mark.parametrize(
    "values",
    [
        rng.normal(20, 2, 200),  # a continuous measurement
        np.convolve(rng.poisson(3, 203).astype(float), np.ones(4) / 3, "valid"),  # means of 3
        rng.poisson(3, 19).astype(float),  # too few to tell
        np.full(100, 21.0),  # one value: no step
        np.array([0.0, 1e-9, 1.0] * 10),  # a billion levels
    ],
)
def test_no_grid(values: np.ndarray) -> None:
    assert value_grid(values) is None


def test_reading_quantiles_off_the_grid_never_takes_a_grid_value_out_of_the_interval() -> None:
    lo, hi = np.sort(rng.uniform(-3, 3, (2, 5_000)), axis=0)
    grid_values = np.arange(-12, 13) * 0.25 + 0.1
    step, anchor = 0.25, 0.1
    snapped_lo, snapped_hi = on_grid(lo, step, anchor), on_grid(hi, step, anchor)
    for g in grid_values:
        inside = (lo <= g) & (g <= hi)
        assert ((snapped_lo <= g + 1e-12) & (g - 1e-12 <= snapped_hi))[inside].all()
    assert (snapped_lo <= snapped_hi).all()  # order kept
    assert np.abs(snapped_lo - lo).max() <= step / 2 + 1e-12


def test_the_pipeline_learns_the_grid_stores_it_and_reads_quantiles_off_it() -> None:
    hours = np.arange(24 * 30)
    ts = hours.astype(np.int64) * 3_600 * 10**9
    counts = rng.poisson(2 + np.sin(hours / 24 * 2 * np.pi)).astype(float)

    def fitted(values: np.ndarray, *extra: dict[str, object]) -> ProcessingPipeline:
        steps = [{"step": "split"}, *extra, {"step": "window", "lookback": 24, "horizon": 3}]
        pipeline = ProcessingPipeline.from_config(steps)
        pipeline.fit_transform(SeriesFrame.from_arrays(ts, values, ["orders"]))
        return pipeline

    bands = np.array([[[-0.4], [0.6], [2.4]], [[1.2], [2.5], [3.7]]])  # (2 quantiles, 3, 1)
    pipeline = fitted(counts)
    assert pipeline.window.value_grid_ == ((1.0, 0.0),)
    expected = [[0.0, 1.0, 2.0], [1.0, 2.0, 4.0]]  # never below zero either
    assert pipeline.on_value_grid(bands)[..., 0].tolist() == expected
    again = ProcessingPipeline.from_config(
        [TypeAdapter(StepConfig).validate_json(c.model_dump_json()) for c in pipeline.to_config()]
    )
    assert again.on_value_grid(bands)[..., 0].tolist() == expected
    # Values in scaled units show no grid of the data; a continuous target has none.
    assert fitted(counts, {"step": "scale"}).window.value_grid_ == (None,)
    assert fitted(counts + rng.normal(0, 0.1, counts.size)).window.value_grid_ == (None,)
    # A pipeline stored before the grid was learned reads its quantiles as they are.
    stored = [c.model_dump(mode="json") for c in pipeline.to_config()]
    del stored[-1]["fitted"]["value_grid"]
    old = ProcessingPipeline.from_config(stored)
    assert old.on_value_grid(bands)[..., 0].tolist() == [[0.0, 0.6, 2.4], [1.2, 2.5, 3.7]]
