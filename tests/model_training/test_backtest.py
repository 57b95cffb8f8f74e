"""The backtest: fixed origins, baselines, scores by hand, the verdict, and statsforecast."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gapcast
from gapcast.model_training import backtest as bt
from gapcast.model_training.baselines import (
    Naive,
    SeasonalNaive,
    StatsForecastBaseline,
    interpolated,
    make_baselines,
)
from gapcast.model_training.interval_backtest import pinball_ratio
from gapcast.model_training.run_warnings import warnings_for
from gapcast.model_training.verdicts import verdict
from gapcast.processing.seasons import Season

DAY = Season("1 day", 24)


def sine(n: int = 24 * 40) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(n) / 24)[None, :]


def test_scores_by_hand() -> None:
    truth = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1)
    forecast = np.array([1.0, 3.0, 1.0, 4.0]).reshape(1, 4, 1)  # errors 0, 1, -2, 0
    scored = np.ones_like(truth, dtype=bool)
    s = bt.score(truth, forecast, scored, scale=5 / 3, after_outage=np.array([True]))
    assert s["mae"] == pytest.approx(0.75) and s["rmse"] == pytest.approx(math.sqrt(5 / 4))
    assert s["bias"] == pytest.approx(-0.25)
    # sMAPE: 2|e|/(|y|+|ŷ|): 0, 2/5, 4/4, 0 → mean 0.35 → 35 %
    assert s["smape"] == pytest.approx(35.0)
    assert s["mase"] == pytest.approx(0.45)  # 0.75 / (5/3)
    assert s["mae_by_lead"] == [0.0, 1.0, 2.0, 0.0]
    assert s["mae_after_outage"] == pytest.approx(0.75)
    # The training series 1, 3, 2, 4: naive steps |2|, |1|, |2| → MASE's scale 5/3.
    assert bt.mase_scale(np.array([[1.0, 3.0, 2.0, 4.0]]), 1) == pytest.approx(5 / 3)
    assert bt.mase_scale(np.array([[1.0, 5.0, 2.0, 7.0]]), 2) == pytest.approx(1.5)


def test_naive_and_seasonal_naive_read_only_the_past() -> None:
    real = np.array([[0.0, 1, 2, 3, np.nan, 5, 6, 7, 8, 9]])
    origins = np.array([5, 8])
    naive = Naive().forecast(real, origins, 3)
    assert naive[:, :, 0].tolist() == [[3, 3, 3], [7, 7, 7]]  # t=4 missing: the value before
    seasonal = SeasonalNaive(Season("3 steps", 3)).forecast(real, origins, 4)
    # origin 5: steps 5,6,7,8 ← values at 2,3,4,2; 4 is missing: a cycle earlier, 1
    assert seasonal[0, :, 0].tolist() == [2, 3, 1, 2]
    assert seasonal[1, :, 0].tolist() == [5, 6, 7, 5]
    # No cycle before has the phase: the last observed value before it.
    early = np.array([[0.0, np.nan, 2, 3, 4, 5]])
    first = SeasonalNaive(Season("3 steps", 3)).forecast(early, np.array([4]), 3)
    assert first[0, :, 0].tolist() == [0, 2, 3]  # step 4 ← 1 (missing, no cycle before it)


def test_a_pure_daily_sine_is_exact_for_seasonal_naive_and_an_exact_model() -> None:
    real = sine()
    origins = bt.choose_origins(
        np.ones(real.shape[1], bool),
        begin=24 * 34,
        end=real.shape[1],
        horizon=24,
        stride=24,
        max_fill=3,
    )
    assert origins.index.tolist() == [24 * d for d in range(34, 40)]
    truth = bt.truth_at(real, origins.index, 24)
    result = bt.leaderboard(
        real=real,
        origins=origins,
        horizon=24,
        forecasts={
            "model": ("exact", "model", truth.copy(), None),
            "naive": ("naive", "baseline", Naive().forecast(real, origins.index, 24), 0.0),
            "sn": (
                "seasonal naive, 1 day",
                "baseline",
                SeasonalNaive(DAY).forecast(real, origins.index, 24),
                0.0,
            ),
        },
        scale=bt.mase_scale(real[:, : 24 * 34], 24),
        stride=24,
    )
    rows = {r["method"]: r for r in result["leaderboard"]}
    assert rows["model"]["mae"] == pytest.approx(0, abs=1e-12)
    assert rows["sn"]["mae"] == pytest.approx(0, abs=1e-12)
    assert rows["naive"]["mae"] > 0.5
    assert result["best_baseline"] == "seasonal naive, 1 day"
    assert not result["verdict"]["better"]  # as good as the exact baseline is not better
    assert result["points"] == 6 * 24


def test_the_origins_after_outages_get_their_own_verdict_and_a_warning_when_worse() -> None:
    """A model ahead overall but behind yesterday's value where the data resumes: the overall
    verdict would hide it; the origins right after outages get a verdict of their own, against
    the baseline best there, and a warning when the model is behind."""
    real = sine()
    n = real.shape[1]
    after = np.zeros(10, dtype=bool)
    after[[2, 6]] = True
    origins = bt.Origins(index=np.arange(24 * 30, 24 * 40, 24), after_outage=after)
    truth = bt.truth_at(real, origins.index, 24)
    model = truth + 0.01  # nearly exact ...
    model[after] += 0.15  # ... but for the origins after outages
    naive = Naive().forecast(real, origins.index, 24)
    result = bt.leaderboard(
        real=real,
        origins=origins,
        horizon=24,
        forecasts={
            "model": ("mlp", "model", model, None),
            "naive": ("naive", "baseline", naive, 0.0),
            "sn": ("seasonal naive, 1 day", "baseline", truth + 0.1, 0.0),
        },
        scale=bt.mase_scale(real[:, : n // 2], 24),
        stride=24,
    )
    assert result["verdict"]["better"]  # overall, the model is ahead
    after_verdict = result["verdict_after_outage"]
    assert after_verdict["baseline"] == "seasonal naive, 1 day" and not after_verdict["better"]
    assert after_verdict["ratio"] == pytest.approx(0.16 / 0.1)
    warnings = warnings_for({**result, "origins": 10}, loss=0.1, val_loss=0.1)
    (said,) = [w for w in warnings if w["code"] == "worse_after_outages"]
    assert said["message"].startswith(
        "right after outages (2 origins): worse than the best baseline (seasonal naive, 1 day)"
    )
    # No origin after an outage: no such verdict, no such warning.
    origins = bt.Origins(index=origins.index, after_outage=np.zeros(10, dtype=bool))
    plain = bt.leaderboard(
        real=real,
        origins=origins,
        horizon=24,
        forecasts={
            "model": ("mlp", "model", model, None),
            "naive": ("naive", "baseline", naive, 0.0),
        },
        scale=1.0,
        stride=24,
    )
    assert plain["verdict_after_outage"] is None


def test_an_origin_mostly_unobserved_is_skipped_and_filled_points_never_count() -> None:
    observed = np.ones(100, bool)
    observed[60:64] = False  # 4 of the 8 steps of origin 56's horizon: half → still counts
    observed[72:77] = False  # 5 of 8 of origin 72's horizon: skipped
    origins = bt.choose_origins(observed, begin=40, end=100, horizon=8, stride=8, max_fill=2)
    assert origins.index.tolist() == [40, 48, 56, 64, 80, 88]
    # An outage longer than max_fill touching the last horizon steps before an origin.
    assert origins.after_outage.tolist() == [False, False, False, True, True, False]
    real = np.where(observed, np.arange(100.0), np.nan)[None, :]
    filled = np.arange(100.0)[None, :]  # what a fill step would put in the gaps
    result = bt.leaderboard(
        real=real,
        origins=origins,
        horizon=8,
        forecasts={"model": ("m", "model", bt.truth_at(filled, origins.index, 8) + 1, None)},
        scale=1.0,
        stride=8,
    )
    assert result["points"] == 6 * 8 - 4  # the 4 unobserved steps 60..63 are not truth
    assert result["leaderboard"][0]["mae"] == pytest.approx(1.0)
    assert result["origins_after_outage"] == 2


def test_several_targets_are_ranked_on_their_mean_mase_not_a_pooled_mae() -> None:
    """Power in watts (around 1e6) beside a temperature (around 20): a pooled MAE is the power's
    alone. The baseline is exact on the power and 2 degrees off; the model is 100 W off (0.01%)
    and exact on the temperature. Ranked on each target's MAE relative to its own scale, the
    model is the better one, and the verdict says so; each target's MAE is reported."""
    n, h = 24 * 20, 24
    t = np.arange(n)
    power = 1e6 + 1e5 * np.sin(2 * np.pi * t / 24)
    temp = 20 + 5 * np.cos(2 * np.pi * t / 24) + 0.1 * t / 24
    real = np.stack([power, temp])
    observed = np.ones(n, bool)
    origins = bt.choose_origins(observed, begin=24 * 15, end=n, horizon=h, stride=h, max_fill=2)
    truth = bt.truth_at(real, origins.index, h)
    baseline = truth + np.array([0.0, 2.0])
    model = truth + np.array([100.0, 0.0])
    train = real[:, : 24 * 10]
    scales = bt.target_scales(train, 1)
    assert scales[0] > 1e4 and 0.5 < scales[1] < 2  # each in its own units
    result = bt.leaderboard(
        real=real,
        origins=origins,
        horizon=h,
        forecasts={
            "model": ("m", "model", model, None),
            "naive": ("naive", "baseline", baseline, None),
        },
        scale=bt.mase_scale(train, 1),
        stride=h,
        scales=scales,
        targets=["power", "temp"],
    )
    rows = {r["method"]: r for r in result["leaderboard"]}
    # The pooled MAE would have the baseline far ahead: 1.0 against 50.
    assert rows["naive"]["mae"] == pytest.approx(1.0) and rows["model"]["mae"] == pytest.approx(50)
    assert [r["method"] for r in result["leaderboard"]] == ["model", "naive"]
    assert result["verdict"]["better"] and result["best_baseline"] == "naive"
    assert rows["model"]["mae_by_target"] == {"power": pytest.approx(100), "temp": 0.0}
    assert rows["naive"]["mae_by_target"] == {"power": 0.0, "temp": pytest.approx(2.0)}
    expected = np.mean([100 / scales[0], 0.0]), np.mean([0.0, 2.0 / scales[1]])
    assert rows["model"]["mase"] == pytest.approx(expected[0])
    assert rows["naive"]["mase"] == pytest.approx(expected[1])
    assert result["verdict"]["ratio"] == pytest.approx(expected[0] / expected[1])

    # One target: the MAE ranks, exactly as before.
    one = bt.leaderboard(
        real=real[:1],
        origins=origins,
        horizon=h,
        forecasts={
            "model": ("m", "model", model[..., :1], None),
            "naive": ("naive", "baseline", baseline[..., :1], None),
        },
        scale=1.0,
        stride=h,
        scales=scales[:1],
        targets=["power"],
    )
    assert [r["method"] for r in one["leaderboard"]] == ["naive", "model"]
    assert "mae_by_target" not in one["leaderboard"][0]


