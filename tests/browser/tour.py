"""Every page of the dashboard, with data on it: what the audit (axe, console, requests) and the screenshots
go through.

``stage`` gives a merchant two webhooks (one healthy, one whose receiver answers 500), deliveries of both
outcomes with their attempts, a customer with an email, a finished resend job, a second API key and the
notification settings; then ``pages`` names each page a merchant or the operator reaches from the menus,
with the path that shows it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from crash.helpers import Api
from support.events import event
from support.receiver import Receiver, Status

CUSTOMER_EMAIL = "ada@example.com"


@dataclass(frozen=True)
class Page:
    name: str  # also the screenshot's file name
    path: str  # under /dashboard
    who: str  # "merchant", "operator" or "anyone" (signed out)


@dataclass(frozen=True)
class Staged:
    route_id: str
    target_id: str
    failing_route_id: str
    delivery_id: str  # a successful delivery
    failed_delivery_id: str
    job_id: str
    key_id: str  # a revocable key (not the last)
    event_id: str


async def settled(client: Api, delivery_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while (await client.ok("GET", f"/v1/deliveries/{delivery_id}", 200, client.merchant_key))[
        "status"
    ] != status:
        assert time.monotonic() < deadline, f"{delivery_id} never became {status}"
        await asyncio.sleep(0.2)


async def _route(client: Api, url: str, name: str, **extra: Any) -> dict[str, Any]:
    target = await client.ok("POST", "/v1/targets", 201, client.merchant_key, json={"url": url})
    body = {"name": name, "target_id": target["id"], "event_types": ["order.*", "subscription.*"], **extra}
    route: dict[str, Any] = await client.ok("POST", "/v1/routes", 201, client.merchant_key, json=body)
    return route


async def _deliver(client: Api, event_id: str, **fields: Any) -> list[str]:
    path = f"/v1/events?merchant={client.merchant_id}"
    answer = await client.ok("POST", path, 202, json=event("order.reminder", event_id, **fields))
    return [str(d) for d in answer["deliveries"]]


async def stage(client: Api, receiver: Receiver) -> Staged:
    key = client.merchant_key
    receiver.respond("/down", Status(500, b'{"error": "database unavailable"}'))
    customer = {"merchant_user_id": "cust-ada", "email": CUSTOMER_EMAIL}
    put = await client.call("PUT", "/v1/objects/customer/cust-ada", key, json=customer)
    assert put.status_code in (200, 201), put.text
    healthy = await _route(client, f"{receiver.url}/hooks/orders-and-subscriptions", "Orders to the ERP")
    failing = await _route(
        client, f"{receiver.url}/down", "Loyalty points", retry={"max_attempts": 1}, timeout_s=2
    )
    ok, failed = None, None
    for n in range(3):
        for delivery in await _deliver(client, f"evt-tour-{n}", customer="cust-ada"):
            row = await client.ok("GET", f"/v1/deliveries/{delivery}", 200, key)
            if row["route_id"] == healthy["id"]:
                await settled(client, delivery, "success")
                ok = ok or delivery
            else:
                await settled(client, delivery, "failed")
                failed = failed or delivery
    assert ok is not None and failed is not None
    job = await client.ok("POST", f"/v1/routes/{failing['id']}/resend", 202, key, json={"status": ["failed"]})
    made = await client.ok("POST", f"/v1/merchants/{client.merchant_id}/api-keys", 201)
    notices = {"emails": ["ops@acme.example"], "slack_webhook_url": None}
    await client.ok("PUT", "/v1/notifications", 200, key, json=notices)
    return Staged(
        route_id=healthy["id"],
        target_id=healthy["target_id"],
        failing_route_id=failing["id"],
        delivery_id=ok,
        failed_delivery_id=failed,
        job_id=job["job"]["id"],
        key_id=made["id"],
        event_id="evt-tour-0",
    )


def pages(s: Staged) -> list[Page]:
    return [
        Page("sign-in", "/sign-in", "anyone"),
        Page("webhooks", "/", "merchant"),
        Page("create-webhook", "/routes/new", "merchant"),
        Page("edit-webhook", f"/routes/{s.route_id}/edit", "merchant"),
        Page("webhook-details", f"/routes/{s.route_id}", "merchant"),
        Page("failing-webhook-details", f"/routes/{s.failing_route_id}", "merchant"),
        Page("regenerate-key", f"/routes/{s.route_id}/confirm/regenerate-key", "merchant"),
        Page("test-events", f"/routes/{s.route_id}/test-events", "merchant"),
        Page("targets", "/targets", "merchant"),
        Page("target", f"/targets/{s.target_id}", "merchant"),
        Page("events", "/events", "merchant"),
        Page("event", f"/events/{s.event_id}", "merchant"),
        Page("deliveries", "/deliveries", "merchant"),
        Page("deliveries-by-email", f"/deliveries?customer={CUSTOMER_EMAIL}&status=failed", "merchant"),
        Page("delivery", f"/deliveries/{s.delivery_id}", "merchant"),
        Page("failed-delivery", f"/deliveries/{s.failed_delivery_id}", "merchant"),
        Page("resend-delivery", f"/deliveries/{s.delivery_id}/resend", "merchant"),
        Page("job", f"/jobs/{s.job_id}", "merchant"),
        Page("api-keys", "/api-keys", "merchant"),
        Page("api-key-revoke", f"/api-keys/{s.key_id}/revoke", "merchant"),
        Page("notifications", "/notifications", "merchant"),
        Page("event-types", "/event-types", "merchant"),
        Page("merchants", "/merchants", "operator"),
        Page("merchant-search", f"/merchants/search?q={s.event_id}", "operator"),
    ]
