"""Events and the deliveries they fan out to: written together, once.

An accepted event and all of its deliveries commit in one transaction, so a crash can never leave an
event without its deliveries. Re-posting an event id is answered from what was stored the first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hookline.errors import Conflict, NotFound
from hookline.storage.database import Database
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


async def accept(db: Database, batch: Sequence[tuple[Row, list[Row]]]) -> list[Accepted]:
    """Store each (event, deliveries) pair unless its id is already taken; one transaction for all.

    On PostgreSQL the transaction also NOTIFYs the workers; the notification leaves at commit.
    """
    try:
        return await _accept(db, batch)
    except Conflict as exc:
        if not _is_integrity(exc):
            raise
        # Two posts of the same new id raced; the loser re-runs and finds the winner's rows.
        return await _accept(db, batch)


async def _accept(db: Database, batch: Sequence[tuple[Row, list[Row]]]) -> list[Accepted]:
    results: list[Accepted] = []
    new_deliveries: list[Row] = []
    async with db.write() as conn:
        for event, rows in batch:
            found = await _existing(conn, event["merchant_id"], event["id"])
            if found is not None:
                if found.body_hash != event["body_hash"]:
                    # Raised inside the transaction: nothing of the batch is stored.
                    raise Conflict(f"event {event['id']} was already accepted with a different body")
                results.append(found)
                continue
            await conn.execute(insert(events).values(**event))
            new_deliveries.extend(rows)
            results.append(Accepted(event["id"], [r["id"] for r in rows], True, event["body_hash"]))
        if new_deliveries:
            await conn.execute(insert(deliveries), new_deliveries)
            if db.is_postgres:
                await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WAKE_CHANNEL})
    return results


def _is_integrity(exc: BaseException) -> bool:
    return isinstance(exc.__cause__, IntegrityError)


async def _existing(conn: AsyncConnection, merchant_id: str, event_id: str) -> Accepted | None:
    body_hash = (
        await conn.execute(
            select(events.c.body_hash).where(events.c.merchant_id == merchant_id, events.c.id == event_id)
        )
    ).scalar_one_or_none()
    if body_hash is None:
        return None
    ids = (
        await conn.execute(
            select(deliveries.c.id)
            .where(deliveries.c.merchant_id == merchant_id, deliveries.c.event_id == event_id)
            .order_by(deliveries.c.id)
        )
    ).scalars()
    return Accepted(event_id, list(ids), False, body_hash)


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
    event_type: str | None = None,
) -> list[Row]:
    """Newest received first; ``before`` is (received, id) of the previous page's last row."""
    query = select(events).where(events.c.merchant_id == merchant_id)
    if event_type:
        query = query.where(events.c.type == event_type)
    if before is not None:
        received, last_id = before
        query = query.where(
            (events.c.received < received) | ((events.c.received == received) & (events.c.id < last_id))
        )
    query = query.order_by(events.c.received.desc(), events.c.id.desc()).limit(limit)
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(query)).mappings()]
