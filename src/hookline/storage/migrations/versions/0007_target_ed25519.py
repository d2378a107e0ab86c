"""Targets get an Ed25519 key pair for Standard Webhooks ``v1a`` signatures: the columns, and a fresh key for
every target stored before them.

Only the current key is filled: a target in a rotation window when this runs keeps its two HMAC keys, and
signs ``v1a`` with its one new key until it is rotated again.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hookline.core import keypairs

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_PAGE = 1000


def upgrade() -> None:
    op.add_column("targets", sa.Column("ed25519_private_key", sa.String(100), nullable=True))
    op.add_column("targets", sa.Column("expiring_ed25519_private_key", sa.String(100), nullable=True))
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """A key for every target without one, a page at a time in id order."""
    targets = sa.table("targets", sa.column("id"), sa.column("ed25519_private_key"))
    give = (
        targets.update()
        .where(targets.c.id == sa.bindparam("target_id"))
        .values(ed25519_private_key=sa.bindparam("key"))
    )
    after = ""
    while True:
        ids = list(
            conn.execute(
                sa.select(targets.c.id)
                .where(targets.c.ed25519_private_key.is_(None), targets.c.id > after)
                .order_by(targets.c.id)
                .limit(_PAGE)
            ).scalars()
        )
        if not ids:
            return
        conn.execute(give, [{"target_id": i, "key": keypairs.new_private_key()} for i in ids])
        after = ids[-1]


def downgrade() -> None:
    op.drop_column("targets", "expiring_ed25519_private_key")
    op.drop_column("targets", "ed25519_private_key")
