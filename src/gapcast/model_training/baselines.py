"""The baselines every model is measured against, behind one interface.

A baseline forecasts the ``horizon`` steps from each origin using only the real values before it
(``real`` is the resampled series in real units, NaN where nothing was observed). Naive and
seasonal naive are a few array lookups and always run; statsforecast's AutoETS and MSTL — the
field's standard classical models, never hand-written here — cost seconds (numba compiles on first
use, and MSTL decomposes the history again at every origin), so a run asks for them with the
``baselines`` training option and the quality benchmark always does.

How the statsforecast models are run: each is fitted once per target on the history before the
first origin, then applied to each origin's own history with ``forward`` (the fitted parameters on
new data, no refit). Their history has its gaps interpolated linearly and is cut to the last
``history_limit`` steps (several of the longest season), as practitioners feed them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from gapcast.processing.seasons import Season

F64 = NDArray[np.float64]
StatsModel = Literal["autoets", "mstl"]
STATS_MODELS: tuple[StatsModel, ...] = ("autoets", "mstl")
# Above this season length a seasonal ETS is slow and badly determined; MSTL takes over there.
MAX_ETS_SEASON = 52


class Baseline(Protocol):
    name: str  # stable key: "naive", "seasonal_naive_1_day", "autoets", "mstl"
    label: str  # what people read: "seasonal naive, 1 day"
    fit_s: float

    def forecast(self, real: F64, origins: NDArray[np.int64], horizon: int) -> F64:
        """(n_origins, horizon, k) forecasts from each origin's history ``real[:, :origin]``."""
        ...


def carried_forward(real: F64) -> F64:
    """(k, T) with each NaN replaced by the last observed value before it (what is known then)."""
    v = np.asarray(real, dtype=np.float64)
    idx = np.where(np.isfinite(v), np.arange(v.shape[-1]), 0)
    np.maximum.accumulate(idx, axis=-1, out=idx)
    return np.take_along_axis(v, idx, axis=-1)


