"""A worker keeps each outcome until it is recorded: a delivery whose 2xx it knows is not sent again.

In process (``serve``: API and worker) against a real receiver. The recording is made to fail as the database
makes it fail: a lock another session holds past the deadline (PostgreSQL), a commit whose answer is lost,
text the database cannot store.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.core.models import DeliveryStatus, Job, Outcome, Result
from hookline.core.retry import RetryPolicy
from hookline.storage import queue
from hookline.storage.database import Database
from support.pipeline import add_route, order_event, wait_status
from support.receiver import Receiver, Status

pytestmark = pytest.mark.timeout(60)

LEASE_S = 1.5
DEADLINE_S = 0.5


async def test_a_worker_that_cannot_record_keeps_its_deliveries_leased(
    pg_url: str, receiver: Receiver
) -> None:
    settings = app_settings(pg_url, lease_s=LEASE_S, db_timeout_s=DEADLINE_S)
    async with running_app(settings) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "m")
        await add_route(merchant, receiver.url + "/hook", ["order.*"])
        other = Database(pg_url)  # another worker's view of the queue
        blocker = await asyncpg.connect(pg_url)
        try:
            # Attempts cannot be written (each try waits for the lock past the deadline); the rest works.
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("LOCK TABLE attempts IN ACCESS EXCLUSIVE MODE")
            answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
            [delivery_id] = answer["deliveries"]
            await receiver.wait_for(1)  # sent, answered 200: the outcome waits to be recorded
            # Another worker looks for work for three leases: the delivery is never due, never sent twice.
            until = time.monotonic() + 3 * LEASE_S
            while time.monotonic() < until:
                assert await queue.claim(other, time.time(), 10, 60) == []
                await asyncio.sleep(0.1)
            await locked.rollback()
            body = await wait_status(merchant, delivery_id, "success")
            assert len(body["attempts"]) == 1
            assert len(receiver.requests) == 1
        finally:
            await blocker.close()
            await other.close()


def _result(delivery_id: str, attempts: int, started: float) -> Result:
    job = Job(
        delivery_id=delivery_id,
        event_id="e",
        route_id="r",
        target_id="t",
        url="https://example.com/hook",
        payload=b"{}",
        attempts=attempts,
        budget_used=attempts,
        keys=(b"k",),
        timeout_s=5.0,
        headers=(),
        retry=RetryPolicy(),
    )
    outcome = Outcome(started, 12.0, {"content-type": "application/json"}, status=200)
    return Result(job, outcome, DeliveryStatus.SUCCESS, None, started + 0.012)


async def test_recording_again_after_a_lost_commit_stores_nothing_twice(
    db_url: str, receiver: Receiver
) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "m")
        await add_route(merchant, receiver.url + "/hook", ["order.*"])
        answers = await merchant.ok(
            "POST", "/v1/events", 202, json={"events": [order_event("a"), order_event("b")]}
        )
        first, second = (a["deliveries"][0] for a in answers)
        db = Database(db_url)
        try:
            now = time.time()
            stored = _result(first, 0, now)
            await queue.record(db, [stored])  # committed, but say its answer was lost with the connection
            # The retry carries it again, with an outcome that finished meanwhile.
            await queue.record(db, [stored, _result(second, 0, now + 1)], again=True)
        finally:
            await db.close()
        for delivery_id in (first, second):
            body = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
            assert body["status"] == "success"
            assert len(body["attempts"]) == 1, body


async def test_an_answer_the_database_cannot_store_is_recorded_once_cleaned(
    db_url: str, receiver: Receiver
) -> None:
    # PostgreSQL refuses NUL in text: the outcome is stored with it replaced, not dropped and sent again.
    receiver.respond("/hook", Status(200, body=b"ok\x00done"))
    async with running_app(app_settings(db_url, lease_s=LEASE_S)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "m")
        await add_route(merchant, receiver.url + "/hook", ["order.*"])
        answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
        body = await wait_status(merchant, answer["deliveries"][0], "success")
        await asyncio.sleep(2 * LEASE_S)  # a delivery left unrecorded would be sent again by now
        assert len(receiver.requests) == 1
        [attempt] = (await merchant.ok("GET", f"/v1/deliveries/{body['id']}"))["attempts"]
        assert attempt["response"]["status"] == 200
        assert attempt["response"]["body"].startswith("ok") and attempt["response"]["body"].endswith("done")
        assert attempt["error"] is None
