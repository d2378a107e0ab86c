"""Per-key ordering: a route's ``ordering``, each delivery's key and number, and the numbers given so far.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_OPEN_ORDERED = sa.text("sequence IS NOT NULL AND status IN ('pending', 'held')")
_DUE_ORDERED = sa.text("status = 'pending' AND sequence IS NOT NULL")


def upgrade() -> None:
    op.add_column(
        "routes", sa.Column("ordering", sa.String(16), nullable=False, server_default=sa.text("'none'"))
    )
    op.add_column("deliveries", sa.Column("ordering_key", sa.String(100), nullable=True))
    op.add_column("deliveries", sa.Column("sequence", sa.BigInteger, nullable=True))
    op.create_index(
        "ix_deliveries_ordering",
        "deliveries",
        ["route_id", "ordering_key", "sequence"],
        postgresql_where=_OPEN_ORDERED,
        sqlite_where=_OPEN_ORDERED,
    )
    op.create_index(
        "ix_deliveries_due_ordered",
        "deliveries",
        ["next_attempt_at"],
        postgresql_where=_DUE_ORDERED,
        sqlite_where=_DUE_ORDERED,
    )
    op.create_table(
        "ordering_sequences",
        sa.Column("route_id", sa.String(40), primary_key=True),
        sa.Column("ordering_key", sa.String(100), primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ordering_sequences")
    op.drop_index(
        "ix_deliveries_due_ordered", "deliveries", postgresql_where=_DUE_ORDERED, sqlite_where=_DUE_ORDERED
    )
    op.drop_index(
        "ix_deliveries_ordering", "deliveries", postgresql_where=_OPEN_ORDERED, sqlite_where=_OPEN_ORDERED
    )
    op.drop_column("deliveries", "sequence")
    op.drop_column("deliveries", "ordering_key")
    op.drop_column("routes", "ordering")
