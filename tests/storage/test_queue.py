"""The queue's claim: due deliveries, oldest first, leased; targets the worker cannot send to are left."""

from __future__ import annotations

import time

import sqlalchemy as sa

from hookline.storage import queue, tables
from hookline.storage.database import Database
from hookline.storage.tables import deliveries, routes
from support.deliveries import two_targets_three_events


async def test_a_claim_leaves_the_deliveries_of_skipped_targets_in_the_queue(db_url: str) -> None:
    targets = await two_targets_three_events(db_url)
    db = Database(db_url)
    try:
        now = time.time() + 1
        first = await queue.claim(db, now, 10, 60, skip_targets=[targets["stalled"]])
        assert {j.target_id for j in first} == {targets["healthy"]}
        assert len(first) == 3
        rest = await queue.claim(db, now, 10, 60)  # the leased ones are not due; the skipped ones are
        assert {j.target_id for j in rest} == {targets["stalled"]}
        assert len(rest) == 3
    finally:
        await db.close()


async def test_a_handed_back_delivery_is_due_again_only_while_its_lease_holds(db_url: str) -> None:
    await two_targets_three_events(db_url)
    db = Database(db_url)
    try:
        now = time.time() + 1
        [mine] = await queue.claim(db, now, 1, lease_s=5)
        assert mine.leased_until == now + 5
        # Its lease runs out and another worker claims everything (this one included).
        theirs = {j.delivery_id: j for j in await queue.claim(db, now + 10, 10, lease_s=60)}
        assert len(theirs) == 6 and theirs[mine.delivery_id].leased_until == now + 70
        await queue.release(db, [(mine, now + 20)])  # too late: the lease is theirs now
        assert await queue.claim(db, now + 21, 10, 60) == []
        await queue.release(db, [(theirs[mine.delivery_id], now + 20)])  # theirs to give back
        assert [j.delivery_id for j in await queue.claim(db, now + 21, 10, 60)] == [mine.delivery_id]
    finally:
        await db.close()


async def test_a_lease_is_extended_only_while_it_is_still_the_claim_s(db_url: str) -> None:
    await two_targets_three_events(db_url)
    db = Database(db_url)
    try:
        now = time.time() + 1
        mine = await queue.claim(db, now, 2, lease_s=5)
        extended = await queue.extend(db, mine, now + 30)  # a worker that waits to record them
        assert extended == {job.delivery_id: now + 30 for job in mine}
        # Past the first lease, another worker finds only the deliveries nobody holds.
        theirs = await queue.claim(db, now + 10, 10, lease_s=60)
        assert {j.delivery_id for j in theirs}.isdisjoint(extended)
        assert len(theirs) == 4
        # A lease that is not the row's any more (taken over, or extended since) is not extended.
        assert await queue.extend(db, mine, now + 90) == {}
        assert await queue.extend(db, theirs[:1], now + 90) == {theirs[0].delivery_id: now + 90}
    finally:
        await db.close()


async def _statuses(db: Database) -> dict[str, list[str]]:
    """The deliveries' statuses by target id."""
    found: dict[str, list[str]] = {}
    async with db.read() as conn:
        for target_id, status in await conn.execute(sa.select(deliveries.c.target_id, deliveries.c.status)):
            found.setdefault(target_id, []).append(status)
    return found


async def test_a_claim_sends_nothing_of_a_route_stopped_after_its_deliveries_were_stored(db_url: str) -> None:
    """The outcome of an ingest that read its routes just before a change committed (PostgreSQL): pending
    deliveries of a route already disabled, halted, or whose target is disabled. The claim holds or cancels
    them instead of handing them out."""
    targets = await two_targets_three_events(db_url)
    db = Database(db_url)
    try:
        async with db.write() as conn:  # the states changed, as if after the deliveries were stored
            r = routes.c
            await conn.execute(
                sa.update(routes).where(r.target_id == targets["stalled"]).values(state="disabled")
            )
            await conn.execute(
                sa.update(routes).where(r.target_id == targets["healthy"]).values(state="halted")
            )
        assert await queue.claim(db, time.time() + 1, 10, 60) == []
        assert await _statuses(db) == {
            targets["stalled"]: ["canceled"] * 3,
            targets["healthy"]: ["held"] * 3,
        }
    finally:
        await db.close()


async def test_a_claim_cancels_the_deliveries_to_a_target_disabled_since(db_url: str) -> None:
    targets = await two_targets_three_events(db_url)
    db = Database(db_url)
    try:
        async with db.write() as conn:
            await conn.execute(
                sa.update(tables.targets)
                .where(tables.targets.c.id == targets["stalled"])
                .values(enabled=False)
            )
        claimed = await queue.claim(db, time.time() + 1, 10, 60)
        assert {j.target_id for j in claimed} == {targets["healthy"]} and len(claimed) == 3
        assert (await _statuses(db))[targets["stalled"]] == ["canceled"] * 3
    finally:
        await db.close()
