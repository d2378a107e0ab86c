"""The queue's claim: due deliveries, oldest first, leased; targets the worker cannot send to are left."""

from __future__ import annotations

import time

from hookline.storage import queue
from hookline.storage.database import Database
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
