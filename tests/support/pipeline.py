"""Helpers of the end-to-end tests: a target and its route at once, an order event, a wait on a delivery."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from conftest import Client


async def add_route(
    merchant: Client, url: str, event_types: list[str], **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new target at ``url`` and a route named "orders" to it; both as the API answered."""
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    route = await merchant.ok(
        "POST",
        "/v1/routes",
        201,
        json={"name": "orders", "target_id": target["id"], "event_types": event_types, **extra},
    )
    return target, route


def order_event(event_id: str = "evt-1", type_: str = "order.reminder") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": type_,
        "created": 1_700_000_000,
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "cust-1", "total": "25.00"}},
    }


async def wait_status(
    merchant: Client, delivery_id: str, status: str, timeout: float = 10.0
) -> dict[str, Any]:
    """The delivery once it has ``status``; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if body["status"] == status:
            return body
        assert time.monotonic() < deadline, f"delivery stayed {body['status']}, wanted {status}: {body}"
        await asyncio.sleep(0.05)