@pytest.mark.parametrize(
    ("model", "best", "text", "better"),
    [
        (0.77, 1.0, "better than the best baseline (naive) by 23%", True),
        (1.14, 1.0, "worse than the best baseline (naive) by 14%", False),
        (14.2, 1.0, "worse than the best baseline (naive) by 14x", False),
        (2.5, 1.0, "worse than the best baseline (naive) by 2.5x", False),
        (1.0, 1.0, "no better than the best baseline (naive)", False),
    ],
)
def test_verdict_both_ways(model: float, best: float, text: str, better: bool) -> None:
    v = verdict(model, "naive", best)
    assert v["text"] == text and v["better"] is better


@pytest.mark.parametrize(
    ("model", "noise", "text", "better"),
    [
        (0.77, 0.1, "better than the best baseline (naive) by 23%", True),
        (
            0.997,
            0.01,
            "no better than the best baseline (naive): 0.3% lower MAE, within noise on 7 origins",
            False,
        ),
        (0.997, 0.001, "better than the best baseline (naive) by 0.3%", True),
        (
            1.002,
            0.01,
            "worse than the best baseline (naive) by 0.2%, within noise on 7 origins",
            False,
        ),
        (1.14, 0.01, "worse than the best baseline (naive) by 14%", False),
    ],
)
def test_a_gain_within_the_noise_is_no_better(
    model: float, noise: float, text: str, better: bool
) -> None:
    v = verdict(model, "naive", 1.0, noise=noise, compared=7)
    assert v["text"] == text and v["better"] is better and v["noise"] == noise


