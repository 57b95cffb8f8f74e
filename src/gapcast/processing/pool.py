"""ProcessingPool: prepare datasets in worker processes, cached on disk by (data, config) hash.

A second run on the same data with the same preparation loads the result instead of recomputing
it (``PreparedData.cache_hit`` says which happened). The cache is bounded: after each write the
least recently used entries (oldest mtime; a hit touches its entry) are removed until the total
fits ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from gapcast.processing._cache import config_hash, content_hash, load, save
from gapcast.processing.config import StepConfig
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.pipeline import PreparedData, ProcessingPipeline

__all__ = ["PrepareRequest", "ProcessingPool", "config_hash", "content_hash"]

Result = tuple[ProcessingPipeline, PreparedData]

DEFAULT_MAX_BYTES = 2 * 1024**3
# Temp files older than this belong to a writer that died; younger ones may still be in use.
STALE_TEMP_SECONDS = 3600.0


@dataclass(frozen=True, eq=False)
class PrepareRequest:
    """One preparation: a raw frame, the step configs, and which channels to forecast / use."""

    frame: SeriesFrame
    steps: Sequence[StepConfig | Mapping[str, Any]]
    targets: Sequence[str] | None = None
    covariates: Sequence[str] = field(default_factory=tuple)
    future_covariates: Sequence[str] = field(default_factory=tuple)


def _prepare(request: PrepareRequest) -> Result:
    pipeline = ProcessingPipeline.from_config(
        request.steps,
        targets=request.targets,
        covariates=request.covariates,
        future_covariates=request.future_covariates,
    )
    return pipeline, pipeline.fit_transform(request.frame)


def _prepare_and_store(
    request: PrepareRequest, cache_dir: str | None, max_bytes: int, key: str
) -> Result:
    # Runs in a worker process: module-level so the spawn context can import it.
    result = _prepare(request)
    if cache_dir is not None:
        cache = _DiskCache(Path(cache_dir), max_bytes)
        cache.store(key, *result)
    return result


class _DiskCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.npz"

    def fetch(self, key: str) -> Result | None:
        path = self.path(key)
        result = load(path)
        if result is not None:
            # A hit makes the entry the most recently used; if another process evicted it after
            # we read it, our copy is still good.
            with contextlib.suppress(FileNotFoundError):
                os.utime(path)
        return result

    def store(self, key: str, pipeline: ProcessingPipeline, data: PreparedData) -> None:
        save(self.path(key), pipeline, data)
        self.evict()

    def entries(self) -> list[tuple[float, int, Path]]:
        out = []
        for path in self.root.glob("*.npz"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            out.append((stat.st_mtime, stat.st_size, path))
        return sorted(out)

    def evict(self) -> None:
        now = time.time()
        for tmp in self.root.glob(".*.tmp"):
            try:
                if now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                    tmp.unlink()
            except FileNotFoundError:
                continue
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size

    def size(self) -> int:
        return sum(size for _, size, _ in self.entries())


class ProcessingPool:
    """Runs preparations (``prepare`` in this process, ``prepare_many`` in worker processes).

    ``cache_dir`` None disables the cache. Safe to share one cache folder between processes.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_workers: int | None = None,
    ) -> None:
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.max_bytes = max_bytes
        self.max_workers = max_workers
        self._cache = None if self.cache_dir is None else _DiskCache(self.cache_dir, max_bytes)
        self._executor: ProcessPoolExecutor | None = None
        self.hits = 0
        self.misses = 0

    @staticmethod
    def cache_key(request: PrepareRequest) -> str:
        digest = config_hash(
            request.steps, request.targets, request.covariates, request.future_covariates
        )
        return f"{content_hash(request.frame)}-{digest}"

    def prepare(
        self,
        frame: SeriesFrame,
        steps: Sequence[StepConfig | Mapping[str, Any]],
        targets: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        *,
        future_covariates: Sequence[str] = (),
    ) -> Result:
        """Fit a pipeline from ``steps`` on ``frame`` and prepare it, or load it from the cache."""
        request = PrepareRequest(frame, steps, targets, tuple(covariates), tuple(future_covariates))
        key = self.cache_key(request)
        cached = self._fetch(key)
        if cached is not None:
            return cached
        result = _prepare(request)
        if self._cache is not None:
            self._cache.store(key, *result)
        return result

    def prepare_many(self, requests: Sequence[PrepareRequest]) -> list[Result]:
        """Prepare several datasets (or channel choices) at once in worker processes.

        Cached entries are loaded here; identical requests are prepared once.
        """
        keys = [self.cache_key(request) for request in requests]
        results: dict[str, Result] = {}
        pending: dict[str, Future[Result]] = {}
        for key, request in zip(keys, requests, strict=True):
            if key in results or key in pending:
                continue
            cached = self._fetch(key)
            if cached is not None:
                results[key] = cached
                continue
            cache_dir = None if self.cache_dir is None else str(self.cache_dir)
            pending[key] = self._pool().submit(
                _prepare_and_store, request, cache_dir, self.max_bytes, key
            )
        for key, future in pending.items():
            results[key] = future.result()
        return [results[key] for key in keys]

    def _fetch(self, key: str) -> Result | None:
        if self._cache is None:
            self.misses += 1
            return None
        cached = self._cache.fetch(key)
        if cached is None:
            self.misses += 1
        else:
            self.hits += 1
        return cached

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn: forking a process that may hold threads (JAX, a web server) is unsafe.
            self._executor = ProcessPoolExecutor(
                max_workers=self.max_workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._executor

    def cache_bytes(self) -> int:
        return 0 if self._cache is None else self._cache.size()

    def clear(self) -> None:
        if self._cache is not None:
            for _, _, path in self._cache.entries():
                path.unlink(missing_ok=True)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self) -> ProcessingPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
