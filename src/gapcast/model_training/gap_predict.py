"""A stored gap classifier predicting from a user's recent history (``predict``) or a run's grid
(the PNG's lower track): per-step probabilities of no data and the window-level outage one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.model_training import gap_scoring as gs
from gapcast.model_training.gap_features import GapEncoder, GapInputs
from gapcast.model_training.gap_model import GAP_DOC_FORMAT, MAX_SCORED_STEPS, predict_inputs

I64 = NDArray[np.int64]
B = NDArray[np.bool_]


@dataclass
class GapPredictor:
    """A stored gap classifier with what it needs to predict (its document)."""

    model: Any
    doc: dict[str, Any] | None  # None: stored before the document existed (legacy inputs)

    def __post_init__(self) -> None:
        if self.doc is not None and int(self.doc.get("format", 0)) != GAP_DOC_FORMAT:
            raise InvalidInput(
                f"this gap classifier was stored by another gapcast version (gap format "
                f"{self.doc.get('format')}, expected {GAP_DOC_FORMAT}); train it again",
                field="gap_model",
            )

    @property
    def threshold(self) -> float:
        return float(self.doc["threshold"]) if self.doc else gs.DEFAULT_THRESHOLD

    @property
    def min_outage(self) -> int | None:
        return int(self.doc["window"]["min_steps"]) if self.doc else None

    def predict(
        self, observed: B, first_ts: I64, freq_ns: int, lookback: int, horizon: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """(p_gap (n, horizon), p_outage (n,) or None for a legacy model) of forecasts starting
        at ``first_ts`` (n,), each right after the grid ``observed`` (n, history steps)."""
        obs = np.atleast_2d(np.asarray(observed, bool))
        first = np.asarray(first_ts, np.int64)
        if self.doc is None:
            return _legacy_probabilities(self.model, obs, first, freq_ns, lookback, horizon), None
        encoder = GapEncoder.from_dict(self.doc["encoder"])
        rows = []
        for row, start in zip(obs, first, strict=True):
            origin = np.array([row.size], np.int64)
            rows.append(encoder.encode_windows(row, origin, np.array([start]), freq_ns))
        inputs = GapInputs(
            np.concatenate([r.features for r in rows]), np.concatenate([r.prior for r in rows])
        )
        p = predict_inputs(self.model, inputs).reshape(-1, encoder.horizon)
        window = self.doc["window"]
        score = gs.window_score(p, int(window["min_steps"]))
        return p, gs.platt(score, tuple(window["platt"]))


def _legacy_probabilities(
    model: Any, observed: B, first_ts: I64, freq_ns: int, lookback: int, horizon: int
) -> NDArray[np.float64]:
    """Gap models stored before the gap document read, per step, sin/cos of the hour, weekday
    and month and the observed fraction of the lookback."""
    ts = first_ts[:, None] + freq_ns * np.arange(horizon, dtype=np.int64)
    day, hour = 86_400 * 10**9, 3_600 * 10**9
    weekday = ((ts // day) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month = ts.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64) % 12
    angles = (2 * np.pi * (ts % day) / hour / 24, 2 * np.pi * weekday / 7, 2 * np.pi * month / 12)
    recent = observed[:, -lookback:].sum(axis=1) / lookback
    parts = [f(a) for a in angles for f in (np.sin, np.cos)]
    parts.append(np.broadcast_to(recent[:, None], ts.shape))
    x = np.stack(parts, axis=-1).astype(np.float32)
    return np.asarray(model.predict(x, verbose=0), np.float64)


def one_step_probabilities(
    model: Any, doc: dict[str, Any], grid_ts: I64, observed: B, start: int
) -> tuple[I64, NDArray[np.float64]]:
    """(timestamps, probability of no data one step ahead) at every grid position from
    ``start`` (strided on a very long grid), each from the grid before it."""
    encoder = GapEncoder.from_dict(doc["encoder"])
    first = max(start, 1)
    stride = max(1, -(-(len(grid_ts) - first) // MAX_SCORED_STEPS))
    origins = np.arange(first, len(grid_ts), stride, dtype=np.int64)
    inputs = encoder.encode_pairs(grid_ts, observed, origins, np.zeros_like(origins))
    return grid_ts[origins], predict_inputs(model, inputs)
