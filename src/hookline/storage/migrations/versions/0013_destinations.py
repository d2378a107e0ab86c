"""Targets may publish to a message broker: a broker target keeps its stream, subject or exchange in
``destination`` (null for an HTTP target).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("targets", sa.Column("destination", sa.JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("targets", "destination")
