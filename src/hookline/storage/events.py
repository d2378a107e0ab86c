"""Events and the deliveries they fan out to: written together, once.

An accepted event and all of its deliveries commit in one transaction, so a crash can never leave an
event without its deliveries. Re-posting an event id is answered from what was stored the first time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError

from hookline import catalog
from hookline.errors import Conflict, NotFound
from hookline.models import Event
from hookline.storage import ordering
from hookline.storage.database import Conn, Database, insert_rows
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


def row(event: Event, raw: Mapping[str, Any], now: float) -> Row:
    """The stored form of ``event``, received ``now``; ``raw`` is its body as posted, kept as a hash."""
    obj = event.object
    if catalog.is_operational(event.type):
        object_id, customer_id = obj.get("route_id"), None  # hookline's notices are about a route
    else:
        object_id = obj.get("public_id") or obj.get("merchant_user_id")
        customer_id = obj.get("customer") or obj.get("merchant_user_id")
    return {
        "merchant_id": event.merchant_id,
        "id": event.id,
        "type": event.type,
        "created": event.created,
        "received": now,
        "body_hash": body_hash(raw),
        "object_id": str(object_id) if object_id is not None else None,
        "customer_id": str(customer_id) if customer_id is not None else None,
        "object": event.object,
        "context": event.context,
        # Accepted in spite of its schema (the operator's ``flag`` mode): where and why, as the API shows it.
        "schema_errors": [{"path": p, "detail": d} for p, d in event.schema_errors] or None,
    }


async def notify_workers(conn: Conn) -> None:
    """On PostgreSQL, NOTIFY the workers' channel; the notification leaves when the transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WAKE_CHANNEL})


async def accept(
    conn: Conn,
    batch: Sequence[tuple[Row, list[Row]]],
    taken: Mapping[tuple[str, str], Accepted],
    *,
    notify: bool = True,
) -> list[Accepted]:
    """Store each (event, deliveries) pair unless its id is already ``taken`` (``existing``), in the
    caller's transaction.

    An event taken with a different body is a Conflict: nothing of the batch is stored.
    The deliveries of ordered routes are numbered here, in the order of ``batch``.
    On PostgreSQL the transaction also NOTIFYs the workers (unless ``notify`` is false: nothing new is due
    for them); the notification leaves at commit.
    Two posts of the same new id at once: the loser's transaction fails with a Conflict that ``is_race``
    recognises, and running it again finds the winner's rows.
    """
    # A few statements per batch, never per event: one look-up of the ids already taken (``existing``),
    # one multi-row insert of the new events, one of their deliveries.
    results: list[Accepted] = []
    new_events: list[Row] = []
    new_deliveries: list[Row] = []
    for event, rows in batch:
        found = taken.get((event["merchant_id"], event["id"]))
        if found is not None:
            if found.body_hash != event["body_hash"]:
                # Raised inside the transaction: nothing of the batch is stored.
                raise Conflict(f"event {event['id']} was already accepted with a different body")
            results.append(found)
            continue
        new_events.append(event)
        new_deliveries.extend(rows)
        results.append(Accepted(event["id"], [r["id"] for r in rows], True, event["body_hash"]))
    await insert_rows(conn, events, new_events)
    if new_deliveries:
        await ordering.number(conn, new_deliveries)
        await insert_rows(conn, deliveries, new_deliveries)
        if notify:
            await notify_workers(conn)
    return results


def is_race(exc: Conflict) -> bool:
    """The conflict of two transactions inserting the same new id (not a different body for an old id)."""
    return isinstance(exc.__cause__, IntegrityError)


# Built once (the look-up runs for every ingest request).
_TAKEN = select(events.c.id, events.c.body_hash).where(
    events.c.merchant_id == bindparam("merchant_id"), events.c.id.in_(bindparam("ids", expanding=True))
)


async def existing(conn: Conn, batch: Sequence[Row]) -> dict[tuple[str, str], Accepted]:
    """The events of ``batch`` already stored, with their deliveries, keyed by (merchant, id)."""
    by_merchant: dict[str, list[str]] = {}
    for event in batch:
        by_merchant.setdefault(event["merchant_id"], []).append(event["id"])
    found: dict[tuple[str, str], Accepted] = {}
    for merchant_id, ids in by_merchant.items():
        taken = await conn.execute(_TAKEN, {"merchant_id": merchant_id, "ids": ids})
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


async def get(db: Database, merchant_id: str, event_id: str) -> Row:
    query = select(events).where(events.c.merchant_id == merchant_id, events.c.id == event_id)
    async with db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"event {event_id} not found")
    return dict(row)


async def page(
    db: Database,
    merchant_id: str,
    limit: int,
    before: tuple[float, str] | None,
    event_types: Sequence[str] = (),
    flagged: bool | None = None,
) -> list[Row]:
    """Newest received first; ``before`` is (received, id) of the previous page's last row; only the
    ``event_types`` given (concrete types) when there are any; only the events accepted in spite of their
    schema (``flagged``), or only the others."""
    query = select(events).where(events.c.merchant_id == merchant_id)
    if event_types:
        query = query.where(events.c.type.in_(event_types))
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
        return [dict(r) for r in (await conn.execute(query)).mappings()]
