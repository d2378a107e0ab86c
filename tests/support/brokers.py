"""Helpers of the broker destination tests: a broker target and its route, and a check that a message's
headers carry a signature that verifies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from standardwebhooks.webhooks import Webhook

from conftest import Client
from hookline.core import signing
from support.events import event
from support.pipeline import wait_status

FAST_RETRY = {"initial_interval_s": 1, "max_interval_s": 1}
# The events ``post_keyed`` posts, per customer (the ordering key) in the order they are posted, and each
# key as the last subject token or routing-key word ("." is percent-encoded there).
KEYED = {"cust-a": ["evt-0", "evt-2", "evt-4"], "cust.b": ["evt-1", "evt-3"]}
KEY_TOKENS = {"cust-a": "cust-a", "cust.b": "cust%2Eb"}


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


async def post_keyed(merchant: Client) -> None:
    """The events of ``KEYED``, two customers interleaved, each delivered (to a route ordered by customer)."""
    order = sorted((event_id, key) for key, ids in KEYED.items() for event_id in ids)
    deliveries = []
    for n, (event_id, key) in enumerate(order):
        body = event("order.reminder", event_id, public_id=f"ord-{n}", customer=key)
        deliveries += (await merchant.ok("POST", "/v1/events", 202, json=body))["deliveries"]
    for delivery_id in deliveries:
        await wait_status(merchant, delivery_id, "success")


def assert_keyed(received: Sequence[tuple[str, bytes, Mapping[str, str]]], base: str | None) -> None:
    """Every message of ``post_keyed``, each key's in order with its numbers 1, 2, 3 ...; each published to
    ``<base>.<key token>`` (``base`` None: where it was published is not checked). ``received`` holds
    (subject or routing key, body, headers in any case) in the order a consumer received them."""
    per_key: dict[str, list[tuple[str, str]]] = {}
    for where, body, headers in received:
        lower = {name.lower(): value for name, value in headers.items()}
        key = lower["hookline-ordering-key"]
        if base is not None:
            assert where == f"{base}.{KEY_TOKENS[key]}"
        per_key.setdefault(key, []).append((json.loads(body)["id"], lower["hookline-sequence"]))
    assert per_key == {
        key: [(event_id, str(n)) for n, event_id in enumerate(ids, 1)] for key, ids in KEYED.items()
    }


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


__all__ = [
    "FAST_RETRY",
    "KEYED",
    "add_broker_route",
    "assert_keyed",
    "assert_signed",
    "post_keyed",
    "post_order",
    "wait_attempts",
    "wait_status",
]
