"""Retention: deleting old finished deliveries (with their attempts, and their bodies once no delivery
names them), old events and the earlier versions of objects that no event needs any more, a small batch at
a time.

Each batch is found with a read (which never blocks a writer, on SQLite either) and deleted by primary key in
a short transaction of its own, so a purge never holds the write lock for long and delivery carries on
between batches. The delete repeats the conditions: a delivery resent between the read and the delete is
open again and stays. Pending and held deliveries are never deleted, nor an event that still has any
delivery; attempts go with their delivery, in the same transaction.

There is no index on the deliveries' completion time, so finding a batch scans the table until it has
``limit`` rows; the oldest rows come first in the table's order, so that stays cheap while there is much to
purge, and a run that finds nothing scans once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, exists, func, or_, select, tuple_

from hookline.core.models import DeliveryStatus
from hookline.storage import bodies
from hookline.storage.database import Database
from hookline.storage.tables import attempts, deliveries, events, object_versions

FINISHED = (DeliveryStatus.SUCCESS, DeliveryStatus.FAILED, DeliveryStatus.CANCELED)


def _old_delivery(cutoff: float) -> list[ColumnElement[bool]]:
    d = deliveries.c
    # A delivery ages from when it finished (a resend yesterday of an old one keeps it). Every way of
    # finishing sets ``completed``, and comparing the bare column lets the index on it find the batch.
    return [d.completed < cutoff, d.status.in_(FINISHED)]


async def old_deliveries(db: Database, cutoff: float, limit: int) -> list[str]:
    """Ids of up to ``limit`` finished deliveries that finished before ``cutoff``."""
    query = select(deliveries.c.id).where(*_old_delivery(cutoff)).limit(limit)
    async with db.read() as conn:
        return list((await conn.execute(query)).scalars())


async def purge_deliveries(db: Database, delivery_ids: Sequence[str], cutoff: float) -> tuple[int, int]:
    """Delete those deliveries that are still finished and old, and their attempts: (deliveries, attempts)."""
    if not delivery_ids:
        return 0, 0
    async with db.write() as conn:
        found = await conn.execute(
            delete(deliveries)
            .where(deliveries.c.id.in_(list(delivery_ids)), *_old_delivery(cutoff))
            .returning(deliveries.c.id, deliveries.c.body_id)
        )
        gone = found.all()
        if not gone:
            return 0, 0
        result = await conn.execute(delete(attempts).where(attempts.c.delivery_id.in_([g.id for g in gone])))
        await bodies.purge(conn, sorted({g.body_id for g in gone}))
    return len(gone), result.rowcount


def _orphan_event(cutoff: float) -> list[ColumnElement[bool]]:
    e = events.c
    has_delivery = exists().where(deliveries.c.merchant_id == e.merchant_id, deliveries.c.event_id == e.id)
    return [e.received < cutoff, ~has_delivery]


async def old_events(db: Database, cutoff: float, limit: int) -> list[tuple[str, str]]:
    """(merchant, id) of up to ``limit`` events received before ``cutoff`` that have no delivery left."""
    query = select(events.c.merchant_id, events.c.id).where(*_orphan_event(cutoff)).limit(limit)
    async with db.read() as conn:
        return [(row.merchant_id, row.id) for row in await conn.execute(query)]


async def purge_events(db: Database, keys: Sequence[tuple[str, str]], cutoff: float) -> int:
    """Delete those events that are still old and without deliveries; the number deleted."""
    by_merchant: defaultdict[str, list[str]] = defaultdict(list)
    for merchant_id, event_id in keys:
        by_merchant[merchant_id].append(event_id)
    deleted = 0
    async with db.write() as conn:
        for merchant_id, event_ids in sorted(by_merchant.items()):
            result = await conn.execute(
                delete(events).where(
                    events.c.merchant_id == merchant_id,
                    events.c.id.in_(event_ids),
                    *_orphan_event(cutoff),
                )
            )
            deleted += result.rowcount
    return deleted


async def count(db: Database, cutoff: float) -> tuple[int, int, int, int]:
    """What a purge at ``cutoff`` would delete now: (deliveries, attempts, events, object versions), for
    ``--dry-run`` and a progress bar. An event counts when every delivery it has is old and finished (it
    goes after them), a version when no event that stays falls in its time span."""
    d, v = deliveries.c, object_versions.c
    old = select(d.id).where(*_old_delivery(cutoff))
    kept = exists().where(
        d.merchant_id == events.c.merchant_id,
        d.event_id == events.c.id,
        or_(d.completed.is_(None), d.completed >= cutoff, d.status.not_in(FINISHED)),
    )
    needed = exists().where(
        events.c.merchant_id == v.merchant_id,
        events.c.received >= v.valid_from,
        events.c.received < v.valid_until,
        or_(events.c.received >= cutoff, kept),
    )
    async with db.read() as conn:
        old_deliveries = (await conn.execute(select(func.count()).select_from(old.subquery()))).scalar_one()
        old_attempts = (
            await conn.execute(select(func.count()).where(attempts.c.delivery_id.in_(old)))
        ).scalar_one()
        old_events = (
            await conn.execute(select(func.count()).where(events.c.received < cutoff, ~kept))
        ).scalar_one()
        old_versions = (
            await conn.execute(select(func.count()).where(v.valid_until < cutoff, ~needed))
        ).scalar_one()
    return old_deliveries, old_attempts, old_events, old_versions


VersionKey = tuple[str, str, str, float]  # merchant, kind, public_id, valid_from


def _unneeded_version(cutoff: float) -> list[ColumnElement[bool]]:
    """A version replaced before ``cutoff`` in whose time span no stored event of its merchant was
    accepted: no payload built later can show it (a later event sees a later version)."""
    v = object_versions.c
    needed = exists().where(
        events.c.merchant_id == v.merchant_id,
        events.c.received >= v.valid_from,
        events.c.received < v.valid_until,
    )
    return [v.valid_until < cutoff, ~needed]


async def old_versions(db: Database, cutoff: float, limit: int) -> list[VersionKey]:
    """Keys of up to ``limit`` earlier versions of objects that no event needs, replaced before ``cutoff``."""
    v = object_versions.c
    query = (
        select(v.merchant_id, v.kind, v.public_id, v.valid_from)
        .where(*_unneeded_version(cutoff))
        .limit(limit)
    )
    async with db.read() as conn:
        return [(r.merchant_id, r.kind, r.public_id, r.valid_from) for r in await conn.execute(query)]


async def purge_versions(db: Database, keys: Sequence[VersionKey], cutoff: float) -> int:
    """Delete those versions that no event needs still; the number deleted."""
    if not keys:
        return 0
    v = object_versions.c
    key = tuple_(v.merchant_id, v.kind, v.public_id, v.valid_from)
    async with db.write() as conn:
        result = await conn.execute(
            delete(object_versions).where(key.in_(list(keys)), *_unneeded_version(cutoff))
        )
    return result.rowcount
