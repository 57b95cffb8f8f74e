"""no readings: the times a file said a series had no reading (Home Assistant's 'unavailable'),
so that a sensor reporting on change only is not held over an outage it reported

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The points table's time type: integer nanoseconds on SQLite, timestamptz on PostgreSQL.
    ts = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")
    op.create_table(
        "no_readings",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("ts", ts, nullable=False),
        sa.PrimaryKeyConstraint("series_id", "ts", name=op.f("pk_no_readings")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("no_readings")