def same_phase_carried(real: F64, season: int) -> F64:
    """(k, T) with each NaN replaced by the last value observed at the same phase of ``season``
    before it (the same time the day before, when yesterday's was missing), else by the last
    observed value before it."""
    v = np.asarray(real, dtype=np.float64)
    k, t_len = v.shape
    cycles = -(-t_len // season)
    padded = np.full((k, cycles * season), np.nan)
    padded[:, :t_len] = v
    by_phase = carried_forward(padded.reshape(k, cycles, season).swapaxes(1, 2))
    out = by_phase.swapaxes(1, 2).reshape(k, -1)[:, :t_len]
    return np.where(np.isfinite(out), out, carried_forward(v))


@dataclass
class Naive:
    """The last observed value, repeated."""

    name: str = "naive"
    label: str = "naive"
    fit_s: float = 0.0

    def forecast(self, real: F64, origins: NDArray[np.int64], horizon: int) -> F64:
        known = carried_forward(real)
        last = known[:, np.asarray(origins) - 1]  # (k, n)
        return np.repeat(last.T[:, None, :], horizon, axis=1)


@dataclass
class SeasonalNaive:
    """The value one season earlier (two seasons for steps past the first season, ...); where it
    was not observed, the same phase of the last cycle where it was — an analyst's "same time
    yesterday" skips a day the meter was down rather than reading the hour before the outage."""

    season: Season
    fit_s: float = 0.0
    name: str = field(init=False)
    label: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = "seasonal_naive_" + self.season.name.replace(" ", "_")
        self.label = f"seasonal naive, {self.season.name}"

    def forecast(self, real: F64, origins: NDArray[np.int64], horizon: int) -> F64:
        m = self.season.steps
        known = same_phase_carried(real, m)
        h = np.arange(horizon)
        back = m * (h // m + 1)
        idx = np.asarray(origins)[:, None] + h[None, :] - back[None, :]  # (n, horizon)
        out = np.where(idx >= 0, known[:, np.clip(idx, 0, None)], np.nan)  # (k, n, horizon)
        return np.moveaxis(out, 0, -1)


def interpolated(history: F64) -> F64:
    """Gaps filled linearly between observed neighbours; the ends hold the nearest value."""
    ok = np.isfinite(history)
    if ok.all() or not ok.any():
        return np.asarray(history, dtype=np.float64)
    pos = np.arange(history.size)
    return np.interp(pos, pos[ok], history[ok])


def _stats_model(kind: StatsModel, seasons: list[Season]) -> Any:
    from statsforecast.models import MSTL, AutoETS

    if kind == "autoets":
        fits = [s.steps for s in seasons if s.steps <= MAX_ETS_SEASON]
        return AutoETS(season_length=fits[0] if fits else 1)
    steps = [s.steps for s in seasons] or [1]
    return MSTL(season_length=steps, trend_forecaster=AutoETS(model="ZZN"))


def stats_levels(quantiles: tuple[float, ...]) -> list[int]:
    """statsforecast's ``level`` list (central intervals, in percent) holding every quantile."""
    return sorted({round(abs(200 * q - 100)) for q in quantiles if q != 0.5})


def _stats_quantile(out: dict[str, Any], q: float) -> Any:
    """Quantile ``q`` of a statsforecast forecast: the mean for the median (its intervals are
    symmetric around it), else the edge of the central interval that has ``q`` at one end."""
    if q == 0.5:
        return out["mean"]
    level = round(abs(200 * q - 100))
    return out[f"lo-{level}"] if q < 0.5 else out[f"hi-{level}"]


@dataclass
class StatsForecastBaseline:
    """AutoETS or MSTL from statsforecast, fitted once on ``real[:, :fit_end]``.

    With ``quantiles``, each forecast also keeps the model's own prediction intervals at those
    quantiles in ``bands`` (quantiles, n, horizon, k): statsforecast's ``level``, what its users
    draw, which gapcast's intervals are scored beside.
    """

    kind: StatsModel
    seasons: list[Season]
    fit_end: int
    history_limit: int
    quantiles: tuple[float, ...] = ()
    fit_s: float = 0.0
    bands: F64 | None = field(default=None, init=False)
    name: str = field(init=False)
    label: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = self.kind
        names = ", ".join(s.name for s in self.seasons)
        self.label = "AutoETS" if self.kind == "autoets" else f"MSTL ({names or 'no season'})"

    def forecast(self, real: F64, origins: NDArray[np.int64], horizon: int) -> F64:
        origins = np.asarray(origins, dtype=np.int64)
        out = np.full((origins.size, horizon, real.shape[0]), np.nan)
        bands = np.full((len(self.quantiles), *out.shape), np.nan)
        levels = stats_levels(self.quantiles) or None
        started = time.perf_counter()
        for j, row in enumerate(np.asarray(real, dtype=np.float64)):
            begin = max(0, self.fit_end - self.history_limit)
            fitted = _stats_model(self.kind, self.seasons).fit(
                interpolated(row[begin : self.fit_end])
            )
            for i, origin in enumerate(origins):
                history = interpolated(row[max(0, origin - self.history_limit) : origin])
                fc = fitted.forward(y=history, h=horizon, level=levels)
                out[i, :, j] = fc["mean"]
                for m, q in enumerate(self.quantiles):
                    bands[m, i, :, j] = _stats_quantile(fc, q)
        self.fit_s = time.perf_counter() - started
        self.bands = np.sort(bands, axis=0) if self.quantiles else None
        return out


def history_limit(seasons: list[Season], horizon: int) -> int:
    """Steps of history a statsforecast baseline reads: four of the longest season, at least
    ten horizons or 500 steps."""
    longest = max((s.steps for s in seasons), default=1)
    return max(4 * longest, 10 * horizon, 500)


def make_baselines(
    seasons: list[Season],
    *,
    detected: list[Season] | None = None,
    stats_models: tuple[StatsModel, ...] | list[StatsModel] = (),
    fit_end: int,
    horizon: int,
    quantiles: tuple[float, ...] = (),
) -> list[Baseline]:
    """Naive, seasonal naive for each season, then the statsforecast models asked for.

    ``seasons`` are those that fit the history (for seasonal naive: cheap, so every one the
    frequency suggests is tried). The statsforecast models get the ``detected`` ones only (the
    seasons the data confirmed, default: all of ``seasons``), as a practitioner would configure
    them: a weekly MSTL component on a series without a weekly cycle costs minutes per run and
    fits noise. MSTL keeps the seasons it can decompose (two cycles in its history) and is left
    out when none is left; AutoETS falls back to no season. The statsforecast models keep their
    own intervals at ``quantiles`` (none: point forecasts only).
    """
    out: list[Baseline] = [Naive(), *(SeasonalNaive(s) for s in seasons)]
    chosen = seasons if detected is None else detected
    limit = history_limit(chosen, horizon)
    for kind in stats_models:
        usable = [s for s in chosen if 2 * s.steps <= min(limit, fit_end)]
        if kind == "mstl" and not usable:
            continue
        out.append(
            StatsForecastBaseline(
                kind, usable, fit_end=fit_end, history_limit=limit, quantiles=quantiles
            )
        )
    return out
