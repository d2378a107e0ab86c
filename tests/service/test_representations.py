"""The object store keeps the REST representation: events update it field by field, never replace it, never
store a field marked secret, and every object comes out with its identity field. Through the API, on both
engines."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.core import catalog, representations, snapshot
from hookline.service import ingest, merchants, objects, routes, targets
from hookline.service.context import Context
from hookline.simulator import driver
from hookline.simulator.model import DEFAULT_START, Simulation, seeded
from hookline.storage import migrate, tables
from hookline.storage.database import Database
from hookline.storage.wakeup import Wakeup

# A customer as Ordergroove's REST API shows it (reference §4): REST time strings, no display labels.
CUSTOMER = {
    "merchant": "og-merchant",
    "merchant_user_id": "cust-1",
    "session_id": "sess-1",
    "user_token_id": "utok-1",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone_number": "555-0100",
    "phone_type": 2,
    "live": False,
    "created": "2026-01-01 09:00:00",
    "last_updated": "2026-01-01 09:00:00",
    "last_login": "2026-01-01 09:30:00",
    "extra_data": {"tier": "gold"},
    "locale": 1,
}
# subscriber.create as the platform sends it, without names (reference §3.2): epoch seconds, labels.
SUBSCRIBER_CREATE = {
    "type": "subscriber",
    "merchant": "og-merchant",
    "merchant_user_id": "cust-1",
    "subscription": "sub-1",
    "subscriptions": [],
    "session_id": "sess-1",
    "email": "ada@example.com",
    "phone_type": 2,
    "phone_type_display": "mobile",
    "live": True,
    "created": 1_767_258_000,  # 2026-01-01 09:00:00 UTC
    "last_updated": 1_767_265_200,  # 2026-01-01 11:00:00 UTC
    "extra_data": {"tier": "gold"},
    "locale": 1,
    "locale_display": "en-us",
}
SUBSCRIPTION = {
    "public_id": "sub-1",
    "customer": "cust-1",
    "merchant": "og-merchant",
    "product": "sku-1",
    "payment": "pay-1",
    "shipping_address": "addr-1",
    "subscription_type": "replenishment",
    "quantity": 1,
    "frequency_days": 28,
    "every": 4,
    "every_period": 2,
    "live": True,
    "created": "2026-01-01 09:00:00",
    "updated": "2026-01-01 09:00:00",
}
TOKEN = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.dG9rZW4"
ORDER = {
    "public_id": "ord-1",
    "merchant": "og-merchant",
    "customer": "cust-1",
    "payment": "pay-1",
    "shipping_address": "addr-1",
    "total": "12.50",
    "status": 1,
    "type": 1,  # the REST order's type code: not the event's family name
    "created": "2026-01-02 09:00:00",
}


def _event(event_id: str, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "created": 1_767_265_200, "data": {"object": obj}}


async def _route(merchant: Client, snapshot: dict[str, list[str]]) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    body = {"name": "r", "target_id": target["id"], "event_types": ["*"], "snapshot": snapshot}
    await merchant.ok("POST", "/v1/routes", 201, json={**body, "state": "halted"})


async def _snapshot(merchant: Client, event: dict[str, Any]) -> dict[str, Any]:
    [delivery] = (await merchant.ok("POST", "/v1/events", 202, json=event))["deliveries"]
    payload = (await merchant.ok("GET", f"/v1/deliveries/{delivery}"))["payload"]
    found: dict[str, Any] = orjson.loads(payload)["snapshot"]
    return found


async def _data(merchant: Client, kind: str, public_id: str) -> dict[str, Any]:
    data: dict[str, Any] = (await merchant.ok("GET", f"/v1/objects/{kind}/{public_id}"))["data"]
    return data


# -- an event's data.object does not overwrite the REST copy ------------------------------------------------


async def test_an_event_updates_only_the_rest_fields_it_has(merchant: Client) -> None:
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
    await _route(merchant, {"subscriber": ["customer"]})
    snap = await _snapshot(merchant, _event("evt-1", "subscriber.create", SUBSCRIBER_CREATE))

    # The names the event left out stay; what it changed is in REST form (a REST time string); its
    # labels, family name and the subscriptions behind it are no REST fields. Key order as stored.
    expected = {**CUSTOMER, "live": True, "last_updated": "2026-01-01 11:00:00"}
    assert await _data(merchant, "customer", "cust-1") == expected
    assert list(await _data(merchant, "customer", "cust-1")) == list(CUSTOMER)
    assert snap == {"customer": expected}


async def test_the_rest_orders_type_is_not_the_events_family(merchant: Client) -> None:
    await merchant.ok("PUT", "/v1/objects/order/ord-1", json=ORDER)
    webhook = {
        **ORDER,
        "type": "order",
        "status_display": "Unsent",
        "created": 1_767_344_400,
        "total": "9.00",
    }
    await merchant.ok("POST", "/v1/events", 202, json=_event("evt-1", "order.reminder", webhook))
    assert await _data(merchant, "order", "ord-1") == {**ORDER, "total": "9.00"}


async def test_an_event_about_an_object_not_stored_yet_stores_its_rest_fields(merchant: Client) -> None:
    await merchant.ok("POST", "/v1/events", 202, json=_event("evt-1", "subscriber.create", SUBSCRIBER_CREATE))
    assert await _data(merchant, "customer", "cust-1") == {
        "merchant": "og-merchant",
        "merchant_user_id": "cust-1",
        "session_id": "sess-1",
        "email": "ada@example.com",
        "phone_type": 2,
        "live": True,
        "created": "2026-01-01 09:00:00",
        "last_updated": "2026-01-01 11:00:00",
        "extra_data": {"tier": "gold"},
        "locale": 1,
    }


@pytest.mark.parametrize("value", [-1, 10**13, 1.5, "2026-01-01", True])
async def test_a_time_that_is_not_epoch_seconds_leaves_the_rest_value(db_url: str, value: Any) -> None:
    # Accepted only where schema problems are flagged rather than refused (HOOKLINE_EVENT_VALIDATION=flag).
    async with running_app(app_settings(db_url, event_validation="flag"), worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme"})
        merchant = Client(http, body["api_key"])
        await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
        event = _event("evt-1", "subscriber.create", {**SUBSCRIBER_CREATE, "last_updated": value})
        await merchant.ok("POST", "/v1/events", 202, json=event)
        assert (await _data(merchant, "customer", "cust-1"))["last_updated"] == CUSTOMER["last_updated"]


# -- secrets: one-click tokens ------------------------------------------------------------------------


async def test_a_one_click_token_is_never_stored_nor_in_a_later_snapshot(merchant: Client) -> None:
    await merchant.ok("PUT", "/v1/objects/subscription/sub-1", json=SUBSCRIPTION)
    await merchant.ok("PUT", "/v1/objects/order/ord-1", json=ORDER)
    await merchant.ok(
        "PUT",
        "/v1/objects/item/itm-1",
        json={"public_id": "itm-1", "order": "ord-1", "subscription": "sub-1"},
    )
    await _route(merchant, {"subscription": ["subscriptions"], "order": ["orders", "subscriptions"]})
    # As events carry them: epoch seconds where REST has time strings.
    refresh = {
        **SUBSCRIPTION,
        "type": "subscription",
        "one_click_token": TOKEN,
        "created": 1_767_258_000,
        "updated": 1_767_258_000,
    }
    refreshed = await _snapshot(merchant, _event("evt-1", "subscription.refresh_one_click_token", refresh))
    order = {**ORDER, "type": "order", "created": 1_767_344_400}
    reminder = {**order, "one_click_token": TOKEN + "-order"}
    reminded = await _snapshot(merchant, _event("evt-2", "order.reminder", reminder))
    change = {**order, "payment": "pay-2"}
    changed = await _snapshot(merchant, _event("evt-3", "order.change_payment", change))

    for snap in (refreshed, reminded, changed):
        assert "one_click_token" not in orjson.dumps(snap).decode()
    assert changed["subscriptions"] == [SUBSCRIPTION] and changed["orders"][0]["payment"] == "pay-2"
    assert "one_click_token" not in await _data(merchant, "subscription", "sub-1")
    assert "one_click_token" not in await _data(merchant, "order", "ord-1")
    # The event itself keeps it: it is part of that event's data.object.
    event = await merchant.ok("GET", "/v1/events/evt-1")
    assert event["data"]["object"]["one_click_token"] == TOKEN


@pytest.mark.parametrize("kind", ["subscription", "order"])
async def test_an_upsert_with_a_secret_field_is_refused(merchant: Client, kind: str) -> None:
    response = await merchant.call("PUT", f"/v1/objects/{kind}/x-1", json={"one_click_token": TOKEN})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == ["data.one_click_token"]
    bulk = [
        {"kind": "customer", "public_id": "cust-1", "data": CUSTOMER},
        {"kind": kind, "public_id": "x-1", "data": {"one_click_token": TOKEN}},
    ]
    response = await merchant.call("POST", "/v1/objects", json={"objects": bulk})
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["objects[1].data.one_click_token"]
    for path in (f"/v1/objects/{kind}/x-1", "/v1/objects/customer/cust-1"):  # nothing stored
        assert (await merchant.call("GET", path)).status_code == 404


def test_no_mapping_copies_a_field_marked_secret() -> None:
    assert catalog.secret_fields("subscription") == {"one_click_token"}
    assert catalog.secret_fields("order") == {"one_click_token"}
    for kind, mapping in representations.MAPPINGS.items():
        secret = representations.secret_fields(kind)
        obj = {name: 1 for name in mapping.copied | mapping.times | secret}
        assert not secret & set(representations.rest_update(kind, obj)), kind


# -- identity ----------------------------------------------------------------------------------------------


async def test_every_snapshot_element_carries_its_identity_field(merchant: Client) -> None:
    # Upserts whose data leaves the id out, as a platform's REST dump may.
    objects = [
        ("customer", "cust-1", {"first_name": "Ada"}),
        ("address", "addr-1", {"customer": "cust-1", "city": "Lyon"}),
        ("payment", "pay-1", {"customer": "cust-1", "billing_address": "addr-1"}),
        ("product", "sku-1", {"name": "Coffee"}),
        ("subscription", "sub-1", {"customer": "cust-1", "product": "sku-1", "payment": "pay-1"}),
        ("item", "itm-1", {"order": "ord-1", "subscription": "sub-1", "product": "sku-1"}),
        ("item", "itm-2", {"order": "ord-1", "product": "sku-1"}),
    ]
    body = [{"kind": k, "public_id": p, "data": d} for k, p, d in objects]
    await merchant.ok("POST", "/v1/objects", json={"objects": body})
    columns = ["customer", "orders", "items", "addresses", "payments", "subscriptions", "products"]
    await _route(merchant, {"order": columns})
    order = {"type": "order", "public_id": "ord-1", "customer": "cust-1", "payment": "pay-1"}
    snap = await _snapshot(merchant, _event("evt-1", "order.reminder", order))

    assert snap["customer"] == {"merchant_user_id": "cust-1", "first_name": "Ada"}
    assert [i["public_id"] for i in snap["items"]] == ["itm-1", "itm-2"]
    assert all(i["order"] == "ord-1" for i in snap["items"])  # a receiver can join items to their order
    assert snap["addresses"] == [{"public_id": "addr-1", "customer": "cust-1", "city": "Lyon"}]
    assert snap["payments"][0]["public_id"] == "pay-1"
    assert snap["subscriptions"][0]["public_id"] == "sub-1"
    assert snap["products"] == [{"external_product_id": "sku-1", "name": "Coffee"}]
    for column, kind in snapshot.COLUMN_KINDS.items():
        elements = [snap[column]] if column == "customer" else snap[column]
        assert all(snapshot.key_field(kind) in e for e in elements), column


# -- secrets over the simulator's whole stream ---------------------------------------------------------------


class InProcess:
    """The simulator driver's API client, answered by hookline's services in this process (no sockets,
    so the stream runs on both engines in seconds)."""

    def __init__(self, ctx: Context, merchant_id: str) -> None:
        self.ctx, self.merchant_id = ctx, merchant_id

    async def post(self, path: str, body: Any, params: Any = None) -> Any:
        if path == "/v1/objects":
            return await objects.put_many(self.ctx, self.merchant_id, body["objects"])
        answers = await ingest.ingest(self.ctx, self.merchant_id, body["events"])
        return [{"id": a.id, "deliveries": a.deliveries} for a in answers]


@pytest.mark.timeout(240)
async def test_no_secret_is_stored_or_in_a_snapshot_over_the_simulators_stream(db_url: str) -> None:
    db = Database(db_url)
    await migrate.upgrade(db)
    ctx = Context(db=db, wakeup=Wakeup(), allow_private_targets=True)
    try:
        merchant, _ = await merchants.create(ctx, "Sim Coffee")
        target = await targets.create(ctx, merchant.id, "http://127.0.0.1:9/hook")
        every = list(snapshot.COLUMN_KINDS)
        without = [c for c in every if c not in ("orders", "items")]
        matrix = {"subscriber": without, "subscription": without, "order": every, "item": every}
        spec = {"name": "all", "target_id": target.id, "event_types": ["*"], "snapshot": matrix}
        await routes.create(ctx, merchant.id, {**spec, "state": "halted"})
        simulation = Simulation(seeded(13, DEFAULT_START), merchant=merchant.id, customers=40)
        options = driver.Options(rate=1e9, events=3000, batch=50)
        progress = await driver.Driver(InProcess(ctx, merchant.id), simulation, options).run()  # type: ignore[arg-type]
        assert progress.sent == 3000 and progress.errors == 0

        async with db.read() as conn:
            stored = [data for (data,) in await conn.execute(select(tables.objects.c.data))]
            stored += [data for (data,) in await conn.execute(select(tables.object_versions.c.data))]
            events = [obj for (obj,) in await conn.execute(select(tables.events.c.object))]
            payloads = [orjson.loads(p) for (p,) in await conn.execute(select(tables.delivery_bodies.c.body))]
    finally:
        await db.close()

    secret = set().union(*(catalog.secret_fields(f) for f in catalog.FAMILIES))
    tokens = {e[name] for e in events for name in secret if name in e}
    assert len(tokens) > 100  # the stream carries them: this test could fail
    assert len(payloads) == 3000 and len(stored) > 1000
    written = orjson.dumps([stored, [p["snapshot"] for p in payloads]]).decode()
    assert not any(name in written for name in secret)
    assert not any(token in written for token in tokens)
    # Only where the platform put them: in their own event's data.object.
    carried = [p for p in payloads if catalog.secrets_carried(p["type"])]
    assert carried and all("one_click_token" in p["data"]["object"] for p in carried)


async def test_concurrent_first_writes_of_one_object_all_succeed(merchant: Client) -> None:
    """Writers of an object not stored yet race to insert it (PostgreSQL); the losers run again over the
    winner's version instead of answering 409, and every version is kept."""
    bodies = [{**CUSTOMER, "first_name": f"Ada {i}"} for i in range(8)]
    answers = await asyncio.gather(
        *(merchant.call("PUT", "/v1/objects/customer/cust-1", json=body) for body in bodies)
    )
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    current = await _data(merchant, "customer", "cust-1")
    assert current in bodies
