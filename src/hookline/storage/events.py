"""Events and the deliveries they fan out to: written together, once.

An accepted event and all of its deliveries commit in one transaction, so a crash can never leave an
event without its deliveries. Re-posting an event id is answered from what was stored the first time.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from hookline.core import catalog
from hookline.core.errors import Conflict, NotFound
from hookline.core.models import DeliveryStatus, Event, NewDelivery, StoredEvent
from hookline.storage import bodies, ordering
from hookline.storage.database import Conn, Database, insert_rows
from hookline.storage.deliveries import customers_with_email
from hookline.storage.lists import one_of
from hookline.storage.records import Row
from hookline.storage.tables import deliveries, events

WAKE_CHANNEL = "hookline_work"


@dataclass(frozen=True, slots=True)
class Accepted:
    """One event as stored: new, or found from an earlier post (then its stored body hash)."""

    event_id: str
    delivery_ids: list[str]
    created: bool
    body_hash: str


def body_hash(raw: Mapping[str, Any]) -> str:
    """What a later post of the same event id is compared by: equal for the same body in any key order."""
    return hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be stored: what it is, when it was received, the hash of its body as posted (what
    a later post of the same id is compared by), and the object and customer it is indexed under."""

    event: Event
    received: float
    body_hash: str
    object_id: str | None
    customer_id: str | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.event.merchant_id, self.event.id)

    def row(self) -> Row:
        """Its row in ``events``."""
        event = self.event
        return {
            "merchant_id": event.merchant_id,
            "id": event.id,
            "type": event.type,
            "created": event.created,
            "received": self.received,
            "body_hash": self.body_hash,
            "object_id": self.object_id,
            "customer_id": self.customer_id,
            "object": event.object,
            "context": event.context,
            # Accepted in spite of its schema (the operator's ``flag`` mode): where and why, as the API shows.
            "schema_errors": [{"path": p, "detail": d} for p, d in event.schema_errors] or None,
        }


def new(event: Event, raw: Mapping[str, Any], now: float) -> NewEvent:
    """``event`` received ``now``; ``raw`` is its body as posted, kept as a hash."""
    obj = event.object
    if catalog.is_operational(event.type):
        object_id, customer_id = obj.get("route_id"), None  # hookline's notices are about a route
    else:
        object_id = obj.get("public_id") or obj.get("merchant_user_id")
        customer_id = obj.get("customer") or obj.get("merchant_user_id")
    return NewEvent(
        event,
        now,
        body_hash(raw),
        str(object_id) if object_id is not None else None,
        str(customer_id) if customer_id is not None else None,
    )


