"""Objects keep their earlier versions, each with the time it was valid from: payloads built later for an
older event (replay, preview) read the objects as they were when the event was accepted.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The copies stored so far count as valid since 0: hookline kept no older version of them.
    op.add_column("objects", sa.Column("valid_from", sa.Float, nullable=False, server_default=sa.text("0")))
    op.create_table(
        "object_versions",
        sa.Column("merchant_id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("public_id", sa.String(100), primary_key=True),
        sa.Column("valid_from", sa.Float, primary_key=True),
        sa.Column("valid_until", sa.Float, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("parent_id", sa.String(100), nullable=True),
    )
    op.create_index("ix_object_versions_parent", "object_versions", ["merchant_id", "kind", "parent_id"])
    op.create_index("ix_object_versions_until", "object_versions", ["valid_until"])


def downgrade() -> None:
    op.drop_index("ix_object_versions_until", "object_versions")
    op.drop_index("ix_object_versions_parent", "object_versions")
    op.drop_table("object_versions")
    op.drop_column("objects", "valid_from")
