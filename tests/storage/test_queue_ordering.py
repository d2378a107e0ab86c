"""Per-key ordering in the queue: numbers given at ingest, and a claim that takes only the first of a key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.core import autohalt_policy, ids
from hookline.core.models import DeliveryStatus, Job, NewDelivery, Outcome, Result
from hookline.storage import bodies, ordering, queue
from hookline.storage.database import Conn, Database
from hookline.storage.tables import deliveries, ordering_sequences, routes
from support.events import event

NEVER_HALT = autohalt_policy.Policy(failures=0)


async def _ordered_route(db_url: str, events: list[tuple[str, str]], ordering: str = "object") -> Client:
    """A route ordering by ``ordering`` and the deliveries of ``events`` ((event id, object id), in order),
    made through the API with no worker; the merchant's client (usable only inside its app)."""
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        target = await client.ok("POST", "/v1/targets", 201, json={"url": "https://x.example/h"})
        route = {
            "name": "ordered",
            "target_id": target["id"],
            "event_types": ["order.*"],
            "ordering": ordering,
            "auto_halt": {"failures": 0},
        }
        made = await client.ok("POST", "/v1/routes", 201, json=route)
        assert made["ordering"] == ordering
        for event_id, object_id in events:
            await client.ok(
                "POST", "/v1/events", 202, json=event("order.reminder", event_id, public_id=object_id)
            )
        return client


def _sent(jobs: list[Job]) -> dict[str, tuple[str, str]]:
    """Each job's (key, number) as its headers carry them, by event id."""
    found = {}
    for job in jobs:
        headers = dict(job.headers)
        found[job.event_id] = (headers["Hookline-Ordering-Key"], headers["Hookline-Sequence"])
    return found


def _result(job: Job, status: DeliveryStatus, now: float, retry_at: float | None = None) -> Result:
    code = 200 if status == DeliveryStatus.SUCCESS else 500
    outcome = Outcome(started=now, duration_ms=1.0, request_headers={}, status=code)
    completed = None if status == DeliveryStatus.PENDING else now
    return Result(job, outcome, status, retry_at, completed)


async def test_a_claim_takes_only_the_first_open_delivery_of_each_key(db_url: str) -> None:
    await _ordered_route(db_url, [("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A"), ("b2", "B")])
    db = Database(db_url)
    try:
        now = time.time() + 1
        first = await queue.claim(db, now, 10, 30)
        assert _sent(first) == {"a1": ("A", "1"), "b1": ("B", "1")}
        a1, b1 = sorted(first, key=lambda j: j.event_id)
        # a1 fails and waits for its retry; b1 is still in flight: nothing of either key goes meanwhile.
        await queue.record(db, [_result(a1, DeliveryStatus.PENDING, now, now + 60)], policy=NEVER_HALT)
        assert await queue.claim(db, now + 1, 10, 30) == []
        # b1 ends: b2 is next, while a2 still waits for a1's retry.
        await queue.record(db, [_result(b1, DeliveryStatus.SUCCESS, now)], policy=NEVER_HALT)
        [b2] = await queue.claim(db, now + 2, 10, 30)
        assert _sent([b2]) == {"b2": ("B", "2")}
        await queue.record(db, [_result(b2, DeliveryStatus.SUCCESS, now + 2)], policy=NEVER_HALT)
        # The retry of a1 carries the same number; once it ends (even failed), a2 goes, then a3.
        [again] = await queue.claim(db, now + 61, 10, 30)
        assert _sent([again]) == {"a1": ("A", "1")}
        await queue.record(db, [_result(again, DeliveryStatus.FAILED, now + 61)], policy=NEVER_HALT)
        [a2] = await queue.claim(db, now + 62, 10, 30)
        assert _sent([a2]) == {"a2": ("A", "2")}
        # A worker dies with a2: a3 waits until a2's lease runs out and a2 is claimed and sent again.
        assert await queue.claim(db, now + 80, 10, 30) == []
        [a2_again] = await queue.claim(db, now + 93, 10, 30)
        assert a2_again.delivery_id == a2.delivery_id
        await queue.record(db, [_result(a2_again, DeliveryStatus.SUCCESS, now + 93)], policy=NEVER_HALT)
        assert _sent(await queue.claim(db, now + 94, 10, 30)) == {"a3": ("A", "3")}
        # The dead worker's attempt of a2 is recorded late: it changes nothing and frees nothing, so a3
        # (in flight) is not handed out a second time.
        await queue.record(db, [_result(a2, DeliveryStatus.SUCCESS, now + 95)], policy=NEVER_HALT)
        assert await queue.claim(db, now + 96, 10, 30) == []
    finally:
        await db.close()


