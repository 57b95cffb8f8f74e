"""The database schema (SQLAlchemy 2, typed ORM). Alembic migrations in ``migrations/`` create it.

Timestamps of data points are ``timestamptz`` on PostgreSQL and integer UTC nanoseconds on SQLite
(which has no timestamp type); ``points.py`` hides the difference and moves them in bulk.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

JsonType = JSON().with_variant(JSONB(), "postgresql")
BlobType = LargeBinary().with_variant(BYTEA(), "postgresql")
PointTime = DateTime(timezone=True).with_variant(BigInteger(), "sqlite")

# Stable constraint names so Alembic migrations can refer to them on every dialect.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Integer ids and sequence numbers are INTEGER columns: 32-bit on PostgreSQL, 64-bit on SQLite.
# A number outside the narrower range names no row on either database.
ID_MIN = -(2**31)
ID_MAX = 2**31 - 1


def storable_id(value: int) -> bool:
    """Whether ``value`` fits the integer id and sequence columns of every supported database."""
    return ID_MIN <= value <= ID_MAX


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime that comes back aware, in UTC, from every database: SQLite's DATETIME returns
    it without a zone and PostgreSQL's timestamptz in the session's zone. Without this the API
    served SQLite's times with no offset, which browsers and most parsers read as local time (the
    page's run list showed them shifted by the viewer's offset). gapcast writes UTC only; a time
    without a zone is taken as UTC on the way in, as it is stored."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        # SQLite stores the wall time as written: another zone's would be stored hours off.
        return value.astimezone(UTC) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JsonType, list[Any]: JsonType}


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    frequency_ns: Mapped[int | None] = mapped_column(BigInteger)
    start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    point_count: Mapped[int] = mapped_column(BigInteger, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    source: Mapped[str | None] = mapped_column(String(500))
    # The IANA zone its times without an offset were read in (migration 0006): an append or a
    # predict file of the same logger is read in it too, and forecasts are shown in it.
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    series: Mapped[list[Series]] = relationship(
        back_populates="dataset",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Series.position",
    )


class Series(Base):
    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer, default=0)
    point_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # A series imported as a running total's increases (--counter) keeps the total's last raw
    # reading, so that an appended export's first increase is measured from it, not lost.
    counter_total: Mapped[float | None] = mapped_column(Float(precision=53))
    counter_at: Mapped[int | None] = mapped_column(BigInteger)  # ns UTC
    # And its first raw reading, so that an older export appended later (files sent out of
    # order) gives the increase at the stored first reading.
    counter_first: Mapped[float | None] = mapped_column(Float(precision=53))
    counter_first_at: Mapped[int | None] = mapped_column(BigInteger)  # ns UTC

    dataset: Mapped[Dataset] = relationship(back_populates="series")


# No foreign key to ``series``: PostgreSQL checks one with a trigger per inserted row, which made
# bulk import 4x slower than plain COPY. Points are only written by ``repository.import_dataset``
# in the transaction that creates their series, and ``repository.delete_dataset`` removes them.
points = Table(
    "points",
    Base.metadata,
    Column("series_id", Integer, primary_key=True),
    Column("ts", PointTime, primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    # Clustered by (series, time) on SQLite too: loading a series is one range scan.
    sqlite_with_rowid=False,
)

# A file's rows for a series that hold no value (Home Assistant's 'unavailable'): "no reading
# here", which the mere absence of a point does not say of a sensor that reports on change only
# (resample's hold keeps a reading until the next one, and stops at such a mark). Migration 0007;
# written and removed with the points, without a foreign key for the same reason.
no_readings = Table(
    "no_readings",
    Base.metadata,
    Column("series_id", Integer, primary_key=True),
    Column("ts", PointTime, primary_key=True),
    sqlite_with_rowid=False,
)


class TrainingConfigRow(Base):
    """A named, validated ``TrainingConfig`` (the JSON in ``body``)."""

    __tablename__ = "training_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    model: Mapped[str] = mapped_column(String(100))
    body: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
FINISHED_STATUSES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    dataset_name: Mapped[str] = mapped_column(String(200))
    # The dataset's zone when the run was created, kept after the dataset is replaced or deleted.
    timezone: Mapped[str | None] = mapped_column(String(64))
    config_id: Mapped[int | None] = mapped_column(
        ForeignKey("training_configs.id", ondelete="SET NULL")
    )
    config_name: Mapped[str | None] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    model: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runtime_s: Mapped[float | None] = mapped_column(Float)
    epochs: Mapped[int | None] = mapped_column(Integer)
    loss: Mapped[float | None] = mapped_column(Float)
    val_loss: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    gap_metrics: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    gap_report: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    history: Mapped[list[Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    executor: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    sweep_id: Mapped[str | None] = mapped_column(String(36), index=True)
    trial: Mapped[dict[str, Any] | None] = mapped_column(JsonType)  # a sweep trial's number, params
    # A user's labels (migration 0003): never read by training, edited with PATCH /runs/{id}.
    name: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[Any] | None] = mapped_column(JsonType)
    note: Mapped[str | None] = mapped_column(Text)

    artifacts: Mapped[list[Artifact]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True
    )


class RunEventRow(Base):
    """The durable progress log of a run: replayed to late watchers after ``seq``."""

    __tablename__ = "run_events"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    type: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)


ARTIFACT_KINDS = ("model", "gap_model", "plot", "pipeline", "backtest", "checkpoint")


class Artifact(Base):
    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("run_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    media_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(BlobType, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    run: Mapped[Run] = relationship(back_populates="artifacts")


SWEEP_STATUSES = ("running", "succeeded", "failed", "cancelled")


class Sweep(Base):
    """A hyperparameter search: its trials are ordinary runs with ``runs.sweep_id`` set."""

    __tablename__ = "sweeps"
    __table_args__ = (Index("ix_sweeps_status", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    name: Mapped[str | None] = mapped_column(String(200))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    dataset_name: Mapped[str] = mapped_column(String(200))
    config_name: Mapped[str | None] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    space: Mapped[dict[str, Any]] = mapped_column(JsonType)
    objective: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(10))
    sampler: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int] = mapped_column(BigInteger)
    trials: Mapped[int] = mapped_column(Integer)
    parallel: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="running")
    best_run_id: Mapped[str | None] = mapped_column(String(36))
    best_value: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
