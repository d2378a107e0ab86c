"""Ingestion hands new deliveries straight to the worker of its process, stored leased: no claim reads them
back, and should the process die before sending them, any worker claims them once the lease runs out."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.core.errors import Conflict
from hookline.core.models import Job
from hookline.service import ingest
from hookline.service.context import Context
from hookline.service.worker import Worker, WorkerSettings
from hookline.storage import queue
from hookline.storage.database import Database
from hookline.storage.wakeup import Wakeup
from support.pipeline import add_route, order_event

LEASE_S = 30.0


class Dispatch:
    """A worker that grants up to ``room`` and keeps what it is handed."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.lease_s = LEASE_S
        self.settled: list[tuple[int, list[Job]]] = []

    def reserve(self, wanted: int) -> int:
        granted = min(wanted, self.room)
        self.room -= granted
        return granted

    def settle(self, reserved: int, jobs: list[Job]) -> None:
        self.room += reserved
        self.settled.append((reserved, jobs))


async def _two_routes(db_url: str) -> tuple[str, dict[str, Any]]:
    """A merchant with two routes for orders; its id, and the first target."""
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        target, _ = await add_route(client, "https://one.example/hook", ["order.*"])
        await add_route(client, "https://two.example/hook", ["order.*"])
        target |= await client.ok("GET", f"/v1/targets/{target['id']}/signing-key")
    return str(merchant["id"]), target


@contextlib.asynccontextmanager
async def _ingesting(db: Database, room: int) -> AsyncIterator[tuple[Context, Dispatch]]:
    """Ingestion on ``db`` with a worker that has ``room``; the database is closed at the end."""
    dispatch = Dispatch(room=room)
    try:
        yield Context(db=db, wakeup=Wakeup(), dispatch=dispatch), dispatch
    finally:
        await db.close()


async def test_the_deliveries_it_has_room_for_go_to_the_worker_leased(db_url: str) -> None:
    merchant_id, target = await _two_routes(db_url)
    db = Database(db_url)
    async with _ingesting(db, room=1) as (ctx, dispatch):
        before = time.time()
        [accepted] = await ingest.ingest(ctx, merchant_id, [order_event("e1")])
        assert len(accepted.deliveries) == 2 and dispatch.room == 1
        [(reserved, [job])] = dispatch.settled
        assert reserved == 1 and job.delivery_id in accepted.deliveries
        assert job.leased_until >= before + LEASE_S and (job.attempts, job.budget_used) == (0, 0)
        if job.target_id == target["id"]:  # the first route's (the other's URL and key differ)
            assert job.url == target["url"] and job.keys == (target["signing_key"].encode(),)
        else:
            assert job.url == "https://two.example/hook" and len(job.keys) == 1
        # The other one waits in the queue for a claim; the handed one is leased, like a claimed one.
        now = time.time() + 1
        [claimed] = await queue.claim(db, now, 10, 60)
        assert claimed.delivery_id != job.delivery_id
        assert claimed.payload == job.payload  # the same body, both routes shaped alike
        # The worker died without sending it: once the lease is over it is claimed like any other.
        [again] = await queue.claim(db, job.leased_until + 1, 10, 60)
        assert again.delivery_id == job.delivery_id
        assert (again.url, again.keys, again.timeout_s, again.retry) == (
            job.url,
            job.keys,
            job.timeout_s,
            job.retry,
        )

        # The same event again creates nothing, so nothing is handed over.
        await ingest.ingest(ctx, merchant_id, [order_event("e1")])
        assert dispatch.settled[-1][1] == [] and dispatch.room == 1


async def test_a_failed_ingestion_gives_the_room_back_and_hands_nothing(db_url: str) -> None:
    merchant_id, _ = await _two_routes(db_url)
    db = Database(db_url)
    async with _ingesting(db, room=10) as (ctx, dispatch):
        await ingest.ingest(ctx, merchant_id, [order_event("e1")])
        other = order_event("e1")
        other["data"]["object"]["total"] = "99.00"
        with pytest.raises(Conflict):
            await ingest.ingest(ctx, merchant_id, [order_event("e2"), other])
        # e2's two routes were reserved (the re-posted e1 makes no delivery), and given back.
        assert dispatch.settled[-1] == (2, []) and dispatch.room == 10
        # e2 was not stored either: nothing is due but e1's two handed (leased) deliveries.
        assert await queue.claim(db, time.time() + 1, 10, 60) == []


