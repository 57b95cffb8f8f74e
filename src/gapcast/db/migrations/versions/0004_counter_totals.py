"""counter totals: a running total's last raw reading per series, for appends to continue from

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable ADD COLUMNs, in place on SQLite too: series imported before stay plain series.
    op.add_column("series", sa.Column("counter_total", sa.Float(precision=53), nullable=True))
    op.add_column("series", sa.Column("counter_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_column("counter_at")
        batch_op.drop_column("counter_total")
