"""Objects carry the id their parent field names (an item's order), indexed: an order's items are found
through the index instead of by reading every item of the merchant.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from hookline.core import snapshot

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PAGE = 1000


def upgrade() -> None:
    op.add_column("objects", sa.Column("parent_id", sa.String(100), nullable=True))
    op.create_index("ix_objects_parent", "objects", ["merchant_id", "kind", "parent_id"])
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """The column of every stored object of a kind with a parent field, a page at a time in key order."""
    objects = sa.table(
        "objects",
        sa.column("merchant_id"),
        sa.column("kind"),
        sa.column("public_id"),
        sa.column("data", sa.JSON),
        sa.column("parent_id"),
    )
    key = sa.tuple_(objects.c.merchant_id, objects.c.public_id)
    change = (
        objects.update()
        .where(
            objects.c.merchant_id == sa.bindparam("m"),
            objects.c.kind == sa.bindparam("k"),
            objects.c.public_id == sa.bindparam("p"),
        )
        .values(parent_id=sa.bindparam("parent"))
    )
    for kind in sorted(snapshot.PARENT_FIELDS):
        after: tuple[str, str] = ("", "")
        while True:
            page = conn.execute(
                sa.select(objects.c.merchant_id, objects.c.public_id, objects.c.data)
                .where(objects.c.kind == kind, key > sa.tuple_(*map(sa.literal, after)))
                .order_by(objects.c.merchant_id, objects.c.public_id)
                .limit(_PAGE)
            ).all()
            if not page:
                break
            rows = [
                {"m": m, "k": kind, "p": p, "parent": parent}
                for m, p, data in page
                if (parent := snapshot.parent_id(kind, _data(data))) is not None
            ]
            if rows:
                conn.execute(change, rows)
            after = (page[-1][0], page[-1][1])


def _data(raw: Any) -> Any:
    return json.loads(raw) if isinstance(raw, str | bytes) else raw


def downgrade() -> None:
    op.drop_index("ix_objects_parent", "objects")
    op.drop_column("objects", "parent_id")