async def test_the_worker_grants_only_its_free_room_and_nothing_once_stopping(db_url: str) -> None:
    merchant_id, _ = await _two_routes(db_url)
    db = Database(db_url)
    worker = Worker(db, sender=None, wakeup=Wakeup(), settings=WorkerSettings(concurrency=3))  # type: ignore[arg-type]
    try:
        assert worker.reserve(2) == 2 and worker.reserve(5) == 1 and worker.reserve(1) == 0
        worker.settle(2, [])
        assert worker.reserve(4) == 2
        worker.settle(3, [])
        # Stopping: no room, and what ingestion hands over anyway goes back to the queue at once.
        dispatch = Dispatch(room=2)
        await ingest.ingest(
            Context(db=db, wakeup=Wakeup(), dispatch=dispatch), merchant_id, [order_event("e1")]
        )
        [(_, jobs)] = dispatch.settled
        worker.stop()
        assert worker.reserve(1) == 0
        worker.settle(0, jobs)
        await worker.run()  # returns at once (stopped), after the hand-back it started
        claimed = await queue.claim(db, time.time() + 1, 10, 60)
        assert sorted(j.delivery_id for j in claimed) == sorted(j.delivery_id for j in jobs)
    finally:
        await db.close()


async def test_room_given_back_unused_wakes_a_claim_round_waiting_for_room(db_url: str) -> None:
    db = Database(db_url)
    worker = Worker(db, sender=None, wakeup=Wakeup(), settings=WorkerSettings(concurrency=2))  # type: ignore[arg-type]
    try:
        assert worker.reserve(2) == 2  # ingestion took all the room
        waiting = asyncio.create_task(worker._claim_round())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # no room: it waits for some
        worker.settle(2, [])  # the transaction failed: nothing to start, all the room is free again
        await asyncio.wait_for(waiting, 5)
    finally:
        await db.close()


async def _ordered_route(db_url: str) -> str:
    """A merchant with one route ordered by customer; its id."""
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        await add_route(client, "https://one.example/hook", ["order.*"], ordering="customer")
    return str(merchant["id"])


def _for(event_id: str, customer: str) -> dict[str, Any]:
    event = order_event(event_id)
    event["data"]["object"] |= {"public_id": f"ord-{event_id}", "customer": customer}
    return event


async def test_an_ordered_delivery_goes_at_once_only_when_nothing_of_its_key_is_open(db_url: str) -> None:
    merchant_id = await _ordered_route(db_url)
    db = Database(db_url)
    async with _ingesting(db, room=10) as (ctx, dispatch):
        # Two keys, two events each: the first of each key is handed over, the second waits behind it.
        batch = [_for("a1", "cust-a"), _for("b1", "cust-b"), _for("a2", "cust-a"), _for("b2", "cust-b")]
        accepted = await ingest.ingest(ctx, merchant_id, batch)
        by_event = {a.id: a.deliveries[0] for a in accepted}
        [(reserved, jobs)] = dispatch.settled
        assert reserved == 2 and {j.delivery_id for j in jobs} == {by_event["a1"], by_event["b1"]}
        assert {(j.ordering_key, j.sequence) for j in jobs} == {("cust-a", 1), ("cust-b", 1)}
        assert all(("Hookline-Sequence", "1") in j.headers for j in jobs)
        now = time.time() + 1
        assert await queue.claim(db, now, 10, 60) == []  # the second ones wait for the first
        # A later event of a key whose first is still in flight waits too; a new key goes at once.
        later = await ingest.ingest(ctx, merchant_id, [_for("a3", "cust-a"), _for("c1", "cust-c")])
        [(_, [job])] = dispatch.settled[1:]
        assert job.delivery_id == later[1].deliveries[0] and (job.ordering_key, job.sequence) == ("cust-c", 1)
        # The worker died: once the leases are over the first ones are claimed, and only they.
        again = await queue.claim(db, jobs[0].leased_until + 1, 10, 60)
        assert {j.delivery_id for j in again} == {by_event["a1"], by_event["b1"], job.delivery_id}


async def test_with_no_room_an_ordered_delivery_waits_for_a_claim(db_url: str) -> None:
    merchant_id = await _ordered_route(db_url)
    db = Database(db_url)
    async with _ingesting(db, room=0) as (ctx, dispatch):
        [accepted] = await ingest.ingest(ctx, merchant_id, [_for("a1", "cust-a")])
        assert dispatch.settled == [(0, [])]
        [claimed] = await queue.claim(db, time.time() + 1, 10, 60)
        assert claimed.delivery_id == accepted.deliveries[0] and claimed.sequence == 1