def test_the_noise_is_two_standard_errors_of_the_per_origin_difference() -> None:
    """Two models with the same mean advantage over the baseline, 0.05 on every point: one
    ahead at every origin by the same amount, one far ahead at some origins and behind at the
    others. Only the first is better; the second's gain is chance's size and it says so."""
    observed = np.ones(200, bool)
    origins = bt.choose_origins(observed, begin=100, end=200, horizon=10, stride=10, max_fill=2)
    real = np.arange(200.0)[None, :]
    truth = bt.truth_at(real, origins.index, 10)
    n = len(origins)
    baseline = truth + 1.0
    steady = truth + 0.95
    swings = np.where(np.arange(n) % 2 == 0, 0.45, 1.45)[:, None, None]  # mean 0.95 as well
    erratic = truth + swings

    def run(model: np.ndarray) -> dict[str, Any]:
        return bt.leaderboard(
            real=real,
            origins=origins,
            horizon=10,
            forecasts={
                "model": ("m", "model", model, None),
                "naive": ("naive", "baseline", baseline, 0.0),
            },
            scale=1.0,
            stride=10,
        )

    ahead, chance = run(steady)["verdict"], run(erratic)["verdict"]
    assert ahead["better"] and ahead["noise"] == pytest.approx(0.0, abs=1e-12)
    assert ahead["text"] == "better than the best baseline (naive) by 5%"
    diff = swings.ravel() - 1.0
    assert chance["noise"] == pytest.approx(2 * diff.std(ddof=1) / math.sqrt(n))
    assert chance["ratio"] == pytest.approx(0.95) and not chance["better"]
    assert chance["text"] == (
        f"no better than the best baseline (naive): 5% lower MAE, within noise on {n} origins"
    )


