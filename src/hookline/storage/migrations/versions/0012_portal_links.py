"""Portal links: single-use, short-lived links that sign a browser in to one merchant's dashboard (kept by
the hash of their token), and the sessions they open (``portal_link_id``, ``return_url``).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("merchant_id", sa.String(40), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("return_url", sa.Text(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.Column("used", sa.Float(), nullable=True),
    )
    op.create_index("ix_portal_links_token_hash", "portal_links", ["token_hash"], unique=True)
    op.create_index("ix_portal_links_expires", "portal_links", ["expires"])
    op.add_column("sessions", sa.Column("portal_link_id", sa.String(40), nullable=True))
    op.add_column("sessions", sa.Column("return_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("return_url")
        batch.drop_column("portal_link_id")
    op.drop_index("ix_portal_links_expires", "portal_links")
    op.drop_index("ix_portal_links_token_hash", "portal_links")
    op.drop_table("portal_links")
