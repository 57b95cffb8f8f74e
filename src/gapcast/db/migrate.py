"""Alembic, driven from code: ``gapcast db upgrade`` and the server's start-up call ``upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from gapcast.db.session import make_engine, normalise_url

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x6761_7063_6173_74  # "gapcast": one advisory lock key for schema changes


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URLs may contain %-escapes.
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head", *, engine: Engine | None = None) -> None:
    """Bring the database at ``url`` to ``revision``; safe to call on every start."""
    cfg = alembic_config(url)
    own_engine = engine is None
    engine = engine or make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Replicas starting together would race to create the same tables: the first
                # migrates, the others wait here and then find the schema at head.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if own_engine:
            engine.dispose()


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
