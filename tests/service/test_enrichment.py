"""Snapshot enrichment end to end: objects in, enriched payloads out, as of the moment of acceptance."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import update

from conftest import Client
from hookline.storage.database import Database
from hookline.storage.tables import routes
from support.receiver import Receiver

ALL_COLUMNS = ["customer", "orders", "items", "addresses", "payments", "subscriptions", "products"]

CUSTOMER = {"merchant_user_id": "cust-1", "email": "ada@example.com", "first_name": "Ada", "live": True}
SHIPPING = {"public_id": "addr-ship", "customer": "cust-1", "city": "Lyon", "country_code": "FR"}
BILLING = {"public_id": "addr-bill", "customer": "cust-1", "city": "Paris", "country_code": "FR"}
PAYMENT = {
    "public_id": "pay-1",
    "customer": "cust-1",
    "billing_address": "addr-bill",
    "cc_number_ending": "4242",
}
COFFEE = {"external_product_id": "sku-coffee", "name": "Coffee", "price": "12.50"}
FILTERS = {"external_product_id": "sku-filters", "name": "Filters", "price": "3.00"}
SUBSCRIPTION = {
    "public_id": "sub-1",
    "customer": "cust-1",
    "product": "sku-coffee",
    "payment": "pay-1",
    "shipping_address": "addr-ship",
}
ITEM_1 = {
    "public_id": "itm-1",
    "order": "ord-1",
    "subscription": "sub-1",
    "product": "sku-coffee",
    "quantity": 2,
}
ITEM_2 = {"public_id": "itm-2", "order": "ord-1", "product": "sku-filters", "quantity": 1}
# As item events carry them (an item event's object also names its customer).
SUBSCRIPTION_EVENT = {"type": "subscription", **SUBSCRIPTION}
ITEM_EVENT = {"type": "item", "customer": "cust-1", **ITEM_1}
ORDER = {
    "type": "order",
    "public_id": "ord-1",
    "customer": "cust-1",
    "payment": "pay-1",
    "shipping_address": "addr-ship",
    "total": "28.00",
}

# The order as the REST representation has it: an event's ``type`` names its family, not a REST field.
REST_ORDER = {k: v for k, v in ORDER.items() if k != "type"}


def _entry(kind: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "public_id": key, "data": data}


STORE = [
    _entry("customer", "cust-1", CUSTOMER),
    _entry("address", "addr-ship", SHIPPING),
    _entry("address", "addr-bill", BILLING),
    _entry("payment", "pay-1", PAYMENT),
    _entry("product", "sku-coffee", COFFEE),
    _entry("product", "sku-filters", FILTERS),
    _entry("subscription", "sub-1", SUBSCRIPTION),
    _entry("item", "itm-1", ITEM_1),
    _entry("item", "itm-2", ITEM_2),
]


def _event(event_id: str, type_: str = "order.reminder", obj: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "created": 1_700_000_000, "data": {"object": obj or ORDER}}


async def _route(merchant: Client, url: str, snapshot: dict[str, list[str]], **extra: Any) -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    body = {"name": "r", "target_id": target["id"], "event_types": ["*"], "snapshot": snapshot, **extra}
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json=body)
    return route


async def _payload(merchant: Client, delivery_id: str) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(
        (await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["payload"]
    )
    return body


async def _post(merchant: Client, event: dict[str, Any]) -> list[str]:
    deliveries: list[str] = (await merchant.ok("POST", "/v1/events", 202, json=event))["deliveries"]
    return deliveries


async def test_receiver_gets_an_order_reminder_with_its_snapshot(
    merchant: Client, receiver: Receiver
) -> None:
    await merchant.ok("POST", "/v1/objects", json={"objects": STORE})
    await _route(merchant, receiver.url + "/hook", {"order": ALL_COLUMNS})
    await _post(merchant, _event("evt-1"))

    [request] = await receiver.wait_for(1, path="/hook")
    body = request.json()
    assert body["type"] == "order.reminder" and body["data"]["object"] == ORDER
    snapshot = body["snapshot"]
    assert list(snapshot) == ALL_COLUMNS
    assert snapshot["customer"] == CUSTOMER
    assert snapshot["orders"] == [REST_ORDER]
    assert snapshot["items"] == [ITEM_1, ITEM_2]
    assert snapshot["products"] == [COFFEE, FILTERS]
    assert snapshot["subscriptions"] == [SUBSCRIPTION]
    assert snapshot["payments"] == [PAYMENT]
    assert snapshot["addresses"] == [SHIPPING, BILLING]


async def test_only_the_ticked_cells_of_the_events_family(merchant: Client) -> None:
    await merchant.ok("POST", "/v1/objects", json={"objects": STORE})
    route = {"order": ["customer"], "subscription": ["payments"]}
    await _route(merchant, "http://127.0.0.1:9/hook", route, state="halted")
    [order] = await _post(merchant, _event("evt-2"))
    [sub] = await _post(merchant, _event("evt-3", "subscription.create", SUBSCRIPTION_EVENT))
    [item] = await _post(merchant, _event("evt-4", "item.create", ITEM_EVENT))
    assert (await _payload(merchant, order))["snapshot"] == {"customer": CUSTOMER}
    assert (await _payload(merchant, sub))["snapshot"] == {"payments": [PAYMENT]}
    assert (await _payload(merchant, item))["snapshot"] == {}


async def test_the_payload_is_a_point_in_time_copy(merchant: Client, receiver: Receiver) -> None:
    await merchant.ok("POST", "/v1/objects", json={"objects": STORE})
    route = await _route(merchant, receiver.url + "/hook", {"order": ["customer", "items"]}, state="halted")
    [first] = await _post(merchant, _event("evt-1"))
    before = await _payload(merchant, first)

    renamed = {**CUSTOMER, "first_name": "Augusta"}
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=renamed)
    await merchant.ok("PUT", "/v1/objects/item/itm-2", json={**ITEM_2, "order": "ord-2"})
    assert await _payload(merchant, first) == before
    assert before["snapshot"]["customer"] == CUSTOMER and len(before["snapshot"]["items"]) == 2

    [second] = await _post(merchant, _event("evt-2"))
    assert (await _payload(merchant, second))["snapshot"] == {"customer": renamed, "items": [ITEM_1]}

    # Held deliveries go out as they were built: the old copy first, byte for byte.
    await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
    old, new = await receiver.wait_for(2, path="/hook")
    assert {orjson.loads(old.body)["id"], orjson.loads(new.body)["id"]} == {"evt-1", "evt-2"}
    sent = {orjson.loads(r.body)["id"]: r.body for r in (old, new)}
    stored = (await merchant.ok("GET", f"/v1/deliveries/{first}"))["payload"].encode()
    assert sent["evt-1"] == stored


async def test_changing_a_route_affects_only_later_events(merchant: Client) -> None:
    await merchant.ok("POST", "/v1/objects", json={"objects": STORE})
    route = await _route(merchant, "http://127.0.0.1:9/hook", {"order": ["customer"]}, state="halted")
    [first] = await _post(merchant, _event("evt-1"))
    await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"snapshot": {"order": ["payments"]}})
    [second] = await _post(merchant, _event("evt-2"))
    assert (await _payload(merchant, first))["snapshot"] == {"customer": CUSTOMER}
    assert (await _payload(merchant, second))["snapshot"] == {"payments": [PAYMENT]}


async def test_ingest_stores_the_rest_fields_of_the_events_object(merchant: Client) -> None:
    subscriber = {"type": "subscriber", "merchant_user_id": "cust-7", "email": "Eve@Example.com"}
    await _post(merchant, _event("evt-1", "subscriber.create", subscriber))
    await _post(merchant, _event("evt-2", "subscription.create", SUBSCRIPTION_EVENT))
    await _post(merchant, _event("evt-3", "item.create", ITEM_EVENT))
    await _post(merchant, _event("evt-4"))
    # An order without its key breaks the schema: refused, nothing stored.
    keyless = _event("evt-5", "order.reminder", {"type": "order", "customer": "cust-1", "total": "1.00"})
    assert (await merchant.call("POST", "/v1/events", json=keyless)).status_code == 400
    customer = {"merchant_user_id": "cust-7", "email": "Eve@Example.com"}
    assert (await merchant.ok("GET", "/v1/objects/customer/cust-7"))["data"] == customer
    assert (await merchant.ok("GET", "/v1/objects/subscription/sub-1"))["data"] == SUBSCRIPTION
    assert (await merchant.ok("GET", "/v1/objects/item/itm-1"))["data"] == ITEM_1
    assert (await merchant.ok("GET", "/v1/objects/order/ord-1"))["data"] == REST_ORDER


async def test_posting_an_old_event_again_does_not_roll_its_object_back(merchant: Client) -> None:
    await _post(merchant, _event("evt-1"))
    newer = {**ORDER, "total": "99.00"}
    await merchant.ok("PUT", "/v1/objects/order/ord-1", json=newer)
    await _post(merchant, _event("evt-1"))  # the same event again: nothing new
    assert (await merchant.ok("GET", "/v1/objects/order/ord-1"))["data"] == newer


async def test_the_snapshot_sees_the_events_object_as_in_the_event(merchant: Client) -> None:
    await merchant.ok("PUT", "/v1/objects/order/ord-1", json={**ORDER, "total": "1.00"})
    await _route(merchant, "http://127.0.0.1:9/hook", {"order": ["orders"]}, state="halted")
    [delivery] = await _post(merchant, _event("evt-1"))
    assert (await _payload(merchant, delivery))["snapshot"] == {"orders": [ORDER]}


async def test_a_batch_sees_what_earlier_events_of_it_wrote(merchant: Client) -> None:
    await _route(merchant, "http://127.0.0.1:9/hook", {"order": ["customer"]}, state="halted")
    subscriber = {"type": "subscriber", "merchant_user_id": "cust-1", "email": "ada@example.com"}
    batch = [
        _event("evt-1"),
        _event("evt-2", "subscriber.create", subscriber),
        _event("evt-3", "order.reminder", {**ORDER, "public_id": "ord-2"}),
    ]
    answers = await merchant.ok("POST", "/v1/events", 202, json={"events": batch})
    early, _, late = (a["deliveries"][0] for a in answers)
    assert (await _payload(merchant, early))["snapshot"] == {}  # the customer arrived after it
    customer = {"merchant_user_id": "cust-1", "email": "ada@example.com"}
    assert (await _payload(merchant, late))["snapshot"] == {"customer": customer}


async def test_a_failing_transformation_fails_only_its_route(
    db_url: str, merchant: Client, receiver: Receiver
) -> None:
    await merchant.ok("POST", "/v1/objects", json={"objects": STORE})
    broken = await _route(merchant, receiver.url + "/broken", {"order": ["customer"]})
    await _route(merchant, receiver.url + "/fine", {"order": ["customer"]})
    db = Database(db_url)
    try:
        async with db.write() as conn:
            await conn.execute(update(routes).where(routes.c.id == broken["id"]).values(transform="[[["))
    finally:
        await db.close()

    answer = await merchant.ok("POST", "/v1/events", 202, json=_event("evt-1"))
    assert len(answer["deliveries"]) == 2
    [sent] = await receiver.wait_for(1, path="/fine")
    assert sent.json()["snapshot"] == {"customer": CUSTOMER}

    listed = await merchant.ok("GET", "/v1/deliveries", params={"route_id": broken["id"]})
    [failed] = listed["data"]
    assert failed["status"] == "failed" and failed["last_error"] and failed["completed"]
    assert failed["attempts"] == 0
    untransformed = await _payload(merchant, failed["id"])
    assert untransformed["id"] == "evt-1" and untransformed["snapshot"] == {"customer": CUSTOMER}
    await _settle()
    assert receiver.on("/broken") == []
    assert (await merchant.ok("GET", "/v1/events/evt-1"))["id"] == "evt-1"
    # Its stored body is untransformed: resending it would leak what the transformation removes.
    refused = await merchant.call("POST", f"/v1/deliveries/{failed['id']}/resend")
    assert refused.status_code == 409 and "transformation" in refused.json()["detail"]


async def _settle() -> None:
    """Give a worker that would wrongly send the failed delivery the time to do so."""
    await asyncio.sleep(0.5)


async def test_routes_shaped_alike_get_the_same_bytes(merchant: Client) -> None:
    await merchant.ok("POST", "/v1/objects", json={"objects": STORE})
    for _ in range(2):
        await _route(merchant, "http://127.0.0.1:9/hook", {"order": ["items", "customer"]}, state="halted")
    await _route(merchant, "http://127.0.0.1:9/hook", {"order": ["customer"]}, state="halted")
    a, b, c = await _post(merchant, _event("evt-1"))
    payloads = [(await merchant.ok("GET", f"/v1/deliveries/{d}"))["payload"] for d in (a, b, c)]
    assert payloads[0] == payloads[1] != payloads[2]


@pytest.mark.parametrize(
    ("family", "column"),
    [
        ("subscriber", "orders"),
        ("subscriber", "items"),
        ("subscription", "orders"),
        ("subscription", "items"),
    ],
)
async def test_order_and_item_data_cannot_be_added_to_customer_level_events(
    merchant: Client, family: str, column: str
) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    body = {"name": "r", "target_id": target["id"], "event_types": ["*"], "snapshot": {family: [column]}}
    response = await merchant.call("POST", "/v1/routes", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert f"{column} cannot be added to {family} events" in response.json()["detail"]