def test_the_default_stride_visits_every_phase_of_each_cycle() -> None:
    """Every step of a short test part; on a long one at most MAX_ORIGINS origins, with a stride
    sharing no factor with any season, so the origins still start at every hour of the day and
    every half hour of the week."""
    assert bt.default_stride(97, [7, 365]) == 1
    assert bt.default_stride(bt.MAX_ORIGINS, [24]) == 1
    for steps, seasons in (
        (1402, [24, 168]),
        (558, [48, 336]),
        (4094, [288, 2016]),
        (10**6, [1440, 10080]),
    ):
        stride = bt.default_stride(steps, seasons)
        assert stride > 1 and len(range(0, steps, stride)) <= bt.MAX_ORIGINS
        assert len(range(0, steps, stride - 1)) > bt.MAX_ORIGINS or any(
            math.gcd(stride - 1, s) > 1 for s in seasons
        )
        for season in seasons:
            phases = {(k * stride) % season for k in range(season)}
            assert len(phases) == season
    assert bt.default_stride(1402, [24, 168]) == 11  # 8 would start only at 0, 8 and 16 h


def test_origins_closer_than_the_horizon_widen_the_noise_margin() -> None:
    """Origins every step forecast mostly the same points, so their errors move together: with
    no real difference between two methods, the plain standard error would call one of them
    "better" in about a quarter of backtests; counting the overlap brings that near the 2.3% that
    two standard errors promise."""
    from gapcast.model_training.paired_noise import margin, overlap_lags

    assert [overlap_lags(10, s) for s in (10, 20, 5, 3, 1)] == [0, 0, 1, 3, 9]
    origins = bt.choose_origins(
        np.ones(400, bool), begin=200, end=400, horizon=10, stride=1, max_fill=2
    )
    steps = origins.index[:, None] + np.arange(10)
    rng = np.random.default_rng(0)
    plain = counted = 0
    for _ in range(400):
        diff = rng.standard_normal(400)[steps].mean(axis=1)  # per-origin difference, no skill
        zero = np.zeros_like(diff)
        plain += diff.mean() < -(margin(diff, zero)[0] or 0.0)
        counted += diff.mean() < -(margin(diff, zero, lags=overlap_lags(10, 1))[0] or 0.0)
    assert plain / 400 > 0.15
    assert counted / 400 < 0.05
    # Apart origins: the plain standard error of the mean difference, as before.
    diff = rng.standard_normal(30)
    assert margin(diff, np.zeros(30), lags=0)[0] == pytest.approx(
        2 * diff.std(ddof=1) / math.sqrt(30)
    )


