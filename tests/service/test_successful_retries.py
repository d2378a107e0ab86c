"""``successful_retries`` is Ordergroove's: successful deliveries delivered after at least one failed attempt.

Real deliveries to the local receiver, on both engines; the counters read through ``/v1/routes/{id}/metrics``,
its hourly series, and ``/webhook_targets/{id}/metrics``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from conftest import Client
from support.receiver import Receiver, Status


async def _settled(merchant: Client, delivery_id: str, attempts: int) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        found: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if found["status"] == "success" and found["attempt_count"] == attempts:
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.05)


async def _event(merchant: Client, event_id: str) -> str:
    event = {
        "id": event_id,
        "type": "order.reminder",
        "data": {"object": {"type": "order", "public_id": event_id, "customer": "cust-1"}},
    }
    [delivery_id] = (await merchant.ok("POST", "/v1/events", 202, json=event))["deliveries"]
    return str(delivery_id)


async def _counts(merchant: Client, route_id: str, target_id: str) -> tuple[int, int, int, int]:
    """(successful, successful_retries) from the route's counters, then from its series and Ordergroove's."""
    route = await merchant.ok("GET", f"/v1/routes/{route_id}/metrics")
    series = await merchant.ok("GET", f"/v1/routes/{route_id}/metrics", params={"series": "1h"})
    og = await merchant.ok("GET", f"/webhook_targets/{target_id}/metrics")
    retried_in_series = sum(b["retried"] for b in series["series"])
    assert og["successful"] == route["successful"]
    assert og["successful_retries"] == route["successful_retries"] == retried_in_series
    return route["successful"], route["successful_retries"], og["successful"], og["successful_retries"]


async def test_a_resend_of_a_success_is_no_retry_a_success_after_a_failure_is(
    merchant: Client, receiver: Receiver
) -> None:
    target = await merchant.ok("POST", "/webhook_targets", 201, json={"target_url": receiver.url + "/hook"})
    routes = (await merchant.ok("GET", "/v1/routes"))["data"]
    [route] = [r for r in routes if r["target_id"] == target["id"]]
    await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"retry": {"initial_interval_s": 1}})

    first = await _event(merchant, "evt-1")
    await _settled(merchant, first, 1)
    await merchant.ok("POST", f"/v1/deliveries/{first}/resend")  # sent again, succeeds again
    await _settled(merchant, first, 2)
    assert await _counts(merchant, route["id"], target["id"]) == (1, 0, 1, 0)

    receiver.script("/hook", Status(503))  # the next attempt fails, the one after succeeds
    flaky = await _event(merchant, "evt-2")
    tried = await _settled(merchant, flaky, 2)
    assert [a["response"]["status"] for a in tried["attempts"]] == [503, 200]
    assert await _counts(merchant, route["id"], target["id"]) == (2, 1, 2, 1)

    # Resent after its success, a delivery that once failed still counts once.
    await merchant.ok("POST", f"/v1/deliveries/{flaky}/resend")
    await _settled(merchant, flaky, 3)
    assert await _counts(merchant, route["id"], target["id"]) == (2, 1, 2, 1)
