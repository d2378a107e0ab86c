"""Merchants carry the platform's merchant id (``public_id``, set by the operator), unique when set.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("merchants", sa.Column("public_id", sa.String(100), nullable=True))
    # Unique among the merchants that have one: both engines let any number of NULLs through a unique index.
    op.create_index("ux_merchants_public_id", "merchants", ["public_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_merchants_public_id", "merchants")
    op.drop_column("merchants", "public_id")