def test_a_gain_inside_the_overlapping_origins_noise_is_no_better() -> None:
    """The backtest passes its stride to the noise test: a 3% gain made of step-by-step chance,
    scored on origins every step, is not a win."""
    rng = np.random.default_rng(3)
    real = np.zeros((1, 400))
    origins = bt.choose_origins(
        np.ones(400, bool), begin=200, end=400, horizon=10, stride=1, max_fill=2
    )
    step_error = np.abs(1.0 + 0.5 * rng.standard_normal(400))
    model = step_error[origins.index[:, None] + np.arange(10)][..., None]
    board = bt.leaderboard(
        real=real,
        origins=origins,
        horizon=10,
        forecasts={
            "model": ("m", "model", model, None),
            "naive": ("naive", "baseline", np.full_like(model, 1.05), 0.0),
        },
        scale=1.0,
        stride=1,
    )
    said = board["verdict"]
    assert said["ratio"] < 0.98 and not said["better"]
    assert said["text"].endswith(f"within noise on {len(origins)} origins")


def test_per_origin_errors_of_several_targets_are_their_mean_mase() -> None:
    from gapcast.model_training.paired_noise import origin_errors

    abs_err = np.array([[[1.0, 4.0], [3.0, 8.0]], [[2.0, np.nan], [2.0, np.nan]]])
    scored = np.isfinite(abs_err)
    scales = np.array([2.0, 4.0])
    # origin 0: power MAE 2 / 2, temperature 6 / 4; origin 1: the power's alone, 2 / 2.
    assert origin_errors(abs_err, scored, scales).tolist() == [1.25, 1.0]
    assert origin_errors(abs_err, scored, None).tolist() == [4.0, 2.0]
    nothing = np.zeros_like(scored)
    assert np.isnan(origin_errors(abs_err, nothing, scales)).all()


