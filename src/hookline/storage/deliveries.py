"""Deliveries and their attempts, as merchants look at them; manual resend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, case, func, select, text, update
from sqlalchemy.orm import aliased

from hookline.core.errors import Conflict, NotFound
from hookline.core.models import Attempt, Delivery, DeliveryStatus
from hookline.storage import bodies, records, tables
from hookline.storage import routes as route_store
from hookline.storage.database import Database
from hookline.storage.tables import attempts, deliveries, events, objects

_OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.HELD.value)


def _waiting_for() -> ScalarSelect[Any]:
    """The delivery an open numbered one waits for: the lowest-numbered open delivery of its route and key
    numbered below it (the one in flight, due for a retry, or held); null when it is first in line."""
    d = deliveries.c
    prior = aliased(deliveries, name="prior")
    return (
        select(prior.c.id)
        .where(
            prior.c.route_id == d.route_id,
            prior.c.ordering_key == d.ordering_key,
            prior.c.sequence < d.sequence,
            text(tables.open_ordered("prior")),
        )
        .order_by(prior.c.sequence)
        .limit(1)
        .scalar_subquery()
    )


# Everything but the body (its bytes only the worker and the detail view need); with what it waits for.
_LISTED = [
    *(c for c in deliveries.c if c.name != "body_id"),
    case(
        (deliveries.c.status.in_(_OPEN) & deliveries.c.sequence.is_not(None), _waiting_for()),
        else_=None,
    ).label("waiting_for"),
]


@dataclass(frozen=True, slots=True)
class Filters:
    route_id: str | None = None
    status: tuple[str, ...] = ()
    event_types: tuple[
        str, ...
    ] = ()  # concrete types (a filter's wildcards expanded by ``routing.selected``)
    event_id: str | None = None
    object_id: str | None = None
    customer_id: str | None = None
    customer_email: str | None = None  # matched against stored customers' emails, lower-cased
    since: float | None = None
    until: float | None = None


def _conditions(merchant_id: str, f: Filters) -> list[ColumnElement[bool]]:
    d = deliveries.c
    where: list[ColumnElement[bool]] = [d.merchant_id == merchant_id]
    if f.route_id:
        where.append(d.route_id == f.route_id)
    if f.status:
        where.append(d.status.in_(f.status))
    if f.event_types:
        where.append(d.event_type.in_(f.event_types))
    if f.event_id:
        where.append(d.event_id == f.event_id)
    if f.since is not None:
        where.append(d.created >= f.since)
    if f.until is not None:
        where.append(d.created < f.until)
    if f.object_id or f.customer_id or f.customer_email is not None:
        where.append(d.event_id.in_(_events_matching(merchant_id, f)))
    return where


def _events_matching(merchant_id: str, f: Filters) -> Select[tuple[str]]:
    """The ids of the events about this object or customer (events name customers by merchant_user_id)."""
    matching = select(events.c.id).where(events.c.merchant_id == merchant_id)
    if f.object_id:
        matching = matching.where(events.c.object_id == f.object_id)
    if f.customer_id:
        matching = matching.where(events.c.customer_id == f.customer_id)
    if f.customer_email is not None:
        matching = matching.where(
            events.c.customer_id.in_(customers_with_email(merchant_id, f.customer_email))
        )
    return matching


def customers_with_email(merchant_id: str, email: str) -> Select[tuple[str]]:
    """The merchant_user_ids of the stored customers with this email."""
    o = objects.c
    return select(o.public_id).where(o.merchant_id == merchant_id, o.kind == "customer", o.email == email)


async def page(db: Database, merchant_id: str, f: Filters, limit: int, before: str | None) -> list[Delivery]:
    """Newest first by id (time-ordered), so a page boundary stays put while new deliveries arrive."""
    query = select(*_LISTED).where(*_conditions(merchant_id, f)).order_by(deliveries.c.id.desc()).limit(limit)
    if before:
        query = query.where(deliveries.c.id < before)
    async with db.read() as conn:
        return [Delivery.from_row(r) for r in (await conn.execute(query)).mappings()]


async def statuses_of_events(
    db: Database, merchant_id: str, event_ids: list[str]
) -> dict[str, dict[str, int]]:
    """How many deliveries of each status each of these events made, on every route:
    ``{event_id: {status: n}}``."""
    if not event_ids:
        return {}
    d = deliveries.c
    query = (
        select(d.event_id, d.status, func.count())
        .where(d.merchant_id == merchant_id, d.event_id.in_(event_ids))
        .group_by(d.event_id, d.status)
    )
    found: dict[str, dict[str, int]] = {}
    async with db.read() as conn:
        for event_id, status, n in (await conn.execute(query)).all():
            found.setdefault(event_id, {})[status] = int(n)
    return found


async def get(db: Database, merchant_id: str, delivery_id: str) -> tuple[Delivery, list[Attempt]]:
    """A delivery with its attempts in order."""
    async with db.read() as conn:
        query = select(*_LISTED, bodies.payload()).where(
            deliveries.c.id == delivery_id, *records.scoped(deliveries, merchant_id)
        )
        found = (await conn.execute(query)).mappings().first()
        if found is None:
            raise NotFound(f"delivery {delivery_id} not found")
        row = Delivery.from_row(found)
        tried = (
            await conn.execute(
                select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.number)
            )
        ).mappings()
        return row, [Attempt.from_row(a) for a in tried]


async def resend(db: Database, merchant_id: str, delivery_id: str, now: float) -> Delivery:
    """A finished delivery is due again (held if its route is halted), with a fresh attempt budget; only
    where deliveries can be made (``routes.deliverable``)."""
    async with db.write() as conn:
        row = await records.fetch(conn, records.DELIVERIES, merchant_id, delivery_id)
        if row.status in (DeliveryStatus.PENDING, DeliveryStatus.HELD):
            raise Conflict(f"delivery {delivery_id} is {row.status}; only finished deliveries can be resent")
        if row.status == DeliveryStatus.FAILED and row.attempts == 0:
            # Its stored body is the untransformed envelope: sending it could leak what the route's
            # transformation removes.
            raise Conflict(
                f"delivery {delivery_id} was never sent because the route's transformation failed "
                f"({row.last_error}); fix the transformation and replay the event"
            )
        # A deleted or disabled route, or a disabled target, receives nothing: Invalid.
        route = await route_store.deliverable(conn, merchant_id, row.route_id)
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                status=route.due_status,
                next_attempt_at=now,
                completed=None,
                attempt_base=deliveries.c.attempts,
                sequence=None,  # resent out of band: outside its key's order (docs/ordering.md)
            )
        )
        return await records.fetch(conn, records.DELIVERIES, merchant_id, delivery_id)
