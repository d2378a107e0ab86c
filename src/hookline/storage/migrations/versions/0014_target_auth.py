"""Endpoint authentication of targets: ``targets.auth``, the public fields of a target's ``auth`` and the
whole object sealed with ``HOOKLINE_SECRET_KEY`` (``hookline.core.credentials``); null when it has none.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.add_column(sa.Column("auth", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.drop_column("auth")