def test_warnings() -> None:
    worse = {"verdict": verdict(2.0, "naive", 1.0), "origins": 3}
    codes = [w["code"] for w in warnings_for(worse, loss=0.1, val_loss=0.5)]
    assert codes == ["worse_than_baseline", "validation_loss_high", "few_origins"]
    fine = {"verdict": verdict(0.5, "naive", 1.0), "origins": 5}
    assert warnings_for(fine, loss=0.1, val_loss=0.3) == []
    level = {"verdict": verdict(0.99, "naive", 1.0, noise=0.05, compared=7), "origins": 7}
    (said,) = warnings_for(level, loss=0.1, val_loss=0.1)
    assert said["code"] == "no_better_than_baseline" and said["level"] == "warning"
    assert "within noise on 7 origins" in said["message"]
    behind = {"verdict": verdict(1.01, "naive", 1.0, noise=0.05, compared=7), "origins": 7}
    (said,) = warnings_for(behind, loss=0.1, val_loss=0.1)
    assert said["code"] == "worse_than_baseline" and said["level"] == "error"
    # Ranges that held 62% of the test part where they claim 80%: said; 72% is within slack.
    ranges = {"quantiles": [0.1, 0.5, 0.9], "level": 0.8}
    stormy = {**fine, "intervals": {**ranges, "coverage": 0.615}}
    (said,) = warnings_for(stormy, loss=0.1, val_loss=0.1)
    assert said == {
        "code": "intervals_under_cover",
        "level": "warning",
        "message": "the P10–P90 range held 62% of the test part's points, not 80%: the errors "
        "there were larger than on the validation part it was calibrated on; read the ranges as "
        "too narrow",
    }
    assert (
        warnings_for({**fine, "intervals": {**ranges, "coverage": 0.72}}, loss=0.1, val_loss=0.1)
        == []
    )
    assert (
        warnings_for({**fine, "intervals": {**ranges, "coverage": None}}, loss=0.1, val_loss=0.1)
        == []
    )
    # Right on average and 22% at one hour: said for that hour; 55% is within an hour's slack.
    hour = {**ranges, "coverage": 0.78, "coverage_worst_phase_at": "01:00 UTC"}
    (said,) = warnings_for(
        {**fine, "intervals": {**hour, "coverage_worst_phase": 0.224}}, loss=0.1, val_loss=0.1
    )
    assert said == {
        "code": "intervals_under_cover_at",
        "level": "warning",
        "message": "at 01:00 UTC the P10–P90 range held 22% of the test part's points, not 80%: "
        "the errors at that time were larger than the ranges drawn for it; read them as too "
        "narrow there",
    }
    calm = {**fine, "intervals": {**hour, "coverage_worst_phase": 0.55}}
    assert warnings_for(calm, loss=0.1, val_loss=0.1) == []


def test_statsforecast_baselines_match_statsforecast_called_directly() -> None:
    from statsforecast.models import MSTL, AutoETS

    rng = np.random.default_rng(0)
    t = np.arange(24 * 30)
    y = 10 + np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=t.size)
    y[100:105] = np.nan  # a gap in the fitting history: interpolated, as documented
    real = y[None, :]
    fit_end, origins, horizon = 24 * 25, np.array([24 * 25, 24 * 27]), 24
    baselines = make_baselines([DAY], stats_models=["autoets", "mstl"], fit_end=fit_end, horizon=24)
    assert [b.name for b in baselines] == ["naive", "seasonal_naive_1_day", "autoets", "mstl"]
    ets, mstl = baselines[2], baselines[3]
    assert isinstance(ets, StatsForecastBaseline) and isinstance(mstl, StatsForecastBaseline)
    limit = ets.history_limit
    for baseline, direct in (
        (ets, AutoETS(season_length=24)),
        (mstl, MSTL(season_length=[24], trend_forecaster=AutoETS(model="ZZN"))),
    ):
        ours = baseline.forecast(real, origins, horizon)
        fitted = direct.fit(interpolated(y[max(0, fit_end - limit) : fit_end]))
        for i, origin in enumerate(origins):
            history = interpolated(y[max(0, origin - limit) : origin])
            expected = fitted.forward(y=history, h=horizon)["mean"]
            np.testing.assert_allclose(ours[i, :, 0], expected, rtol=1e-10)


