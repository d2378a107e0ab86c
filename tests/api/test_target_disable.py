"""Disabling a target (``PATCH /v1/targets/{id}``) cancels its routes' pending and held deliveries, exactly as
``/webhook_targets`` and disabling a route do; while disabled its routes receive nothing; re-enabled, only
new events are sent."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Client
from support.receiver import Receiver, Status


def _event(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "order.reminder",
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "cust-1"}},
    }


async def _delivery(merchant: Client, delivery_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
    return found


async def test_disabling_a_target_cancels_its_routes_deliveries_and_stops_them(
    merchant: Client, receiver: Receiver
) -> None:
    receiver.script("/hook", Status(500))  # the first attempt fails, the next ones succeed
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/hook"})
    slow_retry = {"initial_interval_s": 3600, "max_interval_s": 3600}
    routes = []
    for name in ("live", "halted"):
        body = {"name": name, "target_id": target["id"], "event_types": ["order.*"], "retry": slow_retry}
        routes.append(await merchant.ok("POST", "/v1/routes", 201, json=body))
    live, halted = routes
    await merchant.ok("POST", f"/v1/routes/{halted['id']}/halt")

    retrying, held = (await merchant.ok("POST", "/v1/events", 202, json=_event("evt-1")))["deliveries"]
    await receiver.wait_for(1, path="/hook")
    for _ in range(100):
        if (await _delivery(merchant, retrying))["attempt_count"] == 1:
            break
        await asyncio.sleep(0.05)
    assert (await _delivery(merchant, retrying))["status"] == "pending"
    assert (await _delivery(merchant, held))["status"] == "held"

    disabled = await merchant.ok("PATCH", f"/v1/targets/{target['id']}", json={"enabled": False})
    assert disabled["enabled"] is False
    for delivery_id in (retrying, held):
        row = await _delivery(merchant, delivery_id)
        assert row["status"] == "canceled" and row["completed"] is not None, row
        assert row["next_attempt_at"] is None
    # The routes keep their own state.
    assert (await merchant.ok("GET", f"/v1/routes/{live['id']}"))["state"] == "active"
    assert (await merchant.ok("GET", f"/v1/routes/{halted['id']}"))["state"] == "halted"

    # While disabled, its routes receive nothing: no deliveries, no resend, no test events, no replay.
    assert (await merchant.ok("POST", "/v1/events", 202, json=_event("evt-2")))["deliveries"] == []
    refused = await merchant.call("POST", f"/v1/deliveries/{retrying}/resend")
    assert refused.status_code == 400 and "disabled" in refused.json()["detail"]
    assert (await merchant.call("POST", f"/v1/routes/{live['id']}/test-events")).status_code == 400
    replay = await merchant.call("POST", f"/v1/routes/{live['id']}/replay", json={"since": 0})
    assert replay.status_code == 400
    await merchant.ok("POST", f"/v1/routes/{halted['id']}/resume")  # nothing held is left to release
    assert (await _delivery(merchant, held))["status"] == "canceled"

    # Enabled again: only new events are sent; what was canceled stays canceled.
    await merchant.ok("PATCH", f"/v1/targets/{target['id']}", json={"enabled": True})
    fresh = (await merchant.ok("POST", "/v1/events", 202, json=_event("evt-3")))["deliveries"]
    assert len(fresh) == 2
    arrived = await receiver.wait_for(3, path="/hook")
    await asyncio.sleep(0.3)  # time for anything that should not come
    sent = [r.json()["id"] for r in receiver.on("/hook")]
    assert sent == ["evt-1", "evt-3", "evt-3"], sent
    assert [r.json()["id"] for r in arrived] == sent
    for delivery_id in (retrying, held):
        assert (await _delivery(merchant, delivery_id))["status"] == "canceled"


async def test_enabling_or_renaming_an_enabled_target_cancels_nothing(merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    route = {
        "name": "r",
        "target_id": target["id"],
        "event_types": ["order.*"],
        "retry": {"initial_interval_s": 3600, "max_interval_s": 3600},
    }
    await merchant.ok("POST", "/v1/routes", 201, json=route)
    [delivery_id] = (await merchant.ok("POST", "/v1/events", 202, json=_event("evt-1")))["deliveries"]
    await merchant.ok("PATCH", f"/v1/targets/{target['id']}", json={"url": "http://127.0.0.1:9/other"})
    await merchant.ok("PATCH", f"/v1/targets/{target['id']}", json={"enabled": True})
    assert (await _delivery(merchant, delivery_id))["status"] == "pending"
