"""``hookline listen`` sessions: the listeners connected to each API process, by route.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listeners",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("route_id", sa.String(40), nullable=False),
        sa.Column("connected", sa.Float, nullable=False),
        sa.Column("seen", sa.Float, nullable=False),
    )
    op.create_index("ix_listeners_route", "listeners", ["route_id", "seen"])


def downgrade() -> None:
    op.drop_index("ix_listeners_route", "listeners")
    op.drop_table("listeners")
