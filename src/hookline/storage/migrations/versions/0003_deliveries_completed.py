"""An index on deliveries.completed, so retention finds old finished deliveries without a scan.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_completed", "deliveries", ["completed"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_completed", "deliveries")
