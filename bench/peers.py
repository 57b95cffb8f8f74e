"""Peer forecasters for the forecast-quality benchmark, run the way their documentation shows.

- ``run_lightgbm``: mlforecast + LightGBM — lags up to a week (or a year for daily data), rolling
  means over them, calendar features, one recursive model.
- ``run_nhits``: neuralforecast's NHITS on torch (CPU), gaps passed as ``available_mask``.

Both take the regular grid (``grid_ts`` int64 ns UTC, ``values`` float64 with NaN where nothing was
observed), train once on ``grid[:fit_end]`` and forecast ``horizon`` steps from every origin ``o``
using ``values[:o]`` only (no refit per origin). Each checks that the library's forecast timestamps
are ``grid_ts[o:o + horizon]``, so a misaligned forecast raises instead of being scored.

Needs the ``bench`` extra (``make bench-install``); the tests never import this module.
Self-check (alignment, no look-ahead): ``.venv/bin/python bench/peers.py --self-check``
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

DAY_NS = 86_400 * 10**9
# LightGBM: 500 trees at learning rate 0.05 (its defaults are 100 at 0.1), other parameters at
# their defaults. One thread: on the shared 2-core machine two threads fitted the self-check's
# series in 30 s instead of 1 s.
LGBM_PARAMS: dict[str, Any] = {
    "n_estimators": 500,
    "learning_rate": 0.05,
    "num_leaves": 31,
    "n_jobs": 1,
}
# NHITS on a 2-core CPU: the default architecture (512 units, 1024 windows a step) takes 3-5 s a
# step here, so the hidden layers are halved to 256 units and a step samples 256 windows (0.2-0.5 s
# a step); NHITS's default budget of 1000 steps then fits a suite series in a few minutes (fewer
# steps left it behind seasonal naive: on the UK demand series 300 steps gave MAE 2,294 against
# seasonal naive's 1,818, 1000 steps 1,423). One torch thread: on a shared 2-core machine two
# intra-op threads were 5-10x slower (0.22 s a step on one, 2.0 s on two).
NHITS_THREADS = 1
NHITS_PARAMS: dict[str, Any] = {
    "max_steps": 1000,
    "mlp_units": 3 * [[256, 256]],
    "windows_batch_size": 256,
    "learning_rate": 1e-3,
    "scaler_type": "robust",
}


@dataclass(frozen=True)
class PeerForecast:
    name: str
    forecasts: NDArray[np.float64]  # (n_origins, horizon), real units
    fit_s: float  # wall time to train
    predict_s: float  # wall time for all origins' forecasts
    note: str = ""  # the choices made for this series (target transform, input size, ...)


# --- shared checks and simple baselines -------------------------------------------------------


def _check(
    grid_ts: NDArray[np.int64],
    values: NDArray[np.float64],
    fit_end: int,
    origins: NDArray[np.integer[Any]],
    horizon: int,
) -> NDArray[np.int64]:
    if grid_ts.shape != values.shape or grid_ts.ndim != 1:
        raise ValueError(
            f"expected 1-D grid_ts and values of one length, received {grid_ts.shape} and "
            f"{values.shape}"
        )
    step = np.diff(grid_ts)
    if step.size == 0 or np.any(step != step[0]):
        raise ValueError("expected grid_ts on a regular grid")
    origins = np.asarray(origins, dtype=np.int64)
    if origins.ndim != 1 or origins.size == 0 or np.any(np.diff(origins) <= 0):
        raise ValueError(f"expected ascending origins, received {origins!r}")
    if origins[0] < fit_end or origins[-1] + horizon > len(values):
        raise ValueError(
            f"expected origins in [fit_end={fit_end}, {len(values) - horizon}], received "
            f"{origins[0]}..{origins[-1]}"
        )
    if horizon < 1 or not 0 < fit_end <= len(values):
        raise ValueError(
            f"expected horizon >= 1 and 0 < fit_end <= n, received {horizon}, {fit_end}"
        )
    if np.isnan(values[:fit_end]).all():
        raise ValueError("nothing observed before fit_end")
    return origins


def _steps(origins: NDArray[np.int64], horizon: int) -> NDArray[np.int64]:
    out: NDArray[np.int64] = origins[:, None] + np.arange(horizon)[None, :]
    return out


def forward_fill(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each step's last observed value at or before it (NaN before the first): causal."""
    index = np.where(~np.isnan(values), np.arange(values.size), -1)
    last = np.maximum.accumulate(index)
    out = np.where(last >= 0, values[np.maximum(last, 0)], np.nan)
    return out


