"""Ordergroove-style targets (``/webhook_targets``): their filters and the one route each stands for.

A target managed through that surface is an ordinary target plus one live route flagged ``ordergroove``;
the flag is what makes the target visible there. Its filters are rows of ``filters``, and the route's
event types are rewritten from them inside the transaction that changed them (see ``lock_route``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from sqlalchemy import ColumnElement, delete, exists, insert, select, update

from hookline.core.errors import NotFound
from hookline.core.models import EventFilter, Route, Target
from hookline.storage import records
from hookline.storage.database import Conn, Database
from hookline.storage.tables import filters, routes, targets


def _managed(merchant_id: str) -> ColumnElement[bool]:
    """The target (of ``targets``) has a live Ordergroove route."""
    return exists().where(
        routes.c.target_id == targets.c.id,
        routes.c.ordergroove.is_(True),
        *records.scoped(routes, merchant_id),
    )


async def targets_page(db: Database, merchant_id: str, offset: int, limit: int) -> list[Target]:
    """Managed targets, oldest first, so that page numbers keep their content as targets are added."""
    query = (
        select(targets)
        .where(*records.scoped(targets, merchant_id), _managed(merchant_id))
        .order_by(targets.c.id)
        .offset(offset)
        .limit(limit)
    )
    async with db.read() as conn:
        return [Target.from_row(r) for r in (await conn.execute(query)).mappings()]


async def fetch_target(conn: Conn, merchant_id: str, target_id: str) -> Target:
    query = select(targets).where(
        targets.c.id == target_id, *records.scoped(targets, merchant_id), _managed(merchant_id)
    )
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"target {target_id} not found")
    return Target.from_row(row)


async def get_target(db: Database, merchant_id: str, target_id: str) -> Target:
    async with db.read() as conn:
        return await fetch_target(conn, merchant_id, target_id)


async def route_of(conn: Conn, merchant_id: str, target_id: str, *, lock: bool = False) -> Route:
    """The live Ordergroove route of a live target; NotFound when the target is not managed here.

    ``lock`` takes the route's row lock first (PostgreSQL; SQLite writers are serialised anyway), so two
    concurrent filter changes of one target recompute its event types one after the other, each seeing
    the other's filter.
    """
    query = (
        select(routes)
        .join(targets, targets.c.id == routes.c.target_id)
        .where(
            routes.c.target_id == target_id,
            routes.c.ordergroove.is_(True),
            *records.scoped(routes, merchant_id),
            *records.scoped(targets, merchant_id),
        )
        .order_by(routes.c.id)
        .limit(1)
    )
    if lock:
        query = query.with_for_update(of=routes)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"target {target_id} not found")
    return Route.from_row(row)


async def get_route(db: Database, merchant_id: str, target_id: str) -> Route:
    async with db.read() as conn:
        return await route_of(conn, merchant_id, target_id)


async def mark_managed(db: Database, merchant_id: str, route_id: str, state: str) -> None:
    """Flag a new (disabled, so delivery-less) route as a target's Ordergroove route and give it its state."""
    async with db.write() as conn:
        await records.change(
            conn, records.ROUTES, merchant_id, route_id, {"ordergroove": True, "state": state}
        )


async def recompute(
    conn: Conn,
    merchant_id: str,
    target_id: str,
    route_id: str,
    event_types_for: Callable[[list[str]], list[str]],
    now: float,
) -> list[str]:
    """Rewrite the route's event types from the target's filters as they now are in this transaction."""
    event_types = event_types_for(await patterns(conn, merchant_id, target_id))
    await conn.execute(
        update(routes).where(routes.c.id == route_id).values(event_types=event_types, updated=now)
    )
    return event_types


def _of_target(merchant_id: str, target_id: str) -> list[ColumnElement[bool]]:
    return [*records.scoped(filters, merchant_id), filters.c.target_id == target_id]


async def filters_page(
    db: Database, merchant_id: str, target_id: str, offset: int, limit: int
) -> list[EventFilter]:
    query = (
        select(filters)
        .where(*_of_target(merchant_id, target_id))
        .order_by(filters.c.id)
        .offset(offset)
        .limit(limit)
    )
    async with db.read() as conn:
        return [EventFilter.from_row(r) for r in (await conn.execute(query)).mappings()]


async def patterns(conn: Conn, merchant_id: str, target_id: str) -> list[str]:
    query = select(filters.c.pattern).where(*_of_target(merchant_id, target_id)).order_by(filters.c.id)
    return list((await conn.execute(query)).scalars())


async def fetch_filter(conn: Conn, merchant_id: str, target_id: str, filter_id: str) -> EventFilter:
    query = select(filters).where(filters.c.id == filter_id, *_of_target(merchant_id, target_id))
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"filter {filter_id} not found")
    return EventFilter.from_row(row)


async def add_filter(conn: Conn, found: EventFilter) -> EventFilter:
    await conn.execute(insert(filters).values(**asdict(found)))
    return found


async def set_pattern(
    conn: Conn, merchant_id: str, target_id: str, filter_id: str, pattern: str
) -> EventFilter:
    await fetch_filter(conn, merchant_id, target_id, filter_id)
    await conn.execute(
        update(filters)
        .where(filters.c.id == filter_id, *_of_target(merchant_id, target_id))
        .values(pattern=pattern)
    )
    return await fetch_filter(conn, merchant_id, target_id, filter_id)


async def remove_filter(conn: Conn, merchant_id: str, target_id: str, filter_id: str) -> None:
    await fetch_filter(conn, merchant_id, target_id, filter_id)
    await conn.execute(delete(filters).where(filters.c.id == filter_id, *_of_target(merchant_id, target_id)))


async def remove_filters(db: Database, merchant_id: str, target_id: str) -> None:
    async with db.write() as conn:
        await conn.execute(delete(filters).where(*_of_target(merchant_id, target_id)))