def test_statsforecast_baselines_keep_their_own_intervals() -> None:
    from statsforecast.models import AutoETS

    rng = np.random.default_rng(0)
    y = 10 + np.sin(2 * np.pi * np.arange(24 * 30) / 24) + 0.1 * rng.normal(size=24 * 30)
    fit_end, origins, horizon = 24 * 25, np.array([24 * 25, 24 * 27]), 24
    (ets,) = make_baselines(
        [DAY], stats_models=["autoets"], fit_end=fit_end, horizon=horizon, quantiles=(0.1, 0.5, 0.9)
    )[2:]
    assert isinstance(ets, StatsForecastBaseline)
    mean = ets.forecast(y[None, :], origins, horizon)
    assert ets.bands is not None and ets.bands.shape == (3, 2, horizon, 1)
    fitted = AutoETS(season_length=24).fit(y[max(0, fit_end - ets.history_limit) : fit_end])
    for i, origin in enumerate(origins):
        direct = fitted.forward(y=y[max(0, origin - ets.history_limit) : origin], h=24, level=[80])
        # P10 and P90 are the ends of statsforecast's 80% interval, P50 its mean forecast.
        np.testing.assert_allclose(ets.bands[0, i, :, 0], direct["lo-80"], rtol=1e-10)
        np.testing.assert_allclose(ets.bands[1, i, :, 0], mean[i, :, 0], rtol=1e-10)
        np.testing.assert_allclose(ets.bands[2, i, :, 0], direct["hi-80"], rtol=1e-10)
    assert (ets.bands[0] < ets.bands[2]).all()
    # Without quantiles a baseline forecasts the point only.
    plain = make_baselines([DAY], stats_models=["autoets"], fit_end=fit_end, horizon=horizon)[2]
    plain.forecast(y[None, :], origins, horizon)
    assert isinstance(plain, StatsForecastBaseline) and plain.bands is None


def test_statsforecast_baselines_use_the_detected_seasons_only() -> None:
    week = Season("1 week", 24 * 7)
    both = make_baselines(
        [DAY, week], detected=[DAY], stats_models=["autoets", "mstl"], fit_end=24 * 60, horizon=24
    )
    # Seasonal naive tries every season; MSTL decomposes only the confirmed one.
    assert [b.name for b in both] == [
        "naive",
        "seasonal_naive_1_day",
        "seasonal_naive_1_week",
        "autoets",
        "mstl",
    ]
    mstl = both[-1]
    assert isinstance(mstl, StatsForecastBaseline) and mstl.seasons == [DAY]
    assert mstl.history_limit == 500  # sized by the day, not the week (4 weeks: 672)
    none = make_baselines(
        [DAY], detected=[], stats_models=["autoets", "mstl"], fit_end=24 * 60, horizon=24
    )
    # No confirmed season: no MSTL, and AutoETS without a season.
    assert [b.name for b in none] == ["naive", "seasonal_naive_1_day", "autoets"]
    ets = none[-1]
    assert isinstance(ets, StatsForecastBaseline) and ets.seasons == []


def _noisy_daily(n: int = 24 * 30) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    t = np.arange(n)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h"),
            "load": 10 + np.sin(2 * np.pi * t / 24) + 0.2 * rng.normal(size=n),
        }
    )


def _one_epoch_linear(lookback: int) -> dict[str, Any]:
    """A quick run's config: the default preparation with this lookback and a day ahead."""
    return {
        "model": "linear",
        "training": {"epochs": 1, "gap_classifier": "never", "refit": False},
        "preprocessing": [
            {"step": "resample"},
            {"step": "detect_gaps"},
            {"step": "split"},
            {"step": "calendar"},
            {"step": "window", "lookback": lookback, "horizon": 24},
        ],
    }


