"""End to end through the API, the worker and a real local receiver, on both engines."""

from __future__ import annotations

import time

from standardwebhooks.webhooks import Webhook

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.core import signing
from support.pipeline import add_route, order_event, wait_status
from support.receiver import Receiver, Stall, Status


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_delivery_arrives_signed_and_verifies(merchant: Client, receiver: Receiver) -> None:
    target, route = await add_route(merchant, receiver.url + "/hook", ["order.*"])
    answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    assert answer["id"] == "evt-1" and len(answer["deliveries"]) == 1

    [request] = await receiver.wait_for(1)
    keys = await merchant.ok("GET", f"/v1/targets/{target['id']}/signing-key")
    body = request.body
    envelope = __import__("json").loads(body)
    assert envelope["id"] == "evt-1" and envelope["type"] == "order.reminder"
    assert envelope["data"]["object"]["public_id"] == "ord-1"
    assert envelope["snapshot"] == {} and envelope["created"] == 1_700_000_000

    headers = {k.lower(): v for k, v in request.headers.items()}
    assert signing.verify_ordergroove(
        keys["signing_key"].encode(), headers["ordergroove-signature"], body, now=int(time.time())
    )
    Webhook(keys["standard_webhooks_secret"]).verify(body, headers)
    assert headers["hookline-event-id"] == "evt-1"

    delivery = await wait_status(merchant, answer["deliveries"][0], "success")
    assert delivery["attempts"][0]["response"]["status"] == 200
    assert delivery["route_id"] == route["id"]


async def test_500_then_200_succeeds_on_second_attempt(db_url: str, receiver: Receiver) -> None:
    receiver.script("/flaky", Status(500))
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        await add_route(
            merchant,
            receiver.url + "/flaky",
            ["order.reminder"],
            retry={"initial_interval_s": 1, "max_interval_s": 1},
        )
        answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
        delivery = await wait_status(merchant, answer["deliveries"][0], "success", timeout=15)
        assert [a["response"]["status"] for a in delivery["attempts"]] == [500, 200]
        assert delivery["attempt_count"] == 2
    assert len(receiver.on("/flaky")) == 2


async def test_stalled_receiver_times_out_and_is_retried(db_url: str, receiver: Receiver) -> None:
    receiver.script("/slow", Stall(3.0))
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        await add_route(
            merchant,
            receiver.url + "/slow",
            ["order.*"],
            timeout_s=0.5,
            retry={"initial_interval_s": 1, "max_interval_s": 1},
        )
        answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
        delivery = await wait_status(merchant, answer["deliveries"][0], "success", timeout=15)
        first, second = delivery["attempts"]
        assert first["error_kind"] == "timeout" and first["response"] is None
        assert second["response"]["status"] == 200


async def test_attempts_exhausted_marks_failed(db_url: str, receiver: Receiver) -> None:
    receiver.respond("/down", Status(503))
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        await add_route(
            merchant,
            receiver.url + "/down",
            ["order.*"],
            retry={"initial_interval_s": 1, "max_interval_s": 1, "max_attempts": 2},
        )
        answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
        delivery = await wait_status(merchant, answer["deliveries"][0], "failed", timeout=15)
        assert delivery["attempt_count"] == 2 and delivery["last_response_status"] == 503


async def test_route_that_does_not_match_gets_nothing(merchant: Client, receiver: Receiver) -> None:
    await add_route(merchant, receiver.url + "/subs", ["subscription.cancel"])
    await add_route(merchant, receiver.url + "/orders", ["order.*"])
    answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    assert len(answer["deliveries"]) == 1
    await receiver.wait_for(1, path="/orders")
    await _sleep(0.3)
    assert receiver.on("/subs") == []


async def test_reposting_the_same_event_creates_nothing(merchant: Client, receiver: Receiver) -> None:
    await add_route(merchant, receiver.url + "/hook", ["order.*"])
    first = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    again = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    assert again == first
    conflict = await merchant.call("POST", "/v1/events", json={**order_event(), "created": 1})
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    await receiver.wait_for(1)
    await _sleep(0.3)
    assert len(receiver.requests) == 1
    listed = await merchant.ok("GET", "/v1/deliveries")
    assert len(listed["data"]) == 1


async def test_batch_ingest_fans_out(merchant: Client, receiver: Receiver) -> None:
    await add_route(merchant, receiver.url + "/a", ["order.*"])
    await add_route(merchant, receiver.url + "/b", ["*"])
    events = [order_event(f"evt-{i}") for i in range(5)]
    answers = await merchant.ok("POST", "/v1/events", 202, json={"events": events})
    assert [a["id"] for a in answers] == [f"evt-{i}" for i in range(5)]
    assert all(len(a["deliveries"]) == 2 for a in answers)
    await receiver.wait_for(10)


async def test_disabling_a_route_cancels_pending(merchant: Client, receiver: Receiver) -> None:
    receiver.respond("/down", Status(500))
    _, route = await add_route(
        merchant, receiver.url + "/down", ["order.*"], retry={"initial_interval_s": 60}
    )
    answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    await receiver.wait_for(1)
    await _wait_attempts(merchant, answer["deliveries"][0], 1)
    await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"state": "disabled"})
    delivery = await merchant.ok("GET", f"/v1/deliveries/{answer['deliveries'][0]}")
    assert delivery["status"] == "canceled"


async def _wait_attempts(merchant: Client, delivery_id: str, count: int) -> None:
    deadline = time.monotonic() + 10
    while (await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["attempt_count"] < count:
        assert time.monotonic() < deadline
        await _sleep(0.05)
