"""Sanity run of the peers on every suite series, next to naive and seasonal naive.

Each series: the regular grid, the test part = its last 15% (fit_end = round(0.85 * n)), origins
every ``horizon`` steps through the test part, MAE over the observed points of every origin's
horizon — the same origins and points for every method. Naive is the last value observed before
the origin; seasonal naive the value one main season earlier (the last observed one where that
step is a gap). Prints a Markdown table. Needs the ``bench`` extra.

Run: .venv/bin/python bench/peers_suite.py [--only NAME ...] [--skip-nhits]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from peers import (
    PeerForecast,
    mae,
    naive_forecasts,
    nhits_input_size,
    run_lightgbm,
    run_nhits,
    seasonal_naive_forecasts,
)
from suite_data import load_suite, to_grid

TEST_FRACTION = 0.15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="series names (default: all)")
    parser.add_argument("--skip-nhits", action="store_true")
    parser.add_argument("--nhits-steps", type=int, help="override NHITS's step budget")
    args = parser.parse_args()
    rows = []
    notes = []
    for series in load_suite():
        if args.only and series.name not in args.only:
            continue
        grid_ts, values = to_grid(series)
        n, horizon, seasons = len(values), series.horizon, list(series.seasons)
        fit_end = round((1 - TEST_FRACTION) * n)
        origins = np.arange(fit_end, n - horizon + 1, horizon)
        kwargs = {
            "freq": series.freq,
            "seasons": seasons,
            "fit_end": fit_end,
            "origins": origins,
            "horizon": horizon,
        }
        errors = {
            "naive": mae(naive_forecasts(values, origins, horizon), values, origins, horizon),
            "snaive": mae(
                seasonal_naive_forecasts(values, seasons[0], origins, horizon),
                values,
                origins,
                horizon,
            ),
        }
        peers: list[PeerForecast] = []
        start = time.perf_counter()
        peers.append(run_lightgbm(grid_ts, values, **kwargs))
        if not args.skip_nhits:
            peers.append(run_nhits(grid_ts, values, **kwargs, max_steps=args.nhits_steps))
        for peer in peers:
            errors[peer.name] = mae(peer.forecasts, values, origins, horizon)
            if peer.note:
                notes.append(f"- {series.name} {peer.name}: {peer.note}")
        input_size = nhits_input_size(series.freq, seasons, horizon, fit_end)
        notes.append(f"- {series.name} nhits: input_size {input_size}")
        timing = "; ".join(f"{p.name} {p.fit_s:.1f} / {p.predict_s:.2f}" for p in peers)
        best = min(errors, key=lambda k: errors[k])
        cells = [
            f"**{errors[k]:.5g}**" if k == best else f"{errors[k]:.5g}"
            for k in ("naive", "snaive", "lightgbm", "nhits")
            if k in errors
        ]
        rows.append(
            f"| {series.name} | {len(origins)} x {horizon} | {' | '.join(cells)} | {timing} |"
        )
        print(f"{series.name}: done in {time.perf_counter() - start:.0f} s", flush=True)
    header = "| series | origins x horizon | naive | seasonal naive | LightGBM |"
    header += "" if args.skip_nhits else " NHITS |"
    print()
    print(header + " fit / predict s |")
    print("|---" * (header.count("|")) + "|")
    print("\n".join(rows))
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
