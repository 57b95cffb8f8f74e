"""counter first readings: a running total's first raw reading per series, so that an older
export appended after a newer one (files sent out of order) gives the stored first increase

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: a running total stored before keeps its last reading only, as it did.
    op.add_column("series", sa.Column("counter_first", sa.Float(precision=53), nullable=True))
    op.add_column("series", sa.Column("counter_first_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_column("counter_first_at")
        batch_op.drop_column("counter_first")
