"""Transformations x routes (``service/shaping.py``): the work of a request is bounded per event, per request
and per merchant, a request over its budget is refused and changes nothing, and the event loop keeps
answering while the worst allowed shaping runs.

Found: one 2.9 MB event with a heavy expression on 50 routes froze ``/healthz`` for 22 s.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from crash.helpers import processes
from hookline.core import transform
from support import events
from support.hostile import stored
from support.receiver import Receiver

# A transformation whose work grows with the order's items: about 18,000 units on 300 items. Written
# differently per route, so that no two routes share one build of the body.
_TIMES_TEN = "[@,@,@,@,@,@,@,@,@,@]"
HEAVY = f"data.object.items[*].{_TIMES_TEN}[][*].{_TIMES_TEN}[][*].{_TIMES_TEN}[] | [length(@), `{{n}}`]"
# One that takes its route's whole step budget (100,000) on a small event, and then fails (its delivery
# fails at once, which is allowed): 50 codes, ten times over, four times.
WORST = " | ".join(
    ["data.object.codes[*]." + _TIMES_TEN, "[]", *([f"[*].{_TIMES_TEN}", "[]"] * 3), "[length(@), `{n}`]"]
)
HEALTH_LIMIT_S = 0.1


def _order(event_id: str, items: int) -> dict[str, Any]:
    rows = [{"sku": f"sku-{i}", "qty": i % 5, "price": "12.50", "name": "x" * 40} for i in range(items)]
    return {
        "id": event_id,
        "type": "order.success",
        "data": {"object": events.object_of("order.success", event_id, items=rows)},
    }


async def _merchant(http: httpx.AsyncClient, name: str = "Acme") -> Client:
    created = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": name})
    return Client(http, created["api_key"])


async def _heavy_routes(merchant: Client, count: int, expression: str = HEAVY) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/"})
    for n in range(count):
        route = {
            "name": f"heavy {n}",
            "target_id": target["id"],
            "event_types": ["order.*"],
            "transform": expression.format(n=n),
        }
        await merchant.ok("POST", "/v1/routes", 201, json=route)


# ---- the loop keeps answering: a real process ------------------------------------------------------------


@pytest.mark.slow
async def test_health_answers_while_the_worst_allowed_shaping_runs(tmp_path: Path, db_url: str) -> None:
    """The worst request the default budgets allow: each of its 4 events goes to 2 routes whose
        transformations take their whole step budget (200,000 of an event's 250,000 units), 800,000 of the
        request's 1,000,000. It is accepted; while it is shaped, ``/healthz`` answers within 100 ms every time
    (or a quarter of the shaping's time, when the machine is busy with other work).
        The events are small, so that what is measured is the shaping, not reading the body."""
    async with processes(tmp_path, db_url) as group:
        api = await group.server("api")
        async with httpx.AsyncClient(base_url=api.url, timeout=60) as http:
            merchant = await _merchant(http)
            await _heavy_routes(merchant, 2, WORST)
            codes = events.object_of("order.success", "ord", codes=list(range(50)))
            batch = [{"id": f"evt-{i}", "type": "order.success", "data": {"object": codes}} for i in range(4)]
            latencies = []
            async with httpx.AsyncClient(base_url=api.url, timeout=10) as probe:
                await probe.get("/healthz")  # connected before, so that only the answer is timed
                began = time.monotonic()
                posted = asyncio.create_task(merchant.call("POST", "/v1/events", json={"events": batch}))
                while not posted.done():
                    started = time.monotonic()
                    assert (await probe.get("/healthz")).status_code == 200
                    latencies.append(time.monotonic() - started)
                    await asyncio.sleep(0.02)
            response = await posted
            elapsed = time.monotonic() - began
    assert response.status_code == 202, response.text
    assert all(len(e["deliveries"]) == 2 for e in response.json())
    assert len(latencies) >= 10, latencies  # the shaping took a while: health was asked during it
    # Within 100 ms, or (on a machine slowed by other work) within a quarter of the whole shaping: a loop
    # blocked by the shaping would keep one answer waiting for nearly all of it.
    assert max(latencies) < max(HEALTH_LIMIT_S, elapsed / 4), (sorted(latencies)[-5:], elapsed)


# ---- budgets, in process ---------------------------------------------------------------------------------

# Small budgets, so that the tests stay quick: one heavy route on a 300-item order fits an event's share,
# two do not; two such events fit a request, three do not.
SMALL = {"shaping_event_units": 25_000, "shaping_request_units": 40_000, "shaping_merchant_units_per_s": 1e9}


@pytest.fixture
async def http(db_url: str) -> Any:
    async with running_app(app_settings(db_url, **SMALL), worker=False) as client:
        await client.get("/dashboard/sign-in")  # the dashboard makes its cookie secret on first use
        yield client


async def test_an_event_over_its_share_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, db_url: str
) -> None:
    merchant = await _merchant(http)
    await _heavy_routes(merchant, 2)  # 2 x about 18,000: more than an event's 25,000
    before = await stored(db_url)
    response = await merchant.call("POST", "/v1/events", json=_order("evt-1", 300))
    assert response.status_code == 413, response.text
    assert "one event" in response.json()["detail"] and "25000 units" in response.json()["detail"]
    assert await stored(db_url) == before
    # The same event for one heavy route is within its share.
    first = (await merchant.ok("GET", "/v1/routes"))["data"][0]["id"]
    await merchant.ok("DELETE", f"/v1/routes/{first}", 204)
    accepted = await merchant.ok("POST", "/v1/events", 202, json=_order("evt-1", 300))
    delivery = await merchant.ok("GET", f"/v1/deliveries/{accepted['deliveries'][0]}")
    assert delivery["status"] == "pending" and delivery["last_error"] is None


async def test_a_request_over_its_budget_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, db_url: str
) -> None:
    merchant = await _merchant(http)
    await _heavy_routes(merchant, 1)
    before = await stored(db_url)
    batch = [_order(f"evt-{i}", 300) for i in range(3)]  # 3 x about 18,000: more than the request's 40,000
    response = await merchant.call("POST", "/v1/events", json={"events": batch})
    assert response.status_code == 413, response.text
    assert "this request" in response.json()["detail"] and "fewer events" in response.json()["detail"]
    assert await stored(db_url) == before
    assert (await merchant.call("POST", "/v1/events", json={"events": batch[:2]})).status_code == 202


async def test_a_preview_is_bounded_too(http: httpx.AsyncClient) -> None:
    merchant = await _merchant(http)
    await _heavy_routes(merchant, 1)
    route = (await merchant.ok("GET", "/v1/routes"))["data"][0]
    preview = f"/v1/routes/{route['id']}/preview"
    assert (await merchant.call("POST", preview, json={"event": _order("e", 300)})).status_code == 200
    response = await merchant.call("POST", preview, json={"event": _order("e", 600)})  # about 36,000
    assert response.status_code == 413 and "one event" in response.text, response.text


async def test_a_merchant_over_its_share_waits(db_url: str) -> None:
    """A merchant that has spent its share of shaping work gets 429 with Retry-After; another merchant is
    not held back by it."""
    limits = {**SMALL, "shaping_merchant_units_per_s": 10_000.0}
    async with running_app(app_settings(db_url, **limits), worker=False) as http:
        greedy, other = await _merchant(http, "Greedy"), await _merchant(http, "Other")
        await _heavy_routes(greedy, 1)
        await _heavy_routes(other, 1)
        # The meter holds one request's worth (40,000) and refills 10,000 a second: about 18,000 a post.
        answers = [await greedy.call("POST", "/v1/events", json=_order(f"evt-{n}", 300)) for n in range(4)]
        assert [a.status_code for a in answers[:2]] == [202, 202]
        refused = next((a for a in answers if a.status_code != 202), answers[-1])
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert (await other.call("POST", "/v1/events", json=_order("evt-1", 300))).status_code == 202
        # Events without a transformation cost no shaping work: the greedy merchant can still post them.
        plain = events.event("subscriber.create", "evt-plain", customer="c")
        assert (await greedy.call("POST", "/v1/events", json=plain)).status_code == 202


def test_a_budget_walks_each_input_once() -> None:
    """Fifty routes reading one large event walk it once (the walk is what made 50 routes cost 22 s)."""
    event = _order("evt-1", 3_000)
    envelope = {"id": "e", "type": "order.success", "data": event["data"], "snapshot": {}}
    budget = transform.Budget(10**9, 10**9)
    transform.apply(envelope, None, None, "data.object.public_id", budget)
    first = budget.spent
    for n in range(49):
        transform.apply(envelope, None, None, f"[data.object.public_id, `{n}`]", budget)
    assert first > 3_000 * 5  # the items and their members
    assert budget.spent - first < 49 * 50  # the others only pay their own few steps


async def test_a_replay_is_shaped_in_batches_its_budget_allows(db_url: str, receiver: Receiver) -> None:
    """A replay is background work: when a batch's budget runs out it stops after the events shaped so far
    and the next batch goes on from there, rather than failing the job or refusing."""
    async with running_app(app_settings(db_url, **SMALL)) as http:
        merchant = await _merchant(http)
        target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/hook"})
        spec = {
            "name": "r",
            "target_id": target["id"],
            "event_types": ["order.*"],
            "transform": HEAVY.format(n=1),
        }
        route = await merchant.ok("POST", "/v1/routes", 201, json=spec)
        since = time.time() - 1
        for n in range(3):  # about 18,000 units each: a batch of the 40,000 of a request takes two
            await merchant.ok("POST", "/v1/events", 202, json=_order(f"evt-{n}", 300))
        await receiver.wait_for(3, timeout=30)
        answer = await merchant.ok("POST", f"/v1/routes/{route['id']}/replay", 202, json={"since": since})
        deadline = time.monotonic() + 30
        while (job := await merchant.ok("GET", f"/v1/jobs/{answer['job']['id']}"))["status"] not in (
            "done",
            "failed",
        ):
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.05)
        assert job["status"] == "done" and job["done"] == job["total"] == 3, job
        await receiver.wait_for(6, timeout=30)
        sent = Counter(r.headers["hookline-event-id"] for r in receiver.requests)
        assert sent == Counter({"evt-0": 2, "evt-1": 2, "evt-2": 2})
