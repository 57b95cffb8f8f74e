"""A run's warnings: what a user must read before trusting the figures the run stored.

Each is a ``{"code", "level", "message"}`` (codes listed in docs/protocol.md): worse than a
baseline, ranges narrower than they claim, readings that look stuck or cumulative, glitches
masked. They say and never change: the data stays as the user gave it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.model_training.backtest import MIN_ORIGINS

OVERFIT_RATIO = 3.0  # final validation loss / training loss above this: a warning
# An interval covering this much less of the test part than its nominal share claims too much: a
# warning. The suite's ranges cover 77-81% at 80%; five held-out series' 62-73% (bench/README).
COVERAGE_SLACK = 0.1
# An hour of the day (a weekday) holds fewer points, and the lowest of 24 hours is picked, so its
# coverage is said only this far under: 50% for an 80% range (no suite series; M4 H10 and H150).
PHASE_COVERAGE_SLACK = 0.3


def warnings_for(
    result: dict[str, Any], *, loss: float | None, val_loss: float | None
) -> list[dict[str, str]]:
    """The run's warnings: worse than a baseline, a validation loss far above the training loss,
    origins ``predict`` would refuse, too few origins to trust the figures."""
    out: list[dict[str, str]] = []
    v = result["verdict"]
    if v["ratio"] is not None and v["ratio"] < 1 and not v["better"]:
        # Ahead, but by less than chance gives: not a gain to claim, nor a loss to alarm about.
        out.append({"code": "no_better_than_baseline", "level": "warning", "message": v["text"]})
    elif not v["better"]:
        out.append({"code": "worse_than_baseline", "level": "error", "message": v["text"]})
    if loss is not None and val_loss is not None and loss > 0 and val_loss > OVERFIT_RATIO * loss:
        out.append(
            {
                "code": "validation_loss_high",
                "level": "warning",
                "message": f"the final validation loss ({val_loss:.3g}) is "
                f"{val_loss / loss:.1f}x the training loss ({loss:.3g}): the data moved, or "
                "the model overfits",
            }
        )
    refused = int(result.get("refused_origins") or 0)
    if refused:
        out.append(
            {
                "code": "refused_origins",
                "level": "warning",
                "message": f"{refused} of {result['origins']} backtest origin(s) follow an "
                "outage that leaves less than min_observed of the lookback observed: predict "
                "would refuse them, and the model is scored there on what it makes of the "
                "little history it has",
            }
        )
    ranges = result.get("intervals") or {}
    covered, level = ranges.get("coverage"), ranges.get("level")
    if covered is not None and level is not None and covered < level - COVERAGE_SLACK:
        # The band is a claim like the point forecast's verdict: one that held less often than
        # it says flatters the run unless said.
        bounds = ranges.get("quantiles") or [0.5 - level / 2, 0.5 + level / 2]
        lo, hi = bounds[0], bounds[-1]
        out.append(
            {
                "code": "intervals_under_cover",
                "level": "warning",
                "message": f"the P{100 * lo:g}–P{100 * hi:g} range held {covered:.0%} of the test "
                f"part's points, not {level:.0%}: the errors there were larger than on the "
                "validation part it was calibrated on; read the ranges as too narrow",
            }
        )
    worst, at = ranges.get("coverage_worst_phase"), ranges.get("coverage_worst_phase_at")
    if worst is not None and level is not None and worst < level - PHASE_COVERAGE_SLACK:
        bounds = ranges.get("quantiles") or [0.5 - level / 2, 0.5 + level / 2]
        out.append(
            {
                "code": "intervals_under_cover_at",
                "level": "warning",
                "message": f"at {at} the P{100 * bounds[0]:g}–P{100 * bounds[-1]:g} range held "
                f"{worst:.0%} of the test part's points, not {level:.0%}: the errors at that "
                "time were larger than the ranges drawn for it; read them as too narrow there",
            }
        )
    after = result.get("verdict_after_outage")
    if after is not None and after["ratio"] is not None and after["ratio"] > 1:
        # Where the data resumes is where this product should shine: said even within the noise.
        out.append(
            {
                "code": "worse_after_outages",
                "level": "warning",
                "message": f"right after outages ({result['origins_after_outage']} origins): "
                f"{after['text']}",
            }
        )
    if result["origins"] < MIN_ORIGINS:
        out.append(
            {
                "code": "few_origins",
                "level": "warning",
                "message": f"only {result['origins']} backtest origin(s) could be scored (fewer "
                f"than {MIN_ORIGINS}): the figures are noise",
            }
        )
    return out


def flatline_warnings(
    real: NDArray[np.float64],
    names: list[str],
    grid_ts: NDArray[np.int64],
    freq_ns: int,
    *,
    covariates: bool = False,
    zone: str | None = None,
) -> list[dict[str, str]]:
    """Per target (``real``: (channels, T), NaN unobserved; with ``covariates``, per covariate)
    whose readings, changing nearly always, repeat one value for a day or more
    (:mod:`~gapcast.processing.flatlines`), or that reads one value throughout: said, not
    masked, since a sensor that stopped updating and a valve closed for days read alike. Times
    are written in ``zone`` (the data's; UTC without one)."""
    from gapcast.processing.flatlines import longest_flatline

    out = []
    for name, row in zip(names, real, strict=True):
        who = f"covariate {name!r}" if covariates else repr(name)
        seen = row[np.isfinite(row)]
        if seen.size > 1 and seen.min() == seen.max():
            meaning = (
                "it tells the model nothing (the wrong column?)"
                if covariates
                else "there is nothing to forecast but that value (the wrong column, or a "
                "sensor never connected?)"
            )
            out.append(
                {
                    "code": "constant_readings",
                    "level": "warning",
                    "message": f"{who} reads {seen[0]:g} at every one of its {seen.size} "
                    f"readings: {meaning}",
                }
            )
            continue
        flat = longest_flatline(row, freq_ns)
        if flat is None:
            continue
        first, last = (time_in_zone(int(grid_ts[i]), zone) for i in (flat.start, flat.end))
        more = f" ({flat.runs} such runs; this is the longest)" if flat.runs > 1 else ""
        out.append(
            {
                "code": "flat_readings",
                "level": "warning",
                "message": f"{who} repeats {flat.value:g} for {flat.readings} readings in a "
                f"row, from {first} to {last}{more}, where its readings otherwise change at "
                "nearly every step: a sensor that stopped updating? The model read them as "
                "readings (leave them out of the data to read them as an outage)",
            }
        )
    return out


def running_total_warnings(
    real: NDArray[np.float64], names: list[str], *, covariates: bool = False
) -> list[dict[str, str]]:
    """Per target (with ``covariates``, per covariate) that looks like a running total read as
    levels (never falls, but to start again from zero): a target's forecast is of a level that
    only climbs, and the use per step — what such a forecast is usually for — is its increase;
    a covariate's level mostly tells the model how much time has passed. Said, not changed,
    since a population count climbs too."""
    from gapcast.ingest.counters import total_hint

    out = []
    for name, row in zip(names, real, strict=True):
        use = "the use per step an input usually stands for" if covariates else None
        hint = total_hint(name, np.asarray(row, dtype=np.float64), use=use)
        if hint is None:
            continue
        meant = (
            "this run read its level, which mostly tells the model how much time has passed"
            if covariates
            else "this run forecast its level (its differences, pandas' .diff(), are the use)"
        )
        who = "covariate " if covariates else ""
        out.append(
            {"code": "running_total", "level": "warning", "message": f"{who}{hint}; {meant}"}
        )
    return out


def glitch_warnings(
    glitches: dict[str, tuple[int, int, float]], zone: str | None = None
) -> list[dict[str, str]]:
    """What the mask_outliers step masked, per channel: said, since the run read past readings
    that are in the data (``TrainingData.glitches``)."""

    out = []
    for name, (count, first_ns, value) in glitches.items():
        when = time_in_zone(first_ns, zone)
        out.append(
            {
                "code": "glitches_masked",
                "level": "warning",
                "message": f"{count} reading(s) of {name!r} far from both neighbours were read "
                f"as glitches and masked (first {when}: {value:g}): the model did not read them "
                "and no forecast is scored on them (preprocessing step mask_outliers)",
            }
        )
    return out


def time_in_zone(ns: int, zone: str | None) -> str:
    """A time as ISO 8601 with its offset, on the wall clock of ``zone`` (UTC without one): the
    user reads it beside their own file's times."""
    import pandas as pd

    return pd.Timestamp(ns, tz="UTC").tz_convert(zone or "UTC").isoformat()
