"""Helpers of the reliability suite: tiny runs, server settings, and the two database checks every
test ends with — ``snapshot`` (row count and checksum of each table: "nothing changed") and
``violations`` (the invariants that must hold whatever was done to the server: no run stuck in
``running``, no artifact without its succeeded run or succeeded run without its artifacts, no gap in
an event sequence, no point without its series)."""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from hypothesis import settings as hypothesis_settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gapcast.config import Settings
from gapcast.db.session import make_engine
from gapcast.db.tables import (
    FINISHED_STATUSES,
    RUN_STATUSES,
    Artifact,
    Base,
    Dataset,
    Run,
    RunEventRow,
    Series,
    points,
)

POSTGRES_URL = os.environ.get("GAPCAST_TEST_POSTGRES_URL")

# The smallest run that goes through every stage: a few seconds, most of it the worker's start.
TINY: dict[str, Any] = {
    "model": "linear",
    "epochs": 1,
    "lookback": 8,
    "horizon": 4,
    "patience": 0,
    "gap_classifier": "never",
}
REQUIRED_ARTIFACTS = frozenset({"model", "plot", "pipeline"})


def examples(n: int) -> int:
    """``n`` Hypothesis examples, scaled by the loaded profile: x10 under ``make fuzz`` (its
    ``max_examples`` is 1000 where the others keep Hypothesis's 100)."""
    return max(1, n * hypothesis_settings().max_examples // 100)


def settings_for(database_url: str, data_dir: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "host": "127.0.0.1",
        "workers_max": 1,
        "api_token": None,
        **changes,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def series_csv(n: int = 400, *, freq: str = "h", channels: int = 1) -> bytes:
    """A smooth, gap-free series: ``n`` rows from 2024-01-01."""
    t = np.arange(n)
    frame = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=n, freq=freq)})
    for c in range(channels):
        frame[f"v{c}"] = np.round(10 + np.sin(t / 12 + c) + 0.01 * t, 4)
    return frame.to_csv(index=False).encode()


def upload(http: httpx.Client, name: str, data: bytes, filename: str = "") -> httpx.Response:
    return http.post(
        "/datasets",
        files={"file": (filename or f"{name}.csv", data)},
        data={"name": name},
    )


def add_bare_run(
    session: Session, run_id: str, *, status: str = "queued", attempts: int = 0
) -> None:
    """Add a run row of no real dataset (``gone``, config ``{}``, the linear model) to ``session``,
    for tests that write a run's state into the database directly; not flushed."""
    session.add(
        Run(
            id=run_id,
            dataset_name="gone",
            config={},
            model="linear",
            status=status,
            attempts=attempts,
            cancel_requested=False,
        )
    )


def train_request(dataset: str, **overrides: Any) -> dict[str, Any]:
    return {"type": "train", "dataset": dataset, "overrides": {**TINY, **overrides}}


# --- database checks -------------------------------------------------------------------------


