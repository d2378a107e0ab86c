"""Deliveries stored with their bodies: the bytes sent are a row of ``delivery_bodies``, written once for
all the deliveries of an event stored together whose bodies are the same (a fan-out to routes of the same
payload shape), and a delivery names its body (``body_id``).

A body is shared only within the transaction that stores it, and is never changed; retention deletes it
with the last delivery that names it (``retention.purge_deliveries``), so a body can never be missing for a
delivery that exists. Its id is the id of the first delivery stored with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Label, delete, exists, select

from hookline.core.models import NewDelivery
from hookline.storage.database import Conn, insert_rows
from hookline.storage.records import Row
from hookline.storage.tables import deliveries, delivery_bodies


def row(delivery: NewDelivery, body_id: str) -> Row:
    """Its row in ``deliveries``: no attempt made yet."""
    return {
        "id": delivery.id,
        "merchant_id": delivery.merchant_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "route_id": delivery.route_id,
        "target_id": delivery.target_id,
        "status": delivery.status,
        "attempts": 0,
        "attempt_base": 0,
        "next_attempt_at": delivery.next_attempt_at,
        "created": delivery.created,
        "completed": delivery.completed,
        "last_error": delivery.last_error,
        "body_id": body_id,
        "is_test": delivery.is_test,
        "ordering_key": delivery.ordering_key,
        "sequence": delivery.sequence,
    }


async def store(conn: Conn, new: Sequence[NewDelivery]) -> None:
    """Insert the deliveries and their bodies, each distinct body of an event once (caller's transaction)."""
    found: dict[tuple[str, str, bytes], str] = {}
    body_rows: list[Row] = []
    delivery_rows: list[Row] = []
    for delivery in new:
        key = (delivery.merchant_id, delivery.event_id, delivery.payload)
        body_id = found.get(key)
        if body_id is None:
            body_id = found[key] = delivery.id
            body_rows.append(
                {
                    "id": body_id,
                    "merchant_id": delivery.merchant_id,
                    "event_id": delivery.event_id,
                    "body": delivery.payload,
                }
            )
        delivery_rows.append(row(delivery, body_id))
    await insert_rows(conn, delivery_bodies, body_rows)
    await insert_rows(conn, deliveries, delivery_rows)


def payload() -> Label[bytes]:
    """The body of the ``deliveries`` row at hand, as the column ``payload`` (a primary-key look-up)."""
    b = delivery_bodies.c
    return select(b.body).where(b.id == deliveries.c.body_id).scalar_subquery().label("payload")


def unused(body_ids: Sequence[str]) -> ColumnElement[bool]:
    """Those of ``body_ids`` no delivery names any more (found through the deliveries of its event)."""
    b, d = delivery_bodies.c, deliveries.c
    named = exists().where(d.merchant_id == b.merchant_id, d.event_id == b.event_id, d.body_id == b.id)
    return b.id.in_(list(body_ids)) & ~named


async def purge(conn: Conn, body_ids: Sequence[str]) -> int:
    """Delete those of ``body_ids`` that no delivery names any more; how many (caller's transaction)."""
    if not body_ids:
        return 0
    return (await conn.execute(delete(delivery_bodies).where(unused(body_ids)))).rowcount
