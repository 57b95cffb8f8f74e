"""timezones: the IANA zone a dataset's times were imported in, and a run's copy of it, so that
an appended export or a predict file of the same logger is read in it and forecasts are shown in it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: a dataset stored before was read in UTC or its times carried their offsets.
    op.add_column("datasets", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("runs", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("timezone")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_column("timezone")
