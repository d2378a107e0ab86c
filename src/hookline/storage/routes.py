"""Routes, and the effect of their state on the deliveries they own."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select, update
from sqlalchemy import Row as SqlRow

from hookline.core.errors import Invalid
from hookline.core.models import DeliveryStatus, Route, Routed, RouteState, Target
from hookline.storage import records
from hookline.storage.database import Conn, Database
from hookline.storage.records import Row
from hookline.storage.tables import deliveries, routes, targets

_OPEN = (DeliveryStatus.PENDING, DeliveryStatus.HELD)


async def change(db: Database, merchant_id: str, route_id: str, values: Row, now: float) -> Route:
    """Update a route; a new state takes its deliveries along in the same transaction.

    disabled or deleted: pending and held deliveries are canceled (as Ordergroove documents);
    halted: pending deliveries are held (no attempts, budget untouched);
    active: held deliveries are released oldest first (their due time becomes their creation time).
    """
    async with db.write() as conn:
        before = await records.fetch(conn, records.ROUTES, merchant_id, route_id)
        if values.get("state", before.state) != before.state:
            values = {**_entering(values["state"], now), **values}
        route = await records.change(conn, records.ROUTES, merchant_id, route_id, {**values, "updated": now})
        state = None if route.deleted is not None else route.state
        if state != before.state:
            await move_deliveries(conn, route_id, state, now)
        return route


def _entering(state: str, now: float) -> Row:
    """A new state starts a new failure streak; ``halted`` records when and why (auto-halt sets its own)."""
    halted = state == RouteState.HALTED
    return {
        "failure_streak": 0,
        "failing_since": None,
        "halted_at": now if halted else None,
        "halted_reason": "halted manually" if halted else None,
    }


async def move_deliveries(conn: Conn, route_id: str, state: str | None, now: float) -> None:
    """Take a route's open deliveries along to its new state (None: deleted), in the caller's transaction.

    Shared by a state change over the API and by auto-halt (``storage.autohalt``).
    """
    mine = deliveries.c.route_id == route_id
    if state in (None, RouteState.DISABLED):
        await cancel_open(conn, mine, now)
    elif state == RouteState.HALTED:
        await hold_pending(conn, mine)
    elif state == RouteState.ACTIVE:
        await conn.execute(
            update(deliveries)
            .where(mine, deliveries.c.status == DeliveryStatus.HELD)
            .values(status=DeliveryStatus.PENDING, next_attempt_at=deliveries.c.created)
        )


async def hold_pending(conn: Conn, which: ColumnElement[bool]) -> None:
    """Hold the pending deliveries ``which`` selects (their route is halted)."""
    await conn.execute(
        update(deliveries)
        .where(which, deliveries.c.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.HELD)
    )


async def cancel_open(conn: Conn, which: ColumnElement[bool], now: float) -> None:
    """Cancel the pending and held deliveries ``which`` selects (Ordergroove: in transit when disabled)."""
    await conn.execute(
        update(deliveries)
        .where(which, deliveries.c.status.in_(_OPEN))
        .values(status=DeliveryStatus.CANCELED, completed=now, next_attempt_at=None)
    )


async def target_disabled(conn: Conn, target_id: str, now: float) -> None:
    """A target was disabled: its routes' pending and held deliveries are canceled, exactly as a disabled
    route's (in the caller's transaction). The routes keep their state, so re-enabling the target brings them
    back as they were, with only new events: what was canceled stays canceled."""
    using = select(routes.c.id).where(routes.c.target_id == target_id).scalar_subquery()
    await cancel_open(conn, deliveries.c.route_id.in_(using), now)


async def deliverable(conn: Conn, merchant_id: str, route_id: str) -> Route:
    """The route, joined to its target's ``enabled``, if deliveries can be made for it now (in the caller's
    transaction); Invalid when it is deleted or disabled, or its target is disabled: those receive nothing."""
    found = await conn.execute(
        select(routes, targets.c.enabled.label("target_enabled"))
        .join(targets, targets.c.id == routes.c.target_id)
        .where(routes.c.id == route_id, routes.c.merchant_id == merchant_id)
    )
    row = found.mappings().first()
    if row is None or row["deleted"] is not None:
        raise Invalid(f"route {route_id} was deleted")
    if row["state"] == RouteState.DISABLED:
        raise Invalid(f"route {route_id} is disabled", fields={"route": "disabled"})
    if not row["target_enabled"]:
        raise Invalid(f"the target of route {route_id} is disabled", fields={"target": "disabled"})
    return Route.from_row(row)


# A route with every column of its target, labelled ``target__…`` in the order of ``Target``'s fields, so
# the target is built from the tail of the row's tuple (``routed``).
WITH_TARGET = select(
    routes, *(targets.c[f.name].label(f"target__{f.name}") for f in dataclasses.fields(Target))
).join(targets, targets.c.id == routes.c.target_id)
_ROUTE_WIDTH = len(routes.c)


def routed(row: SqlRow[Any]) -> Routed:
    """A row of ``WITH_TARGET`` as its route and target."""
    return Routed(Route.from_row(row._mapping), Target(*row[_ROUTE_WIDTH:]))


# Built once: on the ingest path, building the statement cost more than running it.
_FOR_INGEST = WITH_TARGET.where(
    routes.c.merchant_id == bindparam("merchant_id"),
    routes.c.deleted.is_(None),
    # Not IN: a literal list is expanded at every execution, which cost a quarter of a one-event ingest.
    or_(routes.c.state == RouteState.ACTIVE, routes.c.state == RouteState.HALTED),
    targets.c.enabled.is_(True),
    targets.c.deleted.is_(None),
).order_by(routes.c.id)


async def for_ingest(conn: Conn, merchant_id: str) -> list[Routed]:
    """The merchant's routes that can receive events (active or halted) whose target is enabled, each with
    its target (whose URL and keys a delivery handed straight to this process's worker needs)."""
    found = await conn.execute(_FOR_INGEST, {"merchant_id": merchant_id})
    return [routed(r) for r in found]


async def using_target(db: Database, merchant_id: str, target_id: str) -> list[str]:
    query = select(routes.c.id).where(*records.scoped(routes, merchant_id), routes.c.target_id == target_id)
    async with db.read() as conn:
        return list((await conn.execute(query)).scalars())
