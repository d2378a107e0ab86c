"""``hookline listen`` sessions in the database: which routes have a listener connected, to any API process.

A session is a row its API process keeps fresh (``beat``) while the stream is open and deletes when it
closes; one not seen for ``LIVE_S`` (a process that died) no longer counts. Workers leave the deliveries of
a route with a live session to the process holding it (``live_routes``); connecting makes the route's
deliveries waiting for a retry due at once, so they arrive now rather than at their next retry.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from hookline.core.models import DeliveryStatus
from hookline.storage.database import Database
from hookline.storage.tables import deliveries, listeners

LIVE_S = 15.0  # a session not seen for this long is gone (its process beats every ``BEAT_S``)
BEAT_S = 5.0


async def connect(db: Database, session_id: str, route_id: str, now: float) -> int:
    """Store the session and make the route's deliveries waiting for a retry due now; how many were."""
    d = deliveries.c
    async with db.write() as conn:
        await conn.execute(
            insert(listeners).values(id=session_id, route_id=route_id, connected=now, seen=now)
        )
        # A delivery not attempted yet whose ``next_attempt_at`` is ahead is leased (claimed): left alone.
        found = await conn.execute(
            update(deliveries)
            .where(
                d.route_id == route_id,
                d.status == DeliveryStatus.PENDING,
                d.attempts > 0,
                d.next_attempt_at > now,
            )
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(found.rowcount or 0)


async def beat(db: Database, session_id: str, now: float) -> None:
    async with db.write() as conn:
        await conn.execute(update(listeners).where(listeners.c.id == session_id).values(seen=now))


async def disconnect(db: Database, session_id: str) -> None:
    async with db.write() as conn:
        await conn.execute(delete(listeners).where(listeners.c.id == session_id))


async def live_routes(db: Database, now: float) -> set[str]:
    """The routes some API process has a listener of now."""
    async with db.read() as conn:
        found = await conn.execute(
            select(listeners.c.route_id).where(listeners.c.seen > now - LIVE_S).distinct()
        )
        return set(found.scalars())
