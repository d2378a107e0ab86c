"""Worker behaviour that only shows with real traffic: isolation of slow targets, the SSRF guard."""

from __future__ import annotations

import time

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from support.pipeline import add_route, order_event, wait_status
from support.receiver import Receiver, Stall, Status


async def test_a_stalled_target_does_not_slow_the_others(db_url: str, receiver: Receiver) -> None:
    receiver.respond("/stalled", Stall(5.0))
    settings = app_settings(db_url, per_target_concurrency=4, concurrency=64)
    async with running_app(settings) as http:
        operator = Client(http, OPERATOR_KEY)
        merchant = Client(
            http, (await operator.ok("POST", "/v1/merchants", 201, json={"name": "m"}))["api_key"]
        )
        await add_route(merchant, receiver.url + "/stalled", ["order.reminder"], timeout_s=2)
        await add_route(merchant, receiver.url + "/healthy", ["order.success"])
        stalled = [order_event(f"slow-{i}", "order.reminder") for i in range(20)]
        await merchant.ok("POST", "/v1/events", 202, json={"events": stalled})
        await receiver.wait_for(4, path="/stalled")  # the stalled target's share is in flight
        started = time.monotonic()
        healthy = [order_event(f"fast-{i}", "order.success") for i in range(30)]
        await merchant.ok("POST", "/v1/events", 202, json={"events": healthy})
        await receiver.wait_for(30, path="/healthy", timeout=5)
        elapsed = time.monotonic() - started
        # Healthy deliveries do not wait for the stalled target's 2 s timeouts.
        assert elapsed < 1.5, f"healthy deliveries took {elapsed:.2f}s behind a stalled target"
        assert len(receiver.on("/stalled")) <= 8


async def test_private_address_is_refused_and_the_attempt_says_why(db_url: str, receiver: Receiver) -> None:
    # The API refuses private addresses; a name saved while they were allowed (or one that resolves to one
    # later) is refused when the worker connects. That is a configuration error: the delivery fails at once,
    # with the reason, instead of being retried for hours (its route allows 60 attempts, 1 s apart).
    port = receiver.url.rsplit(":", 1)[1]
    async with running_app(app_settings(db_url), worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        key = (await operator.ok("POST", "/v1/merchants", 201, json={"name": "m"}))["api_key"]
        retry = {"initial_interval_s": 1, "max_attempts": 60}
        await add_route(Client(http, key), f"http://localhost:{port}/x", ["order.*"], retry=retry)
    async with running_app(app_settings(db_url, allow_private_targets=False)) as http:
        merchant = Client(http, key)
        refused = await merchant.call("POST", "/v1/targets", json={"url": receiver.url + "/x"})
        assert refused.status_code == 400
        answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
        delivery = await wait_status(merchant, answer["deliveries"][0], "failed", timeout=5)
        [attempt] = delivery["attempts"]
        assert attempt["error_kind"] == "blocked"
        assert "loopback" in attempt["error"] and "configuration" in attempt["error"]
        assert delivery["last_error"] == attempt["error"]
    assert receiver.requests == []


async def test_retry_after_is_honoured(merchant: Client, receiver: Receiver) -> None:
    receiver.script("/busy", Status(429, headers={"Retry-After": "1"}))
    await add_route(merchant, receiver.url + "/busy", ["order.*"], retry={"initial_interval_s": 1})
    answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    await wait_status(merchant, answer["deliveries"][0], "success", timeout=15)
    first, second = receiver.on("/busy")
    assert second.at - first.at >= 0.95
