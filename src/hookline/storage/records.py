"""Merchant-scoped rows: the one way every table is read and changed by id.

Every query carries the merchant, so a merchant key can never reach another merchant's rows: a foreign id
is as missing as an unknown one. Soft-deleted rows (``deleted`` set) are invisible here.

Each function takes a ``Kind``: the table and the record its rows are read as (``hookline.core.models``),
built once here, so nothing above storage indexes a row by column name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement, Table, insert, select, update

from hookline.core.errors import NotFound
from hookline.core.models import Delivery, Route, RowMap, Target
from hookline.core.models import Row as Row  # re-exported: storage and services import it from here
from hookline.storage import tables
from hookline.storage.database import Conn, Database

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Kind(Generic[R]):
    """A merchant-scoped table, the word its errors use for one row, and how a row becomes a record."""

    table: Table
    label: str
    build: Callable[[RowMap], R]


TARGETS = Kind(tables.targets, "target", Target.from_row)
ROUTES = Kind(tables.routes, "route", Route.from_row)
DELIVERIES = Kind(tables.deliveries, "delivery", Delivery.from_row)


def scoped(table: Table, merchant_id: str) -> list[ColumnElement[bool]]:
    """The conditions that keep a query inside one merchant's live rows."""
    conditions: list[ColumnElement[bool]] = [table.c.merchant_id == merchant_id]
    if "deleted" in table.c:
        conditions.append(table.c.deleted.is_(None))
    return conditions


async def fetch(conn: Conn, kind: Kind[R], merchant_id: str, row_id: str) -> R:
    table = kind.table
    query = select(table).where(table.c.id == row_id, *scoped(table, merchant_id))
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"{kind.label} {row_id} not found")
    return kind.build(row)


async def get(db: Database, kind: Kind[R], merchant_id: str, row_id: str) -> R:
    async with db.read() as conn:
        return await fetch(conn, kind, merchant_id, row_id)


async def page(
    db: Database, kind: Kind[R], merchant_id: str, limit: int, before: str | None, *where: ColumnElement[bool]
) -> list[R]:
    """Newest first (ids are time-ordered); ``before`` is the last id of the previous page."""
    table = kind.table
    query = select(table).where(*scoped(table, merchant_id), *where).order_by(table.c.id.desc()).limit(limit)
    if before:
        query = query.where(table.c.id < before)
    async with db.read() as conn:
        return [kind.build(r) for r in (await conn.execute(query)).mappings()]


async def add(db: Database, kind: Kind[R], row: Row) -> R:
    """Insert a new row (every column given) and return it as its record."""
    async with db.write() as conn:
        await conn.execute(insert(kind.table).values(**row))
    return kind.build(row)


async def change(conn: Conn, kind: Kind[R], merchant_id: str, row_id: str, values: Row) -> R:
    """Update one live row inside the caller's transaction and return it as it now is."""
    table = kind.table
    result = await conn.execute(
        update(table).where(table.c.id == row_id, *scoped(table, merchant_id)).values(**values)
    )
    if result.rowcount == 0:
        raise NotFound(f"{kind.label} {row_id} not found")
    return await fetch(conn, kind, merchant_id, row_id)
