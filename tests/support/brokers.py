"""Helpers of the broker destination tests: a broker target and its route, and a check that a message's
headers carry a signature that verifies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook

from conftest import Client
from hookline import signing
from support.events import event
from support.pipeline import wait_status

FAST_RETRY = {"initial_interval_s": 1, "max_interval_s": 1}


async def add_broker_route(
    merchant: Client, url: str, destination: dict[str, Any], **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new broker target and a route of every order event to it; both as the API answered."""
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url, "destination": destination})
    route = await merchant.ok(
        "POST",
        "/v1/routes",
        201,
        json={"name": "to the broker", "target_id": target["id"], "event_types": ["order.*"], **extra},
    )
    return target, route


async def post_order(merchant: Client, event_id: str = "evt-broker-1") -> str:
    """The id of the one delivery of an order event posted now."""
    answer = await merchant.ok("POST", "/v1/events", 202, json=event("order.reminder", event_id))
    [delivery_id] = answer["deliveries"]
    return str(delivery_id)


async def assert_signed(
    merchant: Client, target: dict[str, Any], body: bytes, headers: Mapping[str, str], event_id: str
) -> None:
    """``body`` is the event's payload and ``headers`` (any case) sign it as they sign an HTTP delivery."""
    lower = {name.lower(): value for name, value in headers.items()}
    keys = await merchant.ok("GET", f"/v1/targets/{target['id']}/signing-key")
    assert json.loads(body)["id"] == event_id
    assert lower["hookline-event-id"] == event_id
    Webhook(keys["standard_webhooks_secret"]).verify(body, lower)
    assert signing.verify_ordergroove(
        keys["signing_key"].encode(), lower["ordergroove-signature"], body, now=int(time.time())
    )


async def wait_attempts(merchant: Client, delivery_id: str, count: int, timeout: float = 15.0) -> Any:
    """The delivery once it has at least ``count`` attempts."""
    deadline = time.monotonic() + timeout
    while True:
        body = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if len(body["attempts"]) >= count:
            return body
        assert time.monotonic() < deadline, f"only {len(body['attempts'])} attempts: {body}"
        await asyncio.sleep(0.1)


__all__ = ["FAST_RETRY", "add_broker_route", "assert_signed", "post_order", "wait_attempts", "wait_status"]