def test_baseline_figures_do_not_depend_on_the_lookback() -> None:
    df = _noisy_daily()
    # A 30-hour outage in the test part: lookback 48 sees its origins' history as too thin to
    # forecast from, 96 does not, yet every method is scored on the same origins and points.
    df.loc[640:669, "load"] = np.nan
    rows, refused = [], []
    for lookback in (48, 96):
        result = gapcast.train(df, _one_epoch_linear(lookback))
        rows.append({r.method: r for r in result.metrics.leaderboard if r.kind == "baseline"})
        refused.append(result.metrics.refused_origins)
        # Origins predict would refuse are said, where the figures are read.
        codes = [w.code for w in result.metrics.warnings]
        assert ("refused_origins" in codes) == (result.metrics.refused_origins > 0)
    assert refused[0] > refused[1]
    assert (
        set(rows[0])
        == set(rows[1])
        == {
            "naive",
            "seasonal_naive_1_day",
            "seasonal_naive_1_week",
        }
    )
    for method, row in rows[0].items():
        other = rows[1][method]
        for key in ("mae", "rmse", "mase", "smape", "bias"):
            assert getattr(row, key) == pytest.approx(getattr(other, key), abs=1e-9), (method, key)


def test_an_outage_longer_than_the_history_read_does_not_fail_the_run() -> None:
    # 13 days without a row in the test part: an origin right after it has no row in the whole
    # stretch its history reads. The run still finishes and scores that origin (counted as one
    # predict would refuse), the same whether the outage is absent rows or rows of NaN.
    df = _noisy_daily(24 * 120)  # the test part: the last 18 days
    df.loc[24 * 104 : 24 * 117 - 1, "load"] = np.nan
    cfg = _one_epoch_linear(48)
    with_nan = gapcast.train(df, cfg).metrics
    absent = gapcast.train(df.dropna(), cfg).metrics
    assert absent.refused_origins >= 1 and absent.refused_origins == with_nan.refused_origins
    assert absent.origins == with_nan.origins and absent.points == with_nan.points
    assert absent.mae == pytest.approx(with_nan.mae)
    assert "refused_origins" in [w.code for w in absent.warnings]
    # The origin after it is forecast from where the series was last seen, as naive's is (not
    # from a level of 0, which made it 15x naive's error).
    naive = absent.baseline("naive")
    assert naive is not None and naive.mae_after_outage is not None
    assert absent.mae_after_outage is not None
    assert absent.mae_after_outage < 1.5 * naive.mae_after_outage


def test_the_pinball_ratio_of_several_targets_is_the_mean_of_theirs() -> None:
    """Watts beside degrees: each target's quantile loss over the reference's, averaged; a
    pooled ratio would be the watts' alone. One target: the plain ratio."""
    from gapcast.model_training.intervals import pinball

    rng = np.random.default_rng(0)
    levels = (0.1, 0.5, 0.9)
    truth = np.stack([1e6 + rng.normal(0, 1e3, (4, 6)), 20 + rng.normal(0, 1, (4, 6))], axis=-1)
    spread = np.array([1e3, 1.0])
    offsets = np.array([-1.28, 0.0, 1.28])[:, None, None, None]
    good = truth[None] + offsets * spread  # centred on the truth: a small loss
    reference = (truth + 3 * spread)[None] + offsets * spread
    bad_on_degrees = good.copy()
    bad_on_degrees[..., 1] += 10.0  # 10 degrees off: far worse than the reference there
    scored = np.ones(truth.shape, bool)
    ratio = pinball_ratio(truth, bad_on_degrees, reference, levels, scored)
    per = [
        pinball(truth[..., j], bad_on_degrees[..., j], levels, scored[..., j])
        / pinball(truth[..., j], reference[..., j], levels, scored[..., j])
        for j in range(2)
    ]
    assert ratio == pytest.approx(np.mean(per)) and per[0] < 1 < per[1] and ratio > 1
    pooled = pinball(truth, bad_on_degrees, levels, scored) / pinball(
        truth, reference, levels, scored
    )
    assert pooled < 1  # what a pooled ratio would have said: better
    one = pinball_ratio(truth[..., :1], good[..., :1], reference[..., :1], levels, scored[..., :1])
    plain = pinball(truth[..., :1], good[..., :1], levels, scored[..., :1]) / pinball(
        truth[..., :1], reference[..., :1], levels, scored[..., :1]
    )
    assert one == pytest.approx(plain) and one < 1
