"""Merchant notifications: each merchant's channels (e-mail, a Slack-compatible webhook) and the outbox of
notices to send through them, written in the transaction that halts a route (docs/notifications.md).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("merchant_id", sa.String(40), primary_key=True),
        sa.Column("emails", sa.JSON, nullable=False),
        sa.Column("slack_webhook_url", sa.Text, nullable=True),
        sa.Column("kinds", sa.JSON, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("route_id", sa.String(40), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("destination", sa.JSON, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("sent", sa.Float, nullable=True),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index("ix_notifications_route", "notifications", ["route_id", "kind", "created"])
    op.create_index("ix_notifications_merchant", "notifications", ["merchant_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_merchant", "notifications")
    op.drop_index("ix_notifications_route", "notifications")
    op.drop_index("ix_notifications_due", "notifications")
    op.drop_table("notifications")
    op.drop_table("notification_settings")
