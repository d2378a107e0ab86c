"""The due-deliveries index carries the target, so a claim that leaves out some targets reads only the index.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.drop_index("ix_deliveries_due", "deliveries", postgresql_where=_PENDING, sqlite_where=_PENDING)
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at", "target_id"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_due", "deliveries", postgresql_where=_PENDING, sqlite_where=_PENDING)
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
