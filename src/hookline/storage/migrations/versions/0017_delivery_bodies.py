"""Delivery bodies stored apart: ``delivery_bodies``, one row per event and distinct body, and each delivery's
``body_id`` in place of its ``payload``.

The bodies already stored move as they are, one per delivery (its own id). Processes of the previous
version read and write ``deliveries.payload``: stop them before running this migration.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_bodies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.add_column(
        "deliveries", sa.Column("body_id", sa.String(40), nullable=False, server_default=sa.text("''"))
    )
    op.execute(
        "INSERT INTO delivery_bodies (id, merchant_id, event_id, body) "
        "SELECT id, merchant_id, event_id, payload FROM deliveries"
    )
    op.execute("UPDATE deliveries SET body_id = id")
    op.drop_column("deliveries", "payload")


def downgrade() -> None:
    op.add_column("deliveries", sa.Column("payload", sa.LargeBinary, nullable=True))
    op.execute(
        "UPDATE deliveries SET payload = "
        "(SELECT body FROM delivery_bodies WHERE delivery_bodies.id = deliveries.body_id)"
    )
    if op.get_bind().dialect.name == "postgresql":  # SQLite cannot add the constraint to a column
        op.alter_column("deliveries", "payload", nullable=False)
    op.drop_column("deliveries", "body_id")
    op.drop_table("delivery_bodies")