def snapshot(database_url: str) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the rows of every table."""
    engine = make_engine(database_url)
    out: dict[str, tuple[int, str]] = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                digest = hashlib.sha256()
                count = 0
                for row in conn.execute(select(table).order_by(*order)):
                    digest.update(repr(tuple(row)).encode())
                    count += 1
                out[table.name] = (count, digest.hexdigest()[:16])
    finally:
        engine.dispose()
    return out


def violations(database_url: str, *, allow_active: bool = False) -> list[str]:
    """Every broken invariant, as a sentence; [] when the database is consistent.

    ``allow_active``: queued/running runs are expected (the server is still working on them).
    """
    engine = make_engine(database_url)
    found: list[str] = []
    try:
        with engine.connect() as conn:
            runs = {r.id: r for r in conn.execute(select(Run.__table__))}
            artifacts = list(
                conn.execute(
                    select(
                        Artifact.run_id, Artifact.kind, Artifact.data, Artifact.sha256
                    ).add_columns(Artifact.size)
                )
            )
            events: dict[str, list[Any]] = defaultdict(list)
            for e in conn.execute(
                select(RunEventRow.run_id, RunEventRow.seq, RunEventRow.payload).order_by(
                    RunEventRow.run_id, RunEventRow.seq
                )
            ):
                events[e.run_id].append(e)
            series = list(conn.execute(select(Series.__table__)))
            datasets = list(conn.execute(select(Dataset.__table__)))
            point_counts = dict(
                conn.execute(
                    select(points.c.series_id, func.count()).group_by(points.c.series_id)
                ).all()
            )
    finally:
        engine.dispose()

    kinds: dict[str, set[str]] = defaultdict(set)
    for a in artifacts:
        kinds[a.run_id].add(a.kind)
        run = runs.get(a.run_id)
        if run is None:
            found.append(f"artifact {a.kind} of a run that does not exist ({a.run_id})")
        elif run.status != "succeeded":
            found.append(f"artifact {a.kind} of run {a.run_id}, which is {run.status}")
        if hashlib.sha256(bytes(a.data)).hexdigest() != a.sha256 or len(a.data) != a.size:
            found.append(f"artifact {a.kind} of run {a.run_id} does not match its sha256/size")

    for run_id, run in runs.items():
        if run.status not in RUN_STATUSES:
            found.append(f"run {run_id} has an unknown status {run.status!r}")
        if not allow_active and run.status in ("queued", "running"):
            found.append(f"run {run_id} is still {run.status}")
        if run.status == "succeeded" and not kinds[run_id] >= REQUIRED_ARTIFACTS:
            missing = sorted(REQUIRED_ARTIFACTS - kinds[run_id])
            found.append(f"succeeded run {run_id} lacks artifact(s) {missing}")
        if run.status in FINISHED_STATUSES and run.finished_at is None:
            found.append(f"run {run_id} is {run.status} without finished_at")
        if run.status in ("failed", "interrupted") and not run.error:
            found.append(f"run {run_id} is {run.status} without a reason")
        found += _event_violations(run_id, run.status, events.get(run_id, []))
    found += [f"events of a run that does not exist ({r})" for r in set(events) - set(runs)]

    by_dataset: Counter[int] = Counter()
    for s in series:
        by_dataset[s.dataset_id] += s.point_count
        stored = point_counts.pop(s.id, 0)
        if stored != s.point_count:
            found.append(f"series {s.id} says {s.point_count} points, {stored} are stored")
    found += [
        f"{n} points of series {sid}, which does not exist" for sid, n in point_counts.items()
    ]
    for d in datasets:
        if d.point_count != by_dataset[d.id]:
            found.append(
                f"dataset {d.name!r} says {d.point_count} points, its series hold "
                f"{by_dataset[d.id]}"
            )
        if not by_dataset[d.id]:
            found.append(f"dataset {d.name!r} holds no points")
    return found


def _event_violations(run_id: str, status: str, events: list[Any]) -> list[str]:
    found: list[str] = []
    seqs = [e.seq for e in events]
    if seqs != list(range(1, len(seqs) + 1)):
        found.append(f"run {run_id}: event sequence {seqs} has a gap or does not start at 1")
    if not events:
        return [*found, f"run {run_id} has no events"]
    first = events[0].payload
    if first.get("type") != "status" or first.get("stage") != "queued":
        found.append(f"run {run_id}: first event is {first}, not status queued")
    terminal = [i for i, e in enumerate(events) if e.payload.get("type") in ("done", "error")]
    if status in FINISHED_STATUSES:
        if terminal != [len(events) - 1]:
            found.append(f"run {run_id} ({status}): terminal events at {terminal} of {len(events)}")
        elif events[-1].payload.get("status") != status:
            found.append(
                f"run {run_id} is {status}, its last event says {events[-1].payload.get('status')}"
            )
    elif terminal:
        found.append(f"run {run_id} is {status} but has a terminal event")
    return found


def run_statuses(database_url: str) -> Counter[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return Counter(
                dict(conn.execute(select(Run.status, func.count()).group_by(Run.status)).all())
            )
    finally:
        engine.dispose()
