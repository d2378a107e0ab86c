"""Point in time everywhere: a payload built later for an older event (a replay, a route created after the
event, the preview of an accepted event) shows the objects as they were when the event was accepted, on
both engines. The last test walks a subscriber's life and checks every snapshot byte for byte."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from conftest import Client
from hookline.core.models import Route
from hookline.service import ingest, merchants, objects, preview, recovery, routes, targets
from hookline.service.bulk_runner import BulkRunner, RunnerSettings
from hookline.service.context import Context
from hookline.storage import deliveries, migrate
from hookline.storage.database import Database
from hookline.storage.deliveries import Filters
from hookline.storage.wakeup import Wakeup

WAIT_S = 30.0
CUSTOMER = {"merchant_user_id": "cust-1", "first_name": "Ada", "email": "ada@example.com"}
ORDER = {"type": "order", "public_id": "ord-1", "customer": "cust-1", "total": "12.50"}


async def _route(merchant: Client, snapshot: dict[str, list[str]]) -> str:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    body = {"name": "r", "target_id": target["id"], "event_types": ["*"], "snapshot": snapshot}
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json={**body, "state": "halted"})
    return str(route["id"])


async def _payloads(merchant: Client, route_id: str) -> list[bytes]:
    listed = await merchant.ok("GET", "/v1/deliveries", params={"route_id": route_id})
    found = [await merchant.ok("GET", f"/v1/deliveries/{d['id']}") for d in listed["data"]]
    return [d["payload"].encode() for d in found]


async def _replay(merchant: Client, route_id: str, since: float, **options: Any) -> dict[str, Any]:
    body = {"since": since, **options}
    job: dict[str, Any] = (await merchant.ok("POST", f"/v1/routes/{route_id}/replay", 202, json=body))["job"]
    deadline = time.monotonic() + WAIT_S
    while job["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.05)
        job = await merchant.ok("GET", f"/v1/jobs/{job['id']}")
    assert job["status"] == "done" and job["done"] == 1, job
    return job


async def test_a_replay_shows_the_objects_as_they_were_when_the_event_was_accepted(merchant: Client) -> None:
    since = time.time() - 1
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
    first = await _route(merchant, {"order": ["customer", "orders"]})
    await merchant.ok(
        "POST", "/v1/events", 202, json={"id": "evt-1", "type": "order.reminder", "data": {"object": ORDER}}
    )
    [original] = await _payloads(merchant, first)
    assert orjson.loads(original)["snapshot"]["customer"] == CUSTOMER

    renamed = {**CUSTOMER, "first_name": "Augusta"}
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=renamed)
    await merchant.ok("PUT", "/v1/objects/order/ord-1", json={"public_id": "ord-1", "total": "99.00"})
    # A route created after the event, replayed to: the body is the one the event's first route got.
    later = await _route(merchant, {"order": ["customer", "orders"]})
    job = await _replay(merchant, later, since)
    assert await _payloads(merchant, later) == [original]
    assert job["params"]["point_in_time"] is True  # the default

    # Asked for, the objects as they are now.
    now = await _route(merchant, {"order": ["customer", "orders"]})
    job = await _replay(merchant, now, since, point_in_time=False)
    [today] = await _payloads(merchant, now)
    assert orjson.loads(today)["snapshot"] == {
        "customer": renamed,
        "orders": [{"public_id": "ord-1", "total": "99.00"}],
    }
    assert job["params"]["point_in_time"] is False


async def test_the_preview_of_an_accepted_event_shows_the_objects_as_they_were(merchant: Client) -> None:
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
    route = await _route(merchant, {})
    await merchant.ok(
        "POST", "/v1/events", 202, json={"id": "evt-1", "type": "order.reminder", "data": {"object": ORDER}}
    )
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json={**CUSTOMER, "first_name": "Augusta"})

    # The matrix to try (the route ticks nothing): as if the route had had it when the event came.
    tried = {"event_id": "evt-1", "fields_exclude": ["context"]}
    shown = await merchant.ok("POST", f"/v1/routes/{route}/preview", json=tried)
    assert shown["sample"] is False and shown["event_type"] == "order.reminder"
    assert shown["body"]["snapshot"] == {} and "context" not in shown["body"]
    await merchant.ok("PATCH", f"/v1/routes/{route}", json={"snapshot": {"order": ["customer"]}})
    shown = await merchant.ok("POST", f"/v1/routes/{route}/preview", json={"event_id": "evt-1"})
    assert shown["body"]["snapshot"] == {"customer": CUSTOMER}

    both = await merchant.call("POST", f"/v1/routes/{route}/preview", json={"event_id": "evt-1", "event": {}})
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "event"
    unknown = await merchant.call("POST", f"/v1/routes/{route}/preview", json={"event_id": "evt-404"})
    assert unknown.status_code == 404


async def test_objects_can_be_read_as_they_were(merchant: Client) -> None:
    before = time.time() - 1
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
    between = time.time()
    await asyncio.sleep(0.01)
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json={**CUSTOMER, "first_name": "Augusta"})
    old = await merchant.ok("GET", "/v1/objects/customer/cust-1", params={"at": between})
    assert old["data"] == CUSTOMER and old["valid_until"] is not None
    current = await merchant.ok("GET", "/v1/objects/customer/cust-1", params={"at": time.time()})
    assert current["data"]["first_name"] == "Augusta" and current["valid_until"] is None
    missing = await merchant.call("GET", "/v1/objects/customer/cust-1", params={"at": before})
    assert missing.status_code == 404
    bad = await merchant.call("GET", "/v1/objects/customer/cust-1", params={"at": "yesterday"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "at"


# -- a subscriber's life ------------------------------------------------------------------------------------

T0 = 1_767_261_600  # 2026-01-01 10:00:00 UTC
DAY = 86_400
ORDER_COLUMNS = ["customer", "orders", "items", "addresses", "payments", "subscriptions", "products"]
CUSTOMER_COLUMNS = ["customer", "addresses", "payments", "subscriptions", "products"]
MATRIX = {
    "subscriber": CUSTOMER_COLUMNS,
    "subscription": CUSTOMER_COLUMNS,
    "order": ORDER_COLUMNS,
    "item": ORDER_COLUMNS,
}


def rest(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


# The REST representations, as the platform's REST API gives them. Addresses, payments, the product and
# items leave their id out of the data: hookline fills it in, first.
C0 = {
    "merchant": "og-1",
    "merchant_user_id": "cust-1",
    "session_id": "sess-1",
    "user_token_id": "utok-1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone_number": "555-0100",
    "phone_type": 2,
    "live": False,
    "created": rest(T0),
    "last_updated": rest(T0),
    "last_login": None,
    "extra_data": {},
    "locale": 1,
}
ADDRESS = {"customer": "cust-1", "label": "Home", "address": "1 Main St", "city": "Portland", "live": True}
PAYMENT = {"customer": "cust-1", "billing_address": "addr-1", "cc_number_ending": "4242", "cc_type": 1}
PAYMENT_2 = {"customer": "cust-1", "billing_address": "addr-1", "cc_number_ending": "1881", "cc_type": 2}
P0 = {"name": "House Blend, 12 oz", "price": "14.50", "sku": "HB-12", "live": True}
S0 = {
    "customer": "cust-1",
    "merchant": "og-1",
    "product": "sku-hb",
    "payment": "pay-1",
    "shipping_address": "addr-1",
    "offer": "off-1",
    "subscription_type": "replenishment",
    "components": [],
    "extra_data": {},
    "quantity": 1,
    "price": None,
    "frequency_days": 28,
    "reminder_days": 5,
    "every": 4,
    "every_period": 2,
    "start_date": "2026-01-01",
    "cancelled": None,
    "iteration": 0,
    "session_id": "sess-1",
    "merchant_order_id": "WEB-1",
    "created": rest(T0 + 120),
    "updated": rest(T0 + 120),
    "live": True,
    "external_id": None,
    "currency_code": "USD",
}
O0: dict[str, Any] = {
    "merchant": "og-1",
    "customer": "cust-1",
    "payment": "pay-1",
    "shipping_address": "addr-1",
    "public_id": "ord-1",
    "sub_total": "14.50",
    "tax_total": "1.20",
    "shipping_total": "0.00",
    "discount_total": "0.00",
    "total": "15.70",
    "created": rest(T0 + 180),
    "updated": rest(T0 + 180),
    "place": "2026-01-29",
    "cancelled": None,
    "tries": 0,
    "generic_error_count": 0,
    "status": 1,
    "type": 1,
    "order_merchant_id": None,
    "rejected_message": None,
    "extra_data": {},
    "currency_code": "USD",
}
I0 = {
    "order": "ord-1",
    "offer": "off-1",
    "subscription": "sub-1",
    "product": "sku-hb",
    "quantity": 1,
    "price": "14.50",
    "total_price": "14.50",
    "first_placed": None,
}


def webhook_subscription(updated: int, token: str | None = None) -> dict[str, Any]:
    """The subscription as its events carry it (reference §3.3): epoch times, a label, maybe a token."""
    obj = {
        "type": "subscription",
        "merchant": "og-1",
        "public_id": "sub-1",
        "customer": "cust-1",
        "product": "sku-hb",
        "components": [],
        "extra_data": {},
        "quantity": 1,
        "price": None,
        "frequency_days": 28,
        "reminder_days": 5,
        "every": 4,
        "every_period": 2,
        "every_period_display": "Weeks",
        "cancelled": None,
        "session_id": "sess-1",
        "merchant_order_id": "WEB-1",
        "live": True,
        "external_id": None,
        "created": T0 + 120,
        "updated": updated,
        "start_date": "2026-01-01",
        "offer": "off-1",
        "payment": "pay-1",
        "shipping_address": "addr-1",
    }
    return obj if token is None else {**obj, "one_click_token": token}


def webhook_order(payment: str = "pay-1", token: str | None = None) -> dict[str, Any]:
    obj = {
        "type": "order",
        "merchant": "og-1",
        "public_id": "ord-1",
        "customer": "cust-1",
        "payment": payment,
        "shipping_address": "addr-1",
        "sub_total": "14.50",
        "tax_total": "1.20",
        "shipping_total": "0.00",
        "discount_total": "0.00",
        "total": "15.70",
        "created": T0 + 180,
        "place": "2026-01-29",
        "cancelled": None,
        "tries": 0,
        "generic_error_count": 0,
        "status": 1,
        "status_display": "Unsent",
        "order_merchant_id": None,
        "rejected_message": None,
        "extra_data": {},
    }
    return obj if token is None else {**obj, "one_click_token": token}


@dataclass
class Life:
    ctx: Context
    merchant_id: str
    clock: list[float]
    route: Route

    def at(self, ts: float) -> None:
        self.clock[0] = ts

    async def put(self, kind: str, public_id: str, data: dict[str, Any]) -> None:
        await objects.put(self.ctx, self.merchant_id, kind, public_id, data)

    async def post(self, *events: tuple[str, str, dict[str, Any]]) -> None:
        raws = [
            {"id": i, "type": t, "created": int(self.clock[0]), "data": {"object": o}} for i, t, o in events
        ]
        await ingest.ingest(self.ctx, self.merchant_id, raws)

    async def payloads(self, route_id: str) -> dict[str, bytes]:
        """The payload of every delivery on the route, by event id."""
        found = await deliveries.page(self.ctx.db, self.merchant_id, Filters(route_id=route_id), 500, None)
        assert len({d.event_id for d in found}) == len(found)
        stored = [await deliveries.get(self.ctx.db, self.merchant_id, d.id) for d in found]
        return {row.event_id: row.payload or b"" for row, _ in stored}


@pytest.fixture
async def life(db_url: str) -> AsyncIterator[Life]:
    clock = [float(T0)]
    db = Database(db_url)
    await migrate.upgrade(db)
    ctx = Context(db=db, wakeup=Wakeup(), allow_private_targets=True, clock=lambda: clock[0])
    try:
        merchant, _ = await merchants.create(ctx, "Life Coffee")
        target = await targets.create(ctx, merchant.id, "http://127.0.0.1:9/hook")
        spec = {"name": "all", "target_id": target.id, "event_types": ["*"], "snapshot": MATRIX}
        route = await routes.create(ctx, merchant.id, {**spec, "state": "halted"})
        yield Life(ctx, merchant.id, clock, route)
    finally:
        await db.close()


def envelope(event_id: str, type_: str, created: int, obj: dict[str, Any], snap: dict[str, Any]) -> bytes:
    """The body a route with ``MATRIX`` gets, as docs/payloads.md describes it."""
    body = {
        "id": event_id,
        "type": type_,
        "created": created,
        "data": {"object": obj},
        "context": {},
        "snapshot": snap,
    }
    return orjson.dumps(body)


async def test_a_subscribers_life_every_snapshot_as_of_its_event(life: Life) -> None:
    address = {"public_id": "addr-1", **ADDRESS}
    payment, payment_2 = {"public_id": "pay-1", **PAYMENT}, {"public_id": "pay-2", **PAYMENT_2}
    p0 = {"external_product_id": "sku-hb", **P0}
    s0 = {"public_id": "sub-1", **S0}
    i0 = {"public_id": "itm-1", **I0}
    expected: dict[str, bytes] = {}

    # 10:00 the platform loads the customer, their address, card and the product.
    await life.put("customer", "cust-1", C0)
    await life.put("address", "addr-1", ADDRESS)
    await life.put("payment", "pay-1", PAYMENT)
    await life.put("product", "sku-hb", P0)

    # 10:01 subscriber.create, without names: the REST copy keeps them; what it says is stored as REST.
    life.at(T0 + 60)
    subscriber = {
        "type": "subscriber",
        "merchant": "og-1",
        "merchant_user_id": "cust-1",
        "subscription": "sub-1",
        "subscriptions": [],
        "session_id": "sess-1",
        "email": "ada@example.com",
        "phone_type": 2,
        "phone_type_display": "mobile",
        "live": True,
        "created": T0,
        "last_updated": T0 + 60,
        "extra_data": {},
        "locale": 1,
        "locale_display": "en-us",
    }
    await life.post(("e1", "subscriber.create", subscriber))
    c1 = {**C0, "live": True, "last_updated": rest(T0 + 60)}
    # The subscription is not stored yet: none of it, then or in any later build for this event.
    snap: dict[str, Any] = {
        "customer": c1,
        "addresses": [],
        "payments": [],
        "subscriptions": [],
        "products": [],
    }
    expected["e1"] = envelope("e1", "subscriber.create", T0 + 60, subscriber, snap)

    # 10:02 the subscription, then subscription.create with its 1-Click token.
    life.at(T0 + 120)
    await life.put("subscription", "sub-1", S0)
    created = webhook_subscription(T0 + 120, token="oct-created")
    await life.post(("e2", "subscription.create", created))
    snap = {
        "customer": c1,
        "addresses": [address],
        "payments": [payment],
        "subscriptions": [s0],
        "products": [p0],
    }
    expected["e2"] = envelope("e2", "subscription.create", T0 + 120, created, snap)

    # 10:03 the order and its item, then order.create and item.create in one batch: the item event
    # changes the quantity, which the order event (first in the batch) did not see.
    life.at(T0 + 180)
    await life.put("order", "ord-1", O0)
    await life.put("item", "itm-1", I0)
    item = {
        "type": "item",
        "merchant": "og-1",
        "public_id": "itm-1",
        "customer": "cust-1",
        "product": "sku-hb",
        "order": "ord-1",
        "subscription": "sub-1",
        "offer": "off-1",
        "quantity": 2,
        "price": "14.50",
        "total_price": "29.00",
        "first_placed": None,
        "components": [],
    }
    await life.post(("e3", "order.create", webhook_order()), ("e4", "item.create", item))
    i1 = {**i0, "quantity": 2, "total_price": "29.00", "components": []}
    snap = {
        "customer": c1,
        "orders": [O0],
        "items": [i0],
        "addresses": [address],
        "payments": [payment],
        "subscriptions": [s0],
        "products": [p0],
    }
    expected["e3"] = envelope("e3", "order.create", T0 + 180, webhook_order(), snap)
    expected["e4"] = envelope("e4", "item.create", T0 + 180, item, {**snap, "items": [i1]})

    # 10:04 the token is used: a new one. It is in that event's object, never in a snapshot.
    life.at(T0 + 240)
    refreshed = webhook_subscription(T0 + 240, token="oct-refreshed")
    await life.post(("e5", "subscription.refresh_one_click_token", refreshed))
    s2 = {**s0, "updated": rest(T0 + 240)}
    snap = {
        "customer": c1,
        "addresses": [address],
        "payments": [payment],
        "subscriptions": [s2],
        "products": [p0],
    }
    expected["e5"] = envelope("e5", "subscription.refresh_one_click_token", T0 + 240, refreshed, snap)

    # 10:05 the product is renamed; 10:06 order.reminder (with the order's token).
    life.at(T0 + 300)
    p1 = {**p0, "name": "House Blend, Dark Roast, 12 oz"}
    await life.put("product", "sku-hb", p1)
    life.at(T0 + 360)
    reminder = webhook_order(token="oct-order")
    await life.post(("e6", "order.reminder", reminder))
    snap = {
        "customer": c1,
        "orders": [O0],
        "items": [i1],
        "addresses": [address],
        "payments": [payment],
        "subscriptions": [s2],
        "products": [p1],
    }
    expected["e6"] = envelope("e6", "order.reminder", T0 + 360, reminder, snap)

    # 10:07 the customer is renamed; 10:08 a new card, and order.change_payment.
    life.at(T0 + 420)
    c2 = {**c1, "first_name": "Augusta"}
    await life.put("customer", "cust-1", c2)
    life.at(T0 + 480)
    await life.put("payment", "pay-2", PAYMENT_2)
    change = webhook_order(payment="pay-2")
    await life.post(("e7", "order.change_payment", change))
    o1 = {**O0, "payment": "pay-2"}
    snap = {
        "customer": c2,
        "orders": [o1],
        "items": [i1],
        "addresses": [address],
        "payments": [payment_2],
        "subscriptions": [s2],
        "products": [p1],
    }
    expected["e7"] = envelope("e7", "order.change_payment", T0 + 480, change, snap)

    # As accepted: every payload byte for byte.
    assert await life.payloads(life.route.id) == expected

    # A day later, everything has changed again...
    life.at(T0 + DAY)
    await life.put("customer", "cust-1", {**c2, "first_name": "Countess"})
    await life.put("product", "sku-hb", {**p1, "name": "House Blend No. 2"})
    await life.put("item", "itm-1", {**i1, "quantity": 5})
    # ... and the events are replayed to the route and to one created today: the same bytes.
    spec = {"name": "new", "target_id": life.route.target_id, "event_types": ["*"], "snapshot": MATRIX}
    new_route = await routes.create(life.ctx, life.merchant_id, {**spec, "state": "halted"})
    await recovery.start_replay(life.ctx, life.merchant_id, new_route.id, T0 - 1)
    runner = BulkRunner(life.ctx, RunnerSettings(poll_interval_s=0.05, lease_s=30))
    assert await runner.run_until_idle() == 1
    assert await life.payloads(new_route.id) == expected
    # The preview of each accepted event, with the route's settings, is the same body too.
    for event_id, body in expected.items():
        shown = await preview.stored(life.ctx, life.merchant_id, life.route, event_id)
        assert shown.body == body, event_id
    snapshots = b"".join(orjson.dumps(orjson.loads(b)["snapshot"]) for b in expected.values())
    assert b"oct-" not in snapshots and b"one_click_token" not in snapshots
