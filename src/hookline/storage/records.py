"""Merchant-scoped rows: the one way every table is read and changed by id.

Every query carries the merchant, so a merchant key can never reach another merchant's rows: a foreign id
is as missing as an unknown one. Soft-deleted rows (``deleted`` set) are invisible here.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, insert, select, update

from hookline.errors import NotFound
from hookline.models import Row as Row  # re-exported: storage and services import it from here
from hookline.storage.database import Conn, Database


def scoped(table: Table, merchant_id: str) -> list[ColumnElement[bool]]:
    """The conditions that keep a query inside one merchant's live rows."""
    conditions: list[ColumnElement[bool]] = [table.c.merchant_id == merchant_id]
    if "deleted" in table.c:
        conditions.append(table.c.deleted.is_(None))
    return conditions


async def fetch(conn: Conn, table: Table, merchant_id: str, row_id: str) -> Row:
    query = select(table).where(table.c.id == row_id, *scoped(table, merchant_id))
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"{_label(table)} {row_id} not found")
    return dict(row)


async def get(db: Database, table: Table, merchant_id: str, row_id: str) -> Row:
    async with db.read() as conn:
        return await fetch(conn, table, merchant_id, row_id)


async def page(
    db: Database, table: Table, merchant_id: str, limit: int, before: str | None, *where: ColumnElement[bool]
) -> list[Row]:
    """Newest first (ids are time-ordered); ``before`` is the last id of the previous page."""
    query = select(table).where(*scoped(table, merchant_id), *where).order_by(table.c.id.desc()).limit(limit)
    if before:
        query = query.where(table.c.id < before)
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]


async def add(db: Database, table: Table, row: Row) -> Row:
    async with db.write() as conn:
        await conn.execute(insert(table).values(**row))
    return row


async def change(conn: Conn, table: Table, merchant_id: str, row_id: str, values: Row) -> Row:
    """Update one live row inside the caller's transaction and return it as it now is."""
    result = await conn.execute(
        update(table).where(table.c.id == row_id, *scoped(table, merchant_id)).values(**values)
    )
    if result.rowcount == 0:
        raise NotFound(f"{_label(table)} {row_id} not found")
    return await fetch(conn, table, merchant_id, row_id)


def _label(table: Table) -> str:
    return {"targets": "target", "routes": "route", "deliveries": "delivery"}.get(table.name, table.name)
