"""Platform objects, payload shaping, auto-halt, Ordergroove filters, background jobs, search indexes.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("routes") as batch:
        batch.add_column(sa.Column("fields_include", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("fields_exclude", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("transform", sa.Text(), nullable=True))
        batch.add_column(sa.Column("auto_halt_failures", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("auto_halt_window_s", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("failure_streak", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("failing_since", sa.Float(), nullable=True))
        batch.add_column(sa.Column("halted_at", sa.Float(), nullable=True))
        batch.add_column(sa.Column("halted_reason", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("ordergroove", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.create_table(
        "filters",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=40), nullable=False),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["target_id"], ["targets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_filters_target_id", "filters", ["target_id"])
    op.create_table(
        "objects",
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("public_id", sa.String(length=100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "kind", "public_id"),
    )
    op.create_index("ix_objects_email", "objects", ["merchant_id", "email"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("route_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_jobs_merchant_id", "jobs", ["merchant_id"])
    op.create_index("ix_events_object", "events", ["merchant_id", "object_id"])
    op.create_index("ix_events_customer", "events", ["merchant_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_events_customer", "events")
    op.drop_index("ix_events_object", "events")
    op.drop_table("jobs")
    op.drop_table("objects")
    op.drop_table("filters")
    with op.batch_alter_table("routes") as batch:
        for name in (
            "ordergroove",
            "halted_reason",
            "halted_at",
            "failing_since",
            "failure_streak",
            "auto_halt_window_s",
            "auto_halt_failures",
            "transform",
            "fields_exclude",
            "fields_include",
        ):
            batch.drop_column(name)
