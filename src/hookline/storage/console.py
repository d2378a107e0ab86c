"""The operator's reads across merchants: each merchant's health, and which merchant an id belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, exists, func, select

from hookline.core.models import DeliveryStatus, RouteState, RowMap
from hookline.storage.database import Database
from hookline.storage.metrics import floor_id
from hookline.storage.tables import deliveries, events, merchants, routes


@dataclass(slots=True)
class Health:
    """A merchant at a glance: its live routes, how many of them are halted, how many are active but failing
    (their last attempts failed), its recent failed deliveries."""

    routes: int = 0
    halted: int = 0
    failing: int = 0
    retrying: int = 0


@dataclass(frozen=True, slots=True)
class Found:
    """A delivery found by its id or its event's id, with its merchant's name."""

    id: str
    merchant_id: str
    merchant_name: str
    event_id: str
    event_type: str
    route_id: str
    status: DeliveryStatus
    created: float

    @classmethod
    def from_row(cls, row: RowMap) -> Found:
        return cls(
            row["id"],
            row["merchant_id"],
            row["name"],
            row["event_id"],
            row["event_type"],
            row["route_id"],
            DeliveryStatus(row["status"]),
            row["created"],
        )


async def health(db: Database, merchant_ids: list[str], since: float) -> dict[str, Health]:
    """Per merchant: its live routes, how many are halted, and its failed deliveries created since
    ``since`` (zeros for a merchant with none)."""
    found = {m: Health() for m in merchant_ids}
    if not merchant_ids:
        return found
    halted = func.sum(case((routes.c.state == RouteState.HALTED.value, 1), else_=0))
    active_failing = (routes.c.state == RouteState.ACTIVE.value) & (routes.c.failure_streak > 0)
    retrying = func.sum(case((active_failing, 1), else_=0))
    route_query = (
        select(routes.c.merchant_id, func.count(), halted, retrying)
        .where(routes.c.merchant_id.in_(merchant_ids), routes.c.deleted.is_(None))
        .group_by(routes.c.merchant_id)
    )
    failing_query = (
        select(deliveries.c.merchant_id, func.count())
        .where(
            deliveries.c.merchant_id.in_(merchant_ids),
            # Ids are time-ordered: the (merchant, id) index reads only the window's deliveries.
            deliveries.c.id >= floor_id(since),
            deliveries.c.status == DeliveryStatus.FAILED.value,
            deliveries.c.created >= since,
        )
        .group_by(deliveries.c.merchant_id)
    )
    async with db.read() as conn:
        for merchant_id, count, stopped, failing_routes in (await conn.execute(route_query)).all():
            found[merchant_id].routes = count
            found[merchant_id].halted = int(stopped or 0)
            found[merchant_id].retrying = int(failing_routes or 0)
        for merchant_id, count in (await conn.execute(failing_query)).all():
            found[merchant_id].failing = count
    return found


async def deliveries_for(db: Database, wanted: str, limit: int) -> list[Found]:
    """The deliveries whose id is ``wanted``, or whose event's id is (in any merchant), with their
    merchant's name; newest first."""
    d = deliveries.c
    columns = (
        d.id,
        d.merchant_id,
        d.event_id,
        d.event_type,
        d.route_id,
        d.status,
        d.created,
        merchants.c.name,
    )
    by_id = select(*columns).join(merchants, merchants.c.id == d.merchant_id).where(d.id == wanted)
    # Event ids are unique per merchant only: the merchants holding one are found through the events'
    # primary key (merchant, id), one index look-up per merchant, then their deliveries by (merchant, event).
    holding = select(merchants.c.id).where(
        exists().where(events.c.merchant_id == merchants.c.id, events.c.id == wanted)
    )
    by_event = (
        select(*columns)
        .join(merchants, merchants.c.id == d.merchant_id)
        .where(d.merchant_id.in_(holding), d.event_id == wanted)
        .order_by(d.id.desc())
        .limit(limit)
    )
    async with db.read() as conn:
        rows = [Found.from_row(r) for r in (await conn.execute(by_id)).mappings()]
        if not rows:
            rows = [Found.from_row(r) for r in (await conn.execute(by_event)).mappings()]
    return rows
