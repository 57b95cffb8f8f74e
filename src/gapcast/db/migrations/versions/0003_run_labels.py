"""run labels: a run's name, tags and note, edited from the page, REST and the client

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gapcast.db.tables import JsonType

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no batch copy of the runs table): nullable columns SQLite adds in place.
    op.add_column("runs", sa.Column("name", sa.String(length=200), nullable=True))
    op.add_column("runs", sa.Column("tags", JsonType, nullable=True))
    op.add_column("runs", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("note")
        batch_op.drop_column("tags")
        batch_op.drop_column("name")