async def test_the_api_shows_key_number_and_what_a_delivery_waits_for(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        target = await client.ok("POST", "/v1/targets", 201, json={"url": "https://x.example/h"})
        body: dict[str, Any] = {"name": "c", "target_id": target["id"], "event_types": ["*"]}
        route = await client.ok("POST", "/v1/routes", 201, json={**body, "ordering": "customer"})
        plain = await client.ok("POST", "/v1/routes", 201, json={**body, "name": "plain"})
        assert plain["ordering"] == "none"
        batch = [
            event("order.reminder", "e1", public_id="o1", customer="c1"),
            event("subscriber.create", "e2", customer="c1"),  # the subscriber itself: merchant_user_id c1
            event("subscription.cancel", "e3", public_id="s1", customer="c2"),
        ]
        await client.ok("POST", "/v1/events", 202, json={"events": batch})
        listed = await client.ok("GET", f"/v1/deliveries?route_id={route['id']}")
        shown = {d["event_id"]: d for d in listed["data"]}
        assert {e: (d["ordering_key"], d["sequence"]) for e, d in shown.items()} == {
            "e1": ("c1", 1),
            "e2": ("c1", 2),
            "e3": ("c2", 1),
        }
        assert shown["e2"]["waiting_for"] == shown["e1"]["id"]
        assert shown["e1"]["waiting_for"] is None and shown["e3"]["waiting_for"] is None
        one = await client.ok("GET", f"/v1/deliveries/{shown['e2']['id']}")
        assert one["waiting_for"] == shown["e1"]["id"] and one["sequence"] == 2
        unordered = await client.ok("GET", f"/v1/deliveries?route_id={plain['id']}")
        assert {(d["ordering_key"], d["sequence"]) for d in unordered["data"]} == {(None, None)}

        changed = await client.ok("PATCH", f"/v1/routes/{plain['id']}", json={"ordering": "object"})
        assert changed["ordering"] == "object"
        bad = await client.call("PATCH", f"/v1/routes/{plain['id']}", json={"ordering": "random"})
        assert bad.status_code == 400
        assert (await client.ok("GET", f"/v1/routes/{plain['id']}"))["ordering"] == "object"
        reserved = await client.call(
            "PATCH", f"/v1/routes/{plain['id']}", json={"headers": {"Hookline-Sequence": "7"}}
        )
        assert reserved.status_code == 400


async def test_numbers_have_no_gaps_under_concurrent_and_refused_posts(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        target = await client.ok("POST", "/v1/targets", 201, json={"url": "https://x.example/h"})
        route = {"name": "o", "target_id": target["id"], "event_types": ["order.*"], "ordering": "object"}
        made = await client.ok("POST", "/v1/routes", 201, json=route)
        await client.ok("POST", "/v1/events", 202, json=event("order.reminder", "e0", public_id="A"))
        # A batch refused as a whole (an old id with another body) takes no number.
        changed = event("order.reminder", "e0", public_id="A", total="9")
        batch = {"events": [event("order.reminder", "x1", public_id="A"), changed]}
        assert (await client.call("POST", "/v1/events", json=batch)).status_code == 409
        # Posts racing for one key (separate transactions on PostgreSQL) each get their own number.
        posts = [
            client.ok("POST", "/v1/events", 202, json=event("order.reminder", f"e{i}", public_id="A"))
            for i in range(1, 13)
        ]
        await asyncio.gather(*posts)
        listed = await client.ok("GET", "/v1/deliveries", params={"limit": 500})
        numbers = sorted(d["sequence"] for d in listed["data"])
        assert numbers == list(range(1, 14))
        assert {d["event_id"] for d in listed["data"] if d["sequence"] == 1} == {"e0"}
        assert await _counters(db_url) == [(made["id"], "A", 13)]
        await client.ok("DELETE", f"/v1/routes/{made['id']}", 204)
        assert await _counters(db_url) == []  # a deleted route's numbers are dropped


async def _counters(db_url: str) -> list[tuple[str, str, int]]:
    db = Database(db_url)
    try:
        async with db.read() as conn:
            found = await conn.execute(select(ordering_sequences))
            return [(r.route_id, r.ordering_key, r.last) for r in found]
    finally:
        await db.close()


async def test_a_delivery_that_is_never_sent_takes_no_number(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        target = await client.ok("POST", "/v1/targets", 201, json={"url": "https://x.example/h"})
        body = {"name": "o", "target_id": target["id"], "event_types": ["order.*"], "ordering": "object"}
        route = await client.ok("POST", "/v1/routes", 201, json=body)
        db = Database(db_url)
        try:  # a transformation that cannot run (the API refuses to store one)
            async with db.write() as conn:
                await conn.execute(update(routes).where(routes.c.id == route["id"]).values(transform="[[["))
            await client.ok("POST", "/v1/events", 202, json=event("order.reminder", "e1", public_id="A"))
            async with db.write() as conn:
                await conn.execute(update(routes).where(routes.c.id == route["id"]).values(transform=None))
        finally:
            await db.close()
        await client.ok("POST", "/v1/events", 202, json=event("order.reminder", "e2", public_id="A"))
        listed = await client.ok("GET", "/v1/deliveries")
        shown = {d["event_id"]: (d["status"], d["ordering_key"], d["sequence"]) for d in listed["data"]}
        assert shown == {"e1": ("failed", "A", None), "e2": ("pending", "A", 1)}


async def _held(db: Database, steps: Callable[[Conn], Awaitable[None]], done: asyncio.Event) -> asyncio.Event:
    """Run ``steps`` in a transaction that commits once the returned event is set; ``done`` is set when
    the steps have run."""
    commit = asyncio.Event()

    async def run() -> None:
        async with db.write() as conn:
            await steps(conn)
            done.set()
            await commit.wait()

    task = asyncio.create_task(run())
    _HELD.add(task)
    task.add_done_callback(_HELD.discard)
    return commit


_HELD: set[asyncio.Task[None]] = set()


async def test_an_end_waits_for_an_ingest_still_numbering_its_key(pg_url: str) -> None:
    """The race behind a delivery put aside for a minute: an ingest numbers a key's next delivery while its
    delivery ahead ends, and a claim looks between the two commits. The end's release must see the new
    delivery, so the end waits for the ingest's numbering (``ordering.release_next``)."""
    await _ordered_route(pg_url, [("a1", "A")])
    db = Database(pg_url)
    try:
        now = time.time() + 1
        [a1] = await queue.claim(db, now, 10, 30)
        async with db.read() as conn:
            merchant_id = (await conn.execute(select(deliveries.c.merchant_id))).scalar_one()
        a2 = NewDelivery(
            id=ids.new("dlv"),
            merchant_id=merchant_id,
            event_id="a2",
            event_type="order.reminder",
            route_id=a1.route_id,
            target_id=a1.target_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created=now,
            completed=None,
            last_error=None,
            payload=b"{}",
            ordering_key="A",
        )

        async def ingest(conn: Conn) -> None:
            await ordering.number(conn, [a2])
            await bodies.store(conn, [a2])

        ended = now + 0.5

        async def end(conn: Conn) -> None:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == a1.delivery_id)
                .values(status=DeliveryStatus.SUCCESS, completed=ended, next_attempt_at=None)
            )
            params = {"n_route": a1.route_id, "n_key": "A", "n_sequence": 1, "n_ended": a1.delivery_id}
            await ordering.release_next(conn, [{**params, "n_completed": ended, "n_now": ended}])

        numbered, released = asyncio.Event(), asyncio.Event()
        commit_ingest = await _held(db, ingest, numbered)
        await numbered.wait()
        commit_end = await _held(db, end, released)
        await asyncio.sleep(0.3)  # the end's release runs now, or waits for the ingest
        commit_ingest.set()
        await asyncio.wait_for(released.wait(), 10)
        # A claim between the two commits sees a2 and a1 still open: it may put a2 aside, but not past
        # the release.
        assert await queue.claim(db, now + 1, 10, 30) == []
        commit_end.set()
        for _ in range(100):
            async with db.read() as conn:
                found = await conn.execute(
                    select(deliveries.c.status).where(deliveries.c.id == a1.delivery_id)
                )
                if found.scalar_one() == DeliveryStatus.SUCCESS:
                    break
            await asyncio.sleep(0.05)
        [next_one] = await queue.claim(db, now + 2, 10, 30)
        assert next_one.event_id == "a2" and next_one.sequence == 2
    finally:
        await db.close()
