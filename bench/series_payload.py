"""Benchmark: what GET /datasets/{name}/series sends for a long series with many small gaps.

2,000,000 half-hour grid points with 38,750 one-to-three-step gaps (missing rows, as a logger
leaves them) and 12 outages of a day or two, drawn as a 4,000-point chart. The reference is the
same response with every gap listed (what the endpoint sent before gaps were bucketed like the
values); gapcast merges the gaps of a channel and kind that lie within one bucket of each other.

Run: .venv/bin/python bench/series_payload.py
"""

from __future__ import annotations

import time

import numpy as np

from gapcast.api.routes.series import series_document
from gapcast.processing import SeriesFrame

N_POINTS = 2_000_000
STEP = 30 * 60 * 10**9
SMALL_GAPS = 38_750
OUTAGES = 12
MAX_POINTS = 4000
REPEATS = 3


def make_frame(seed: int = 0) -> SeriesFrame:
    rng = np.random.default_rng(seed)
    keep = np.ones(N_POINTS, dtype=bool)
    starts = rng.choice(N_POINTS - 200, size=SMALL_GAPS, replace=False)
    lengths = rng.integers(1, 4, size=SMALL_GAPS)
    for start, length in zip(starts, lengths, strict=True):
        keep[start : start + length] = False
    for start in rng.choice(N_POINTS - 200, size=OUTAGES, replace=False):
        keep[start : start + rng.integers(48, 96)] = False
    keep[0] = keep[-1] = True
    t = np.arange(N_POINTS)[keep]
    values = 10 + np.sin(2 * np.pi * t / 48) + 0.1 * rng.standard_normal(t.size)
    return SeriesFrame(
        timestamps=t.astype(np.int64) * STEP, values=values[None, :], channels=("load",)
    )


def measure(frame: SeriesFrame, *, merge: bool) -> tuple[float, int, int]:
    best = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        doc = series_document("load", frame, max_points=MAX_POINTS, max_fill=3, merge=merge)
        body = doc.model_dump_json()
        best = min(best, time.perf_counter() - began)
    return best, len(body), len(doc.gaps)


def main() -> None:
    frame = make_frame()
    merged_s, merged_bytes, merged_gaps = measure(frame, merge=True)
    every_s, every_bytes, every_gaps = measure(frame, merge=False)
    print(f"{N_POINTS:,} points, {MAX_POINTS:,}-point chart (best of {REPEATS})")
    print(
        f"gapcast (bucketed gaps): {merged_gaps:>6,} spans {merged_bytes / 1e6:6.2f} MB "
        f"{merged_s:6.3f} s"
    )
    print(
        f"every gap (reference):   {every_gaps:>6,} spans {every_bytes / 1e6:6.2f} MB "
        f"{every_s:6.3f} s"
    )
    print(f"ratio: {merged_bytes / every_bytes:.3f}x the bytes, {merged_s / every_s:.2f}x the time")


if __name__ == "__main__":
    main()