async def notify_workers(conn: Conn) -> None:
    """On PostgreSQL, NOTIFY the workers' channel; the notification leaves when the transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WAKE_CHANNEL})


async def accept(
    conn: Conn,
    batch: Sequence[tuple[NewEvent, list[NewDelivery]]],
    taken: Mapping[tuple[str, str], Accepted],
    *,
    notify: bool = True,
    hand: Callable[[list[NewDelivery]], int] | None = None,
) -> list[Accepted]:
    """Store each (event, deliveries) pair unless its id is already ``taken`` (``existing``), in the
    caller's transaction.

    An event taken with a different body is a Conflict: nothing of the batch is stored.
    The deliveries of ordered routes are numbered here, in the order of ``batch``.
    ``hand`` is offered the numbered deliveries that may go at once (``ordering.free_firsts``) before they
    are stored: it leases those it takes, and says how many it took.
    On PostgreSQL the transaction also NOTIFYs the workers (unless ``notify`` is false and every numbered
    delivery due was handed: nothing new is due for them); the notification leaves at commit.
    Two posts of the same new id at once: the loser's transaction fails with a Conflict that ``is_race``
    recognises, and running it again finds the winner's rows.
    """
    # A few statements per batch, never per event: one look-up of the ids already taken (``existing``),
    # one multi-row insert of the new events, one of their deliveries.
    results: list[Accepted] = []
    new_events: list[Row] = []  # their rows
    new_deliveries: list[NewDelivery] = []
    for event, rows in batch:
        found = taken.get(event.key)
        if found is not None:
            if found.body_hash != event.body_hash:
                # Raised inside the transaction: nothing of the batch is stored.
                raise Conflict(f"event {event.event.id} was already accepted with a different body")
            results.append(found)
            continue
        new_events.append(event.row())
        new_deliveries.extend(rows)
        results.append(Accepted(event.event.id, [r.id for r in rows], True, event.body_hash))
    await insert_rows(conn, events, new_events)
    if new_deliveries:
        await ordering.number(conn, new_deliveries)
        numbered = [d for d in new_deliveries if d.sequence is not None]
        taken_over = 0
        if hand is not None and numbered:
            taken_over = hand(await ordering.free_firsts(conn, numbered))
        await bodies.store(conn, new_deliveries)
        waiting = sum(d.status == DeliveryStatus.PENDING for d in numbered) > taken_over
        if notify or waiting:
            await notify_workers(conn)
    return results


def is_race(exc: Conflict) -> bool:
    """The conflict of two transactions inserting the same new id (not a different body for an old id)."""
    return isinstance(exc.__cause__, IntegrityError)


@functools.cache
def _taken(dialect_name: str) -> Any:
    """Built once per engine (the look-up runs for every ingest request; ``lists``)."""
    return select(events.c.id, events.c.body_hash).where(
        events.c.merchant_id == bindparam("merchant_id"), one_of(events.c.id, "ids", dialect_name)
    )


async def existing(conn: Conn, batch: Sequence[NewEvent]) -> dict[tuple[str, str], Accepted]:
    """The events of ``batch`` already stored, with their deliveries, keyed by (merchant, id)."""
    by_merchant: dict[str, list[str]] = {}
    for event in batch:
        by_merchant.setdefault(event.event.merchant_id, []).append(event.event.id)
    found: dict[tuple[str, str], Accepted] = {}
    for merchant_id, ids in by_merchant.items():
        taken = await conn.execute(_taken(conn.dialect.name), {"merchant_id": merchant_id, "ids": ids})
        hashes: dict[str, str] = {event_id: body_hash for event_id, body_hash in taken.all()}
        if not hashes:
            continue
        sent: dict[str, list[str]] = {event_id: [] for event_id in hashes}
        # In the first answer's order: ingestion makes an event's deliveries in the order of their routes'
        # ids (``routes.for_ingest``), in one millisecond, so their own ids differ only in a random part.
        rows = await conn.execute(
            select(deliveries.c.event_id, deliveries.c.id)
            .where(deliveries.c.merchant_id == merchant_id, deliveries.c.event_id.in_(list(hashes)))
            .order_by(deliveries.c.route_id, deliveries.c.id)
        )
        for event_id, delivery_id in rows.all():
            sent[event_id].append(delivery_id)
        for event_id, body_hash in hashes.items():
            found[(merchant_id, event_id)] = Accepted(event_id, sent[event_id], False, body_hash)
    return found


@dataclass(frozen=True, slots=True)
class About:
    """Which events: about a customer (by merchant_user_id, or by the stored customer's email, lower-cased),
    received in [since, until)."""

    customer_id: str | None = None
    customer_email: str | None = None
    since: float | None = None
    until: float | None = None


def _about(merchant_id: str, about: About) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if about.customer_id:
        where.append(events.c.customer_id == about.customer_id)
    if about.customer_email is not None:
        where.append(events.c.customer_id.in_(customers_with_email(merchant_id, about.customer_email)))
    if about.since is not None:
        where.append(events.c.received >= about.since)
    if about.until is not None:
        where.append(events.c.received < about.until)
    return where


async def get(db: Database, merchant_id: str, event_id: str) -> StoredEvent:
    query = select(events).where(events.c.merchant_id == merchant_id, events.c.id == event_id)
    async with db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"event {event_id} not found")
    return StoredEvent.from_row(row)


async def customers_of(db: Database, merchant_id: str, event_ids: Sequence[str]) -> dict[str, str]:
    """The customer each of these events is about (event id -> customer id), for those about one."""
    if not event_ids:
        return {}
    query = select(events.c.id, events.c.customer_id).where(
        events.c.merchant_id == merchant_id,
        events.c.id.in_(sorted(set(event_ids))),
        events.c.customer_id.is_not(None),
    )
    async with db.read() as conn:
        return {event_id: customer for event_id, customer in (await conn.execute(query)).all()}


async def page(
    db: Database,
    merchant_id: str,
    limit: int,
    before: tuple[float, str] | None,
    event_types: Sequence[str] = (),
    flagged: bool | None = None,
    about: About | None = None,
) -> list[StoredEvent]:
    """Newest received first; ``before`` is (received, id) of the previous page's last row; only the
    ``event_types`` given (concrete types) when there are any; only the events accepted in spite of their
    schema (``flagged``), or only the others; only those ``about`` a customer, received in a time range."""
    query = select(events).where(events.c.merchant_id == merchant_id)
    if event_types:
        query = query.where(events.c.type.in_(event_types))
    if about is not None:
        query = query.where(*_about(merchant_id, about))
    if flagged is not None:
        errors = events.c.schema_errors
        query = query.where(errors.is_not(None) if flagged else errors.is_(None))
    if before is not None:
        received, last_id = before
        query = query.where(
            (events.c.received < received) | ((events.c.received == received) & (events.c.id < last_id))
        )
    query = query.order_by(events.c.received.desc(), events.c.id.desc()).limit(limit)
    async with db.read() as conn:
        return [StoredEvent.from_row(r) for r in (await conn.execute(query)).mappings()]
