"""Events: ingestion (single and batch), idempotency, validation, reading back, and the catalogue."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.core import catalog

ORDER = {"type": "order", "public_id": "ord-1", "customer": "cust-1"}  # a valid order.* object


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def _event(event_id: str | None = "evt-1", type_: str = "order.reminder", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": type_,
        "created": 1_700_000_000,
        "data": {"object": {"type": type_.partition(".")[0], "public_id": "ord-1", "customer": "cust-1"}},
        **extra,
    }
    if event_id is not None:
        event["id"] = event_id
    return event


async def _route(merchant: Client, event_types: list[str]) -> dict[str, Any]:
    # An unreachable port: these tests look at what is stored, not at what arrives.
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    route: dict[str, Any] = await merchant.ok(
        "POST", "/v1/routes", 201, json={"name": "r", "target_id": target["id"], "event_types": event_types}
    )
    return route


async def _event_ids(merchant: Client) -> list[str]:
    return [e["id"] for e in (await merchant.ok("GET", "/v1/events", params={"limit": 500}))["data"]]


async def _delivery_count(merchant: Client) -> int:
    return len((await merchant.ok("GET", "/v1/deliveries", params={"limit": 500}))["data"])


async def test_single_event_is_accepted(merchant: Client) -> None:
    route = await _route(merchant, ["order.*"])
    await _route(merchant, ["subscription.*"])
    response = await merchant.call("POST", "/v1/events", json=_event())
    assert response.status_code == 202 and response.headers["content-type"] == "application/json"
    answer = response.json()
    assert answer["id"] == "evt-1" and len(answer["deliveries"]) == 1
    delivery = await merchant.ok("GET", f"/v1/deliveries/{answer['deliveries'][0]}")
    assert delivery["event_id"] == "evt-1" and delivery["route_id"] == route["id"]
    assert delivery["event_type"] == "order.reminder"


async def test_event_without_matching_route_has_no_deliveries(merchant: Client) -> None:
    answer = await merchant.ok("POST", "/v1/events", 202, json=_event())
    assert answer == {"id": "evt-1", "deliveries": []}
    assert await _event_ids(merchant) == ["evt-1"]


async def test_batch_is_accepted(merchant: Client) -> None:
    await _route(merchant, ["*"])
    events = [_event(f"evt-{i}") for i in range(3)] + [_event(None, "subscription.cancel")]
    response = await merchant.call("POST", "/v1/events", json={"events": events})
    assert response.status_code == 202
    answers = response.json()
    assert isinstance(answers, list) and len(answers) == 4
    assert [a["id"] for a in answers[:3]] == ["evt-0", "evt-1", "evt-2"] and answers[3]["id"].startswith(
        "evt_"
    )
    assert all(len(a["deliveries"]) == 1 for a in answers)
    assert sorted(await _event_ids(merchant)) == sorted(a["id"] for a in answers)


async def test_missing_id_gets_a_generated_one(merchant: Client) -> None:
    first = await merchant.ok("POST", "/v1/events", 202, json=_event(None))
    second = await merchant.ok("POST", "/v1/events", 202, json=_event(None))
    assert first["id"].startswith("evt_") and second["id"].startswith("evt_") and first["id"] != second["id"]
    stored = await merchant.ok("GET", f"/v1/events/{first['id']}")
    assert stored["id"] == first["id"] and stored["type"] == "order.reminder"


async def test_same_id_same_body_answers_the_same_and_creates_nothing(merchant: Client) -> None:
    await _route(merchant, ["order.*"])
    first = await merchant.ok("POST", "/v1/events", 202, json=_event())
    again = await merchant.ok("POST", "/v1/events", 202, json=_event())
    assert again == first and len(first["deliveries"]) == 1
    # The same body with its keys in another order is the same event.
    reordered = dict(reversed(list(_event().items())))
    assert await merchant.ok("POST", "/v1/events", 202, json=reordered) == first
    # And inside a batch it is answered the same, while the new one is created.
    batch = await merchant.ok("POST", "/v1/events", 202, json={"events": [_event(), _event("evt-2")]})
    assert batch[0] == first and batch[1]["id"] == "evt-2" and len(batch[1]["deliveries"]) == 1
    assert await _event_ids(merchant) == ["evt-2", "evt-1"]
    assert await _delivery_count(merchant) == 2


async def test_a_repeat_lists_the_deliveries_in_the_first_answers_order(merchant: Client) -> None:
    # Eight routes: the deliveries of one event are made in the same millisecond, so their ids differ in
    # their random part only, and an order by id would be one of 8! orders.
    for _ in range(8):
        await _route(merchant, ["order.*"])
    first = await merchant.ok("POST", "/v1/events", 202, json=_event())
    assert len(first["deliveries"]) == 8
    for _ in range(3):
        assert await merchant.ok("POST", "/v1/events", 202, json=_event()) == first
    batch = await merchant.ok("POST", "/v1/events", 202, json={"events": [_event("evt-2"), _event()]})
    assert batch[1] == first


async def test_posts_of_one_new_id_at_once_store_it_once(merchant: Client) -> None:
    await _route(merchant, ["order.*"])
    answers = await asyncio.gather(
        *(merchant.ok("POST", "/v1/events", 202, json=_event("evt-race")) for _ in range(8))
    )
    assert all(a == answers[0] for a in answers) and len(answers[0]["deliveries"]) == 1
    assert await _event_ids(merchant) == ["evt-race"]
    assert await _delivery_count(merchant) == 1


async def test_same_id_different_body_is_409(merchant: Client) -> None:
    await _route(merchant, ["order.*"])
    first = await merchant.ok("POST", "/v1/events", 202, json=_event())
    for changed in [_event(created=1), _event("evt-1", "order.cancel"), _event(context={"source": "x"})]:
        body = _problem(await merchant.call("POST", "/v1/events", json=changed), 409)
        assert "evt-1" in body["detail"]
    # In a batch, the conflict refuses the whole batch.
    batch = {"events": [_event("evt-new"), _event(created=2)]}
    _problem(await merchant.call("POST", "/v1/events", json=batch), 409)
    assert await _event_ids(merchant) == ["evt-1"]
    assert await _delivery_count(merchant) == 1
    stored = await merchant.ok("GET", "/v1/events/evt-1")
    assert stored["created"] == 1_700_000_000
    assert (await merchant.ok("POST", "/v1/events", 202, json=_event())) == first


async def test_invalid_event_in_a_batch_stores_nothing(merchant: Client) -> None:
    await _route(merchant, ["*"])
    batch = {"events": [_event("evt-a"), _event("evt-b", "order.no_such_type"), _event("evt-c")]}
    body = _problem(await merchant.call("POST", "/v1/events", json=batch), 400, "events[1].type")
    assert "order.no_such_type" in body["detail"] and "events[1]" in body["detail"]
    assert await _event_ids(merchant) == []
    _problem(await merchant.call("GET", "/v1/events/evt-a"), 404)
    assert await _delivery_count(merchant) == 0


async def test_duplicate_id_in_a_batch_is_400(merchant: Client) -> None:
    body = _problem(
        await merchant.call(
            "POST", "/v1/events", json={"events": [_event("evt-x"), _event("evt-y"), _event("evt-x")]}
        ),
        400,
        "events",
    )
    assert "evt-x" in body["detail"]
    assert await _event_ids(merchant) == []


async def test_malformed_json_or_not_an_object_is_400(merchant: Client) -> None:
    for content, field in [
        (b'{"type": "order.reminder", ', "body"),  # malformed JSON
        (b"", "body"),
        (b"not json", "body"),
        (b"{'type': 'order.reminder'}", "body"),
        (b"[1, 2]", "body"),  # not an object
        (b'[{"type": "order.reminder", "data": {"object": {}}}]', "body"),
        (b'"order.reminder"', "body"),
        (b"42", "body"),
        (b"null", "body"),
        (b'{"events": {"type": "order.reminder"}}', "events"),
        (b'{"events": []}', "events"),
        (b'{"events": [1]}', "body"),
    ]:
        headers = {"content-type": "application/json"}
        body = _problem(
            await merchant.call("POST", "/v1/events", content=content, headers=headers), 400, field
        )
        assert body["detail"], content
    assert await _event_ids(merchant) == []


async def test_invalid_event_is_400_naming_the_field(merchant: Client) -> None:
    no_object: dict[str, Any] = {"type": "order.reminder", "data": {"object": ORDER}}
    for event, field in [
        ({"type": "order.reminder"}, "data.object"),  # data.object missing
        ({"type": "order.reminder", "data": {}}, "data.object"),
        ({"type": "order.reminder", "data": {"object": "ord-1"}}, "data.object"),
        ({"type": "order.reminder", "data": []}, "data.object"),
        ({**no_object, "created": "1700000000"}, "created"),  # created as a string
        ({**no_object, "created": "2024-01-01T00:00:00Z"}, "created"),
        ({**no_object, "created": 1.5}, "created"),
        ({**no_object, "created": -1}, "created"),
        ({**no_object, "created": True}, "created"),
        ({**no_object, "created": 2**63}, "created"),
        ({"data": {"object": {}}}, "type"),
        ({**no_object, "type": "order.nope"}, "type"),
        ({**no_object, "type": 5}, "type"),
        ({**no_object, "id": ""}, "id"),
        ({**no_object, "id": 7}, "id"),
        ({**no_object, "id": "x" * 101}, "id"),
        ({**no_object, "context": "web"}, "context"),
        (
            {"type": "order.reminder", "data": {"object": {**ORDER, "public_id": "p" * 101}}},
            "data.object.public_id",
        ),
    ]:
        _problem(await merchant.call("POST", "/v1/events", json=event), 400, field)
        batch = {"events": [_event("evt-ok"), event]}
        _problem(await merchant.call("POST", "/v1/events", json=batch), 400, "events[1]." + field)
    assert await _event_ids(merchant) == []


async def test_read_back_events(merchant: Client) -> None:
    event = _event("evt-read", context={"channel": "web"})
    await merchant.ok("POST", "/v1/events", 202, json=event)
    await merchant.ok("POST", "/v1/events", 202, json=_event("evt-sub", "subscription.cancel"))
    stored = await merchant.ok("GET", "/v1/events/evt-read")
    assert stored["id"] == "evt-read" and stored["type"] == "order.reminder"
    assert stored["created"] == 1_700_000_000 and stored["received"].endswith("Z")
    assert stored["data"] == event["data"] and stored["context"] == {"channel": "web"}

    listed = await merchant.ok("GET", "/v1/events")
    assert [e["id"] for e in listed["data"]] == ["evt-sub", "evt-read"] and listed["next_cursor"] is None
    assert listed["data"][1] == stored
    by_type = await merchant.ok("GET", "/v1/events", params={"type": "subscription.cancel"})
    assert [e["id"] for e in by_type["data"]] == ["evt-sub"]
    _problem(await merchant.call("GET", "/v1/events/evt-missing"), 404)


async def test_event_list_is_paginated(merchant: Client) -> None:
    ids = [f"evt-{i:02d}" for i in range(7)]
    await merchant.ok("POST", "/v1/events", 202, json={"events": [_event(i) for i in ids[:4]]})
    for event_id in ids[4:]:
        await merchant.ok("POST", "/v1/events", 202, json=_event(event_id))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await merchant.ok("GET", "/v1/events", params=params)
        assert len(page["data"]) <= 2
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ids and len(seen) == len(set(seen))
    assert seen[:3] == ["evt-06", "evt-05", "evt-04"]  # newest received first


async def test_event_types_catalogue(merchant: Client) -> None:
    body = await merchant.ok("GET", "/v1/event-types")
    rows = body["data"]
    assert rows and all(set(r) == {"type", "family", "description"} for r in rows)
    assert all(r["type"].startswith(r["family"] + ".") and r["description"] for r in rows)
    types = [r["type"] for r in rows]
    assert "order.reminder" in types and "subscription.cancel" in types and "subscriber.create" in types
    assert {r["family"] for r in rows} == {"subscriber", "subscription", "order", "item", "hookline"}
    assert not any(t.startswith("entitlement.") for t in types)
    assert types == [t.type for t in catalog.event_types()]
    assert {
        "type": "order.reminder",
        "family": "order",
        "description": rows[types.index("order.reminder")]["description"],
    } in rows


async def test_event_types_with_entitlements_enabled(db_url: str) -> None:
    async with running_app(app_settings(db_url, entitlements=True), worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        rows = (await operator.ok("GET", "/v1/event-types"))["data"]
        assert "entitlement.entitlements_granted" in [r["type"] for r in rows]
        body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Digital"})
        merchant = Client(http, body["api_key"])
        await merchant.ok("POST", "/v1/events", 202, json=_event("evt-e", "entitlement.entitlements_granted"))


async def test_other_merchant_cannot_see_an_event(operator: Client, merchant: Client) -> None:
    other_body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    other = Client(operator.http, other_body["api_key"])
    await merchant.ok("POST", "/v1/events", 202, json=_event("evt-secret"))

    foreign = await other.call("GET", "/v1/events/evt-secret")
    missing = await other.call("GET", "/v1/events/evt-never")
    _problem(foreign, 404)
    assert foreign.json() == {
        **missing.json(),
        "detail": missing.json()["detail"].replace("evt-never", "evt-secret"),
    }
    assert await _event_ids(other) == []

    # Event ids are per merchant: the other merchant's own evt-secret is a new, different event.
    theirs = await other.ok("POST", "/v1/events", 202, json=_event("evt-secret", created=5))
    assert theirs["id"] == "evt-secret"
    assert (await other.ok("GET", "/v1/events/evt-secret"))["created"] == 5
    assert (await merchant.ok("GET", "/v1/events/evt-secret"))["created"] == 1_700_000_000


async def test_hooklines_own_notices_cannot_be_posted(merchant: Client) -> None:
    event = {"type": "hookline.route.halted", "data": {"object": {"type": "route", "route_id": "rte_x"}}}
    refused = await merchant.call("POST", "/v1/events", json=event)
    assert refused.status_code == 400 and "cannot be posted" in refused.json()["detail"]


async def test_created_may_be_an_integral_number(merchant: Client) -> None:
    """JSON Schema's integers include ``1700000000.0``, and the document says ``integer``: it is accepted as
    the integer it is (``1.5`` is not: see the invalid events above)."""
    await merchant.ok("POST", "/v1/events", 202, json=_event(created=1_700_000_000.0))
    assert (await merchant.ok("GET", "/v1/events/evt-1"))["created"] == 1_700_000_000
