"""Keys and the on-disk form of a prepared dataset (one ``.npz`` per key, metadata inside)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.processing.builder import validate_steps
from gapcast.processing.config import StepConfig
from gapcast.processing.frame import PARTS, SeriesFrame
from gapcast.processing.gaps import GapReport
from gapcast.processing.pipeline import PreparedData, ProcessingPipeline

# Bump when the preparation code changes what it produces: old entries then never match.
CACHE_VERSION = 2


def content_hash(frame: SeriesFrame) -> str:
    """blake2b of a frame's channels, frequency, timestamps and values (hex, 32 characters)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(json.dumps([list(frame.channels), frame.freq_ns]).encode())
    digest.update(np.ascontiguousarray(frame.timestamps).data)
    for row in frame.values:
        digest.update(np.ascontiguousarray(row).data)
    return digest.hexdigest()


def config_hash(
    steps: Sequence[StepConfig | Mapping[str, Any]],
    targets: Sequence[str] | None,
    covariates: Sequence[str],
    future_covariates: Sequence[str] = (),
) -> str:
    """blake2b of the validated step parameters and the channel choice.

    ``fitted`` is ignored: preparing always refits.
    """
    configs = validate_steps(steps)
    payload = {
        "version": CACHE_VERSION,
        "steps": [c.model_dump(mode="json", exclude={"fitted"}) for c in configs],
        "targets": None if targets is None else list(targets),
        "covariates": list(covariates),
    }
    if future_covariates:
        payload["future_covariates"] = list(future_covariates)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def save(path: Path, pipeline: ProcessingPipeline, data: PreparedData) -> None:
    """Write atomically: a temp file in the same folder, then ``os.replace`` (readers never see a
    half-written entry, and two writers of one key just replace each other's identical file)."""
    frame, raw = data.frame, data.raw_frame
    meta = {
        "version": CACHE_VERSION,
        "steps": [c.model_dump(mode="json") for c in pipeline.to_config()],
        "targets": list(data.targets),
        "covariates": [c for c in data.inputs if c not in data.targets],
        "channels": list(frame.channels),
        "freq_ns": frame.freq_ns,
        "split": list(frame.split) if frame.split is not None else None,
        "gap_summary": data.gap_report.summary(),
    }
    arrays: dict[str, NDArray[Any]] = {
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        "timestamps": frame.timestamps,
        "values": frame.values,
        "observed": frame.mask,
        "raw_values": raw.values,
        "raw_observed": raw.mask,
    }
    if data.outliers is not None:
        arrays["outliers"] = data.outliers
    for part in PARTS:
        arrays[f"starts_{part}"] = data.windows(part).starts
    for name, array in data.gap_report.arrays().items():
        arrays[f"gap_{name}"] = array
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> tuple[ProcessingPipeline, PreparedData] | None:
    """The entry at ``path``; None when missing or unreadable (an unreadable one is removed)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        path.unlink(missing_ok=True)
        return None
    meta = json.loads(arrays["meta"].tobytes())
    if meta.get("version") != CACHE_VERSION:
        return None
    pipeline = ProcessingPipeline.from_config(
        meta["steps"], targets=meta["targets"], covariates=meta["covariates"]
    )
    channels, freq = tuple(meta["channels"]), meta["freq_ns"]
    split: tuple[int, int] | None = None
    if meta["split"] is not None:
        split = (int(meta["split"][0]), int(meta["split"][1]))
    ts = arrays["timestamps"]
    frame = SeriesFrame(ts, arrays["values"], channels, freq, arrays["observed"], split)
    raw = SeriesFrame(
        frame.timestamps, arrays["raw_values"], channels, freq, arrays["raw_observed"]
    )
    windows = pipeline.window.windows_from_starts(
        frame, {part: arrays[f"starts_{part}"] for part in PARTS}
    )
    report = GapReport.from_arrays(
        meta["gap_summary"],
        {name[4:]: array for name, array in arrays.items() if name.startswith("gap_")},
    )
    data = PreparedData(
        frame=frame,
        raw_frame=raw,
        gap_report=report,
        train=windows.train,
        val=windows.val,
        test=windows.test,
        inputs=channels,
        targets=tuple(meta["targets"]),
        cache_hit=True,
        outliers=arrays.get("outliers"),
    )
    return pipeline, data