def naive_forecasts(
    values: NDArray[np.float64], origins: NDArray[np.int64], horizon: int
) -> NDArray[np.float64]:
    """The last value observed before each origin, for every step of the horizon."""
    filled = forward_fill(values)
    return np.repeat(filled[np.asarray(origins) - 1][:, None], horizon, axis=1)


def seasonal_naive_forecasts(
    values: NDArray[np.float64], season: int, origins: NDArray[np.int64], horizon: int
) -> NDArray[np.float64]:
    """The value one season earlier (whole seasons back until before the origin); where that
    step was unobserved, the last value observed before it."""
    filled = forward_fill(values)
    k = np.arange(horizon)
    source = np.asarray(origins)[:, None] + k[None, :] - season * (k // season + 1)[None, :]
    return np.where(source >= 0, filled[np.maximum(source, 0)], np.nan)


def mae(
    forecasts: NDArray[np.float64],
    values: NDArray[np.float64],
    origins: NDArray[np.int64],
    horizon: int,
) -> float:
    """Mean absolute error over the observed points of every origin's horizon."""
    truth = values[_steps(np.asarray(origins), horizon)]
    seen = ~np.isnan(truth)
    return float(np.mean(np.abs(forecasts[seen] - truth[seen])))


def _verify_alignment(
    ds: NDArray[Any], grid_ts: NDArray[np.int64], origins: NDArray[np.int64], horizon: int
) -> None:
    got = pd.DatetimeIndex(ds.ravel()).as_unit("ns").asi8.reshape(len(origins), horizon)
    want = grid_ts[_steps(origins, horizon)]
    if not np.array_equal(got, want):
        row = int(np.flatnonzero((got != want).any(axis=1))[0])
        raise AssertionError(
            f"forecast of origin {origins[row]} covers {pd.Timestamp(got[row, 0])}.., "
            f"expected {pd.Timestamp(want[row, 0])}.."
        )


def _uid(k: int) -> str:
    return f"o{k:06d}"  # sorts like the origins: both libraries return series sorted by id


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the libraries' logging, warnings and Lightning's banners for the block."""
    names = ("lightning", "lightning.pytorch", "pytorch_lightning", "lightning_fabric")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


# --- LightGBM through mlforecast ---------------------------------------------------------------


@dataclass(frozen=True)
class LgbmDesign:
    lags: list[int]
    rolling: dict[int, list[int]]  # lag -> rolling-mean windows over it
    date_features: list[str]
    history: int  # steps of history a forecast reads (mlforecast's keep_last_n)


def lightgbm_design(freq: str, seasons: list[int], fit_end: int) -> LgbmDesign:
    """Lags, rolling means and calendar features for the grid's frequency.

    Sub-daily: lags 1-6 plus the daily and weekly seasonal lags (and any given season);
    daily: 1-7, 14, 28 and 365 when 1.5 years are in the fit part; weekly: 1-4 and 52 when it fits.
    Rolling means over lag 1 (a short window and the main season) and over the main seasonal lag.
    """
    step = int(pd.Timedelta(freq).value)
    fits = [s for s in seasons if 1.5 * s <= fit_end]
    if step < DAY_NS:
        per_day = DAY_NS // step
        lags = [*range(1, 7), *(s for s in (per_day, 7 * per_day) if 1.5 * s <= fit_end), *fits]
        short = 6
        date_features = ["hour", "day_of_week"] + (["minute"] if step < 3_600 * 10**9 else [])
    elif step == DAY_NS:
        lags = [*range(1, 8), 14, 28, *(s for s in (365, *fits) if 1.5 * s <= fit_end)]
        short = 7
        date_features = ["day_of_week", "day_of_year", "month"]
    else:
        lags = [1, 2, 3, 4, *(s for s in (52, *fits) if 1.5 * s <= fit_end)]
        short = 4
        date_features = ["day_of_year", "month"]
    lags = sorted(set(lags))
    main = min(fits) if fits else short
    rolling = {1: sorted({short, main})}
    if main > 1:
        rolling[main] = [short]
    history = max(*lags, *(lag + max(w) for lag, w in rolling.items())) + 1
    return LgbmDesign(lags, rolling, date_features, history)


def _lightgbm_fit_predict(
    grid_ts: NDArray[np.int64],
    values: NDArray[np.float64],
    *,
    freq: str,
    design: LgbmDesign,
    differences: bool,
    fit_end: int,
    origins: NDArray[np.int64],
    horizon: int,
    seed: int,
) -> tuple[NDArray[np.float64], float, float]:
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import Differences

    filled = forward_fill(values)
    first = int(np.flatnonzero(~np.isnan(values))[0])
    ds = pd.to_datetime(grid_ts)  # tz-naive UTC
    train = pd.DataFrame(
        {
            "unique_id": "series",
            "ds": ds[first:fit_end],
            "y": filled[first:fit_end],
            "observed": (~np.isnan(values[first:fit_end])).astype(np.float64),
        }
    )
    fcst = MLForecast(
        models={"lgbm": lgb.LGBMRegressor(**LGBM_PARAMS, random_state=seed, verbosity=-1)},
        freq=freq,
        lags=design.lags,
        lag_transforms={
            lag: [RollingMean(window_size=w) for w in windows]
            for lag, windows in design.rolling.items()
        },
        date_features=design.date_features,
        target_transforms=[Differences([1])] if differences else None,
        num_threads=1,
    )
    with _quiet():
        start = time.perf_counter()
        features, target = fcst.preprocess(
            train,
            static_features=[],
            weight_col="observed",
            keep_last_n=design.history,
            return_X_y=True,
        )
        keep = features["observed"].to_numpy() > 0
        fcst.fit_models(features[keep], target[keep])
        fit_s = time.perf_counter() - start

        start = time.perf_counter()
        histories = []
        for k, o in enumerate(origins):
            lo = max(first, int(o) - design.history - 1)
            histories.append(
                pd.DataFrame({"unique_id": _uid(k), "ds": ds[lo:o], "y": filled[lo:o]})
            )
        pred = fcst.predict(horizon, new_df=pd.concat(histories, ignore_index=True))
        predict_s = time.perf_counter() - start
    _verify_alignment(pred["ds"].to_numpy(), grid_ts, origins, horizon)
    forecasts = pred["lgbm"].to_numpy(dtype=np.float64).reshape(len(origins), horizon)
    return forecasts, fit_s, predict_s


def run_lightgbm(
    grid_ts: NDArray[np.int64],
    values: NDArray[np.float64],
    *,
    freq: str,
    seasons: list[int],
    fit_end: int,
    origins: NDArray[np.integer[Any]],
    horizon: int,
    seed: int = 0,
) -> PeerForecast:
    """mlforecast + LightGBM, one recursive model, trained on ``grid[:fit_end]``.

    mlforecast refuses a NaN target (``TimeSeries._fit``: "y column contains null values"; NaN
    targets are an open request, Nixtla/mlforecast#704), so gaps are forward-filled — causal, so
    the history of every origin is filled from its own past only — and the training rows whose
    target was filled are dropped before LightGBM sees them (``preprocess`` → drop →
    ``fit_models``, the manual path mlforecast documents). Lags over a gap read the filled value.

    The target is modelled as is or as first differences (``Differences([1])``, what
    mlforecast's guides use for a trend), whichever has the lower MAE on validation origins in
    the last 15% of the fit part (a model fitted before them), as a practitioner would check;
    then the chosen one is refitted on the whole fit part. ``fit_s`` counts all three fits.
    """
    origins = _check(grid_ts, values, fit_end, origins, horizon)
    design = lightgbm_design(freq, seasons, fit_end)
    run = functools.partial(
        _lightgbm_fit_predict, grid_ts, values, freq=freq, design=design, seed=seed
    )
    val_end = fit_end
    val_start = val_end - max(2 * horizon, round(0.15 * fit_end))
    val_origins = np.arange(val_start, val_end - horizon + 1, horizon, dtype=np.int64)
    differences, select_s, errors = False, 0.0, {}
    val_design = lightgbm_design(freq, seasons, val_start)
    if val_start - val_design.history >= 100 and len(val_origins) >= 2:
        for option in (False, True):
            forecasts, fit_s, predict_s = run(
                design=val_design,
                differences=option,
                fit_end=val_start,
                origins=val_origins,
                horizon=horizon,
            )
            errors[option] = mae(forecasts, values, val_origins, horizon)
            select_s += fit_s + predict_s
        differences = errors[True] < errors[False]
    forecasts, fit_s, predict_s = run(
        differences=differences, fit_end=fit_end, origins=origins, horizon=horizon
    )
    note = "target: first differences" if differences else "target: as is"
    if errors:
        note += f" (validation MAE as is {errors[False]:.4g}, differences {errors[True]:.4g})"
    return PeerForecast("lightgbm", forecasts, fit_s + select_s, predict_s, note)


# --- NHITS through neuralforecast --------------------------------------------------------------


def nhits_input_size(freq: str, seasons: list[int], horizon: int, fit_end: int) -> int:
    """A few of the longest season that fits: up to 3 of it, at most two weeks of sub-daily steps
    (a quarter of the fit part otherwise), and at least two horizons."""
    step = int(pd.Timedelta(freq).value)
    cap = 14 * DAY_NS // step if step < DAY_NS else fit_end // 4
    fitting = [s for s in seasons if s <= cap] or [horizon]
    season = max(fitting)
    k = max((k for k in (3, 2, 1) if k * season <= cap), default=1)
    return int(max(k * season, 2 * horizon))


def run_nhits(
    grid_ts: NDArray[np.int64],
    values: NDArray[np.float64],
    *,
    freq: str,
    seasons: list[int],
    fit_end: int,
    origins: NDArray[np.integer[Any]],
    horizon: int,
    seed: int = 0,
    max_steps: int | None = None,
) -> PeerForecast:
    """neuralforecast NHITS trained on ``grid[:fit_end]``; each origin forecast from the last
    ``input_size`` steps before it (``predict(df=...)``, one series per origin).

    Unobserved steps are rows with ``y = 0`` and ``available_mask = 0``: NHITS's robust scaler
    ignores them, training windows need observed points, and masked targets weigh nothing.
    """
    from neuralforecast import NeuralForecast
    from neuralforecast.models import NHITS

    origins = _check(grid_ts, values, fit_end, origins, horizon)
    input_size = nhits_input_size(freq, seasons, horizon, fit_end)
    observed = ~np.isnan(values)
    y = np.where(observed, values, 0.0)
    mask = observed.astype(np.float64)
    ds = pd.to_datetime(grid_ts)
    first = int(np.flatnonzero(observed)[0])
    params = {**NHITS_PARAMS, **({"max_steps": max_steps} if max_steps else {})}
    train = pd.DataFrame(
        {
            "unique_id": "series",
            "ds": ds[first:fit_end],
            "y": y[first:fit_end],
            "available_mask": mask[first:fit_end],
        }
    )
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(NHITS_THREADS)
    with _quiet(), contextlib.ExitStack() as restore:
        restore.callback(torch.set_num_threads, threads)
        model = NHITS(
            h=horizon,
            input_size=input_size,
            random_seed=seed,
            accelerator="cpu",
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            logger=False,
            **params,
        )
        nf = NeuralForecast(models=[model], freq=freq)
        start = time.perf_counter()
        nf.fit(df=train)
        fit_s = time.perf_counter() - start

        start = time.perf_counter()
        # The last input_size steps before each origin (fewer when the grid starts later:
        # neuralforecast pads them as unavailable).
        spans = [(k, max(first, int(o) - input_size), int(o)) for k, o in enumerate(origins)]
        histories = [
            pd.DataFrame(
                {
                    "unique_id": _uid(k),
                    "ds": ds[lo:o],
                    "y": y[lo:o],
                    "available_mask": mask[lo:o],
                }
            )
            for k, lo, o in spans
        ]
        pred = nf.predict(df=pd.concat(histories, ignore_index=True))
        predict_s = time.perf_counter() - start
    _verify_alignment(pred["ds"].to_numpy(), grid_ts, origins, horizon)
    forecasts = pred["NHITS"].to_numpy(dtype=np.float64).reshape(len(origins), horizon)
    return PeerForecast("nhits", forecasts, fit_s, predict_s)


# --- self-check ---------------------------------------------------------------------------------


def _sine_series(days: int = 60) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Hourly grid, a pure daily sine (amplitude 10 around 50), a 30-hour outage and 2% of the
    hours missing at random."""
    n = days * 24
    grid_ts = (
        pd.Timestamp("2024-01-01", tz="UTC").value + np.arange(n, dtype=np.int64) * 3_600 * 10**9
    )
    values = 50 + 10 * np.sin(2 * np.pi * np.arange(n) / 24)
    values[int(n * 0.4) : int(n * 0.4) + 30] = np.nan
    values[np.random.default_rng(0).choice(n, n // 50, replace=False)] = np.nan
    return grid_ts, values


def self_check(nhits_steps: int) -> None:
    """Alignment (a pure daily sine: the peers' error is far below naive's, and a forecast one
    step off would not be) and no look-ahead (changing values[o:] leaves the forecast from o and
    every earlier origin unchanged, and changes later ones)."""
    grid_ts, values = _sine_series()
    horizon, fit_end = 24, int(len(values) * 0.75)
    origins = np.arange(fit_end, len(values) - horizon + 1, horizon // 2)
    # Origins right after a gap too: the history before them ends unobserved.
    values[origins[3] - 5 : origins[3]] = np.nan
    kwargs = {"freq": "1h", "seasons": [24], "fit_end": fit_end, "origins": origins}
    naive = mae(naive_forecasts(values, origins, horizon), values, origins, horizon)
    # The error of a forecast one step off: the mean change from one hour to the next.
    off_by_one = float(np.nanmean(np.abs(np.diff(values[fit_end:]))))
    middle = len(origins) // 2
    perturbed = values.copy()
    perturbed[origins[middle] :] += np.random.default_rng(1).normal(
        0, 30, len(values) - origins[middle]
    )

    for name, run, extra in (
        ("lightgbm", run_lightgbm, {}),
        ("nhits", run_nhits, {"max_steps": nhits_steps}),
    ):
        first = run(grid_ts, values, horizon=horizon, **kwargs, **extra)
        error = mae(first.forecasts, values, origins, horizon)
        print(
            f"{name}: MAE {error:.3f} vs naive {naive:.3f}, one step off {off_by_one:.3f}; "
            f"fit {first.fit_s:.1f} s, predict {first.predict_s:.2f} s"
        )
        assert first.forecasts.shape == (len(origins), horizon)
        limit = 0.1 if name == "lightgbm" else 0.25
        assert error < limit * naive, f"{name}: MAE {error:.3f} not << naive {naive:.3f}"
        if name == "lightgbm":
            assert error < 0.5 * off_by_one, f"{name}: MAE {error:.3f}, misaligned?"
        again = run(grid_ts, perturbed, horizon=horizon, **kwargs, **extra)
        np.testing.assert_allclose(
            again.forecasts[: middle + 1], first.forecasts[: middle + 1], rtol=0, atol=1e-9
        )
        assert not np.allclose(again.forecasts[middle + 1 :], first.forecasts[middle + 1 :])
        print(f"{name}: forecasts from origins <= o unchanged by values[o:]; later ones change")
    print("self-check passed")


def main() -> None:
    parser = argparse.ArgumentParser(description="Peer forecasters of the quality benchmark.")
    parser.add_argument("--self-check", action="store_true", help="check alignment and look-ahead")
    parser.add_argument("--nhits-steps", type=int, default=500, help="NHITS steps in the check")
    args = parser.parse_args()
    if not args.self_check:
        parser.error("nothing to do: pass --self-check (bench/forecast_quality.py runs the peers)")
    self_check(args.nhits_steps)


if __name__ == "__main__":
    main()
