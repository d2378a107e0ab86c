"""Payload shaping over the API: route settings, their validation, PATCH set/clear, and the preview."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from conftest import Client
from support.receiver import Receiver

RENAME = "{order: data.object.public_id, email: snapshot.customer.email}"


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])], body
    return body


async def _route(merchant: Client, url: str = "http://127.0.0.1:9/hook", **extra: Any) -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    body = {"name": "orders", "target_id": target["id"], "event_types": ["order.*"], **extra}
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json=body)
    return route


def _event(event_id: str = "evt-1", type_: str = "order.reminder") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": type_,
        "created": 1_700_000_000,
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "cust-1", "total": "25.00"}},
    }


async def test_routes_show_no_shaping_by_default(merchant: Client) -> None:
    route = await _route(merchant)
    assert route["fields"] == {"include": None, "exclude": None} and route["transform"] is None


async def test_shaping_settings_are_saved_and_shown(merchant: Client) -> None:
    route = await _route(
        merchant,
        fields_include=["data.object", "snapshot.customer.email", "data.object"],
        fields_exclude=["data.object.extra_data"],
        transform=RENAME,
    )
    assert route["fields"] == {
        "include": ["data.object", "snapshot.customer.email"],
        "exclude": ["data.object.extra_data"],
    }
    assert route["transform"] == RENAME
    assert await merchant.ok("GET", f"/v1/routes/{route['id']}") == route


@pytest.mark.parametrize(
    ("transform", "says"),
    [
        ("{order: data.object.public_id", "ends too early"),
        ("data.object.", "not a valid JMESPath expression"),
        ("nope(@)", "unknown function"),
        ("length(@, @)", "takes 1 argument"),
        ("a" * 2001, "2000 characters"),
    ],
)
async def test_a_bad_transform_is_refused_naming_it(merchant: Client, transform: str, says: str) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    body = {"name": "r", "target_id": target["id"], "event_types": ["order.*"], "transform": transform}
    problem = _problem(await merchant.call("POST", "/v1/routes", json=body), 400, "transform")
    assert says in problem["detail"]
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []


@pytest.mark.parametrize(
    ("field", "paths", "says"),
    [
        ("fields_include", ["data..object"], "not a dotted path"),
        ("fields_include", [""], "non-empty"),
        ("fields_include", ["items[0].price"], "not a dotted path"),
        ("fields_include", [f"f{i}" for i in range(51)], "at most 50"),
        ("fields_exclude", ["id"], "always sent"),
        ("fields_exclude", ["snapshot customer"], "not a dotted path"),
    ],
)
async def test_bad_field_paths_are_refused_naming_them(
    merchant: Client, field: str, paths: list[str], says: str
) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    body = {"name": "r", "target_id": target["id"], "event_types": ["order.*"], field: paths}
    problem = _problem(await merchant.call("POST", "/v1/routes", json=body), 400, field)
    assert says in problem["detail"]


async def test_wrong_types_are_refused(merchant: Client) -> None:
    route = await _route(merchant)
    for body, field in [({"transform": 3}, "transform"), ({"fields_include": "data"}, "fields_include")]:
        _problem(await merchant.call("PATCH", f"/v1/routes/{route['id']}", json=body), 400, field)


async def test_patch_sets_keeps_and_clears(merchant: Client) -> None:
    route = await _route(merchant)
    path = f"/v1/routes/{route['id']}"
    changed = await merchant.ok("PATCH", path, json={"transform": RENAME, "fields_include": ["data.object"]})
    assert changed["transform"] == RENAME and changed["fields"] == {
        "include": ["data.object"],
        "exclude": None,
    }

    # A PATCH that does not name them leaves them alone.
    renamed = await merchant.ok("PATCH", path, json={"name": "renamed"})
    assert renamed["transform"] == RENAME and renamed["fields"]["include"] == ["data.object"]

    # A bad value is refused and changes nothing.
    _problem(await merchant.call("PATCH", path, json={"transform": "nope(@)"}), 400, "transform")
    _problem(await merchant.call("PATCH", path, json={"fields_exclude": ["type"]}), 400, "fields_exclude")
    assert (await merchant.ok("GET", path))["transform"] == RENAME

    # null clears; so do an empty list and an empty text (what a form sends).
    cleared = await merchant.ok("PATCH", path, json={"transform": None, "fields_include": None})
    assert cleared["transform"] is None and cleared["fields"] == {"include": None, "exclude": None}
    again = await merchant.ok("PATCH", path, json={"transform": RENAME, "fields_exclude": ["context"]})
    assert again["fields"]["exclude"] == ["context"]
    emptied = await merchant.ok("PATCH", path, json={"transform": "  ", "fields_exclude": []})
    assert emptied["transform"] is None and emptied["fields"]["exclude"] is None
    assert emptied["name"] == "renamed"


async def test_preview_without_an_event_uses_a_sample(merchant: Client) -> None:
    route = await _route(merchant, event_types=["order.reminder", "subscription.*"])
    answer = await merchant.ok("POST", f"/v1/routes/{route['id']}/preview", json={})
    body = answer["body"]
    assert answer["sample"] is True and answer["event_type"] == "order.reminder"
    assert body["type"] == "order.reminder" and body["id"] and isinstance(body["created"], int)
    assert body["data"]["object"]["type"] == "order" and body["data"]["object"]["public_id"]
    assert body["snapshot"] == {} and body["context"] == {}
    assert answer["bytes"] == len(orjson.dumps(body))

    # No body at all works too; a wildcard stands for the first type it selects.
    wild = await _route(
        merchant, event_types=["subscription.*"], transform="{type: type, sub: data.object.public_id}"
    )
    shown = await merchant.ok("POST", f"/v1/routes/{wild['id']}/preview")
    assert shown["body"]["type"] == "subscription.create" and shown["body"]["sub"]


async def test_a_sample_carries_the_snapshot_the_route_asks_for(merchant: Client) -> None:
    route = await _route(merchant, event_types=["order.reminder"], snapshot={"order": ["items", "customer"]})
    path = f"/v1/routes/{route['id']}/preview"
    body = (await merchant.ok("POST", path))["body"]
    assert list(body["snapshot"]) == ["customer", "items"]  # the envelope's order
    order = body["data"]["object"]
    assert body["snapshot"]["customer"]["merchant_user_id"] == order["customer"]  # one coherent customer
    assert {i["order"] for i in body["snapshot"]["items"]} == {order["public_id"]}
    # A snapshot given with the request stands instead of the sample's.
    given = await merchant.ok("POST", path, json={"snapshot": {"customer": {"email": "zoë@example.com"}}})
    assert given["sample"] is True and given["body"]["snapshot"] == {"customer": {"email": "zoë@example.com"}}


async def test_preview_with_an_event_and_a_snapshot(merchant: Client) -> None:
    route = await _route(merchant, transform=RENAME)
    request = {"event": _event(), "snapshot": {"customer": {"email": "zoë@example.com"}}}
    answer = await merchant.ok("POST", f"/v1/routes/{route['id']}/preview", json=request)
    assert answer["body"] == {"order": "ord-1", "email": "zoë@example.com"}
    assert answer["bytes"] == len('{"order":"ord-1","email":"zoë@example.com"}'.encode())
    assert answer["sample"] is False and answer["event_type"] == "order.reminder"

    selected = await _route(merchant, fields_include=["data.object.total"], fields_exclude=["context"])
    shown = await merchant.ok("POST", f"/v1/routes/{selected['id']}/preview", json={"event": _event()})
    assert shown["body"] == {"id": "evt-1", "type": "order.reminder", "data": {"object": {"total": "25.00"}}}


async def test_preview_can_try_settings_before_they_are_saved(merchant: Client) -> None:
    route = await _route(merchant, transform=RENAME)
    path = f"/v1/routes/{route['id']}/preview"
    tried = await merchant.ok("POST", path, json={"event": _event(), "transform": "data.object.total"})
    assert tried["body"] == "25.00"
    unshaped = await merchant.ok("POST", path, json={"event": _event(), "transform": None})
    assert unshaped["body"]["data"]["object"]["public_id"] == "ord-1"
    _problem(await merchant.call("POST", path, json={"transform": "nope(@)"}), 400, "transform")
    _problem(await merchant.call("POST", path, json={"fields_include": ["a..b"]}), 400, "fields_include")
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["transform"] == RENAME


async def test_preview_explains_a_failing_transform(merchant: Client) -> None:
    route = await _route(merchant, transform="length(data.object.total.nope)")
    problem = _problem(
        await merchant.call("POST", f"/v1/routes/{route['id']}/preview", json={"event": _event()}),
        400,
        "transform",
    )
    assert "length()" in problem["detail"]
    big = {**_event(), "data": {"object": {**_event()["data"]["object"], "note": "x" * 100_000}}}
    huge = await _route(merchant, transform="[data, data, data]")
    problem = _problem(
        await merchant.call("POST", f"/v1/routes/{huge['id']}/preview", json={"event": big}), 400
    )
    assert "262144 bytes" in problem["detail"]


async def test_preview_checks_the_event(merchant: Client) -> None:
    route = await _route(merchant)
    path = f"/v1/routes/{route['id']}/preview"
    _problem(
        await merchant.call("POST", path, json={"event": {**_event(), "type": "order.nope"}}),
        400,
        "event.type",
    )
    _problem(
        await merchant.call("POST", path, json={"event": {"type": "order.reminder"}}),
        400,
        "event.data.object",
    )
    _problem(await merchant.call("POST", path, json={"event": [1]}), 400, "event")
    _problem(await merchant.call("POST", path, json={"surprise": 1}), 400, "surprise")


async def test_preview_stores_nothing(merchant: Client) -> None:
    route = await _route(merchant)
    await merchant.ok("POST", f"/v1/routes/{route['id']}/preview", json={"event": _event()})
    await merchant.ok("POST", f"/v1/routes/{route['id']}/preview")
    assert (await merchant.ok("GET", "/v1/events"))["data"] == []
    assert (await merchant.ok("GET", "/v1/deliveries"))["data"] == []
    # The event id is still free: ingesting it now is a first time.
    assert (await merchant.ok("POST", "/v1/events", 202, json=_event()))["id"] == "evt-1"


async def test_preview_of_another_merchants_route_is_404(operator: Client, merchant: Client) -> None:
    other_body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    other = Client(operator.http, other_body["api_key"])
    route = await _route(merchant, transform=RENAME)
    path = f"/v1/routes/{route['id']}/preview"
    foreign = _problem(await other.call("POST", path, json={"event": _event()}), 404)
    missing = _problem(await other.call("POST", "/v1/routes/rte_01ARZ3NDEKTSV4RRFFQ69G5FAV/preview"), 404)
    assert foreign["title"] == missing["title"]
    # The operator reaches it by naming the merchant.
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    shown = await operator.ok("POST", f"{path}?merchant={mid}", json={"event": _event()})
    assert shown["body"] == {"order": "ord-1", "email": None}


async def test_the_receiver_gets_the_shaped_body(merchant: Client, receiver: Receiver) -> None:
    route = await _route(merchant, receiver.url + "/hook", fields_exclude=["context"], transform=RENAME)
    preview = await merchant.ok("POST", f"/v1/routes/{route['id']}/preview", json={"event": _event()})
    await merchant.ok("POST", "/v1/events", 202, json=_event())
    [request] = await receiver.wait_for(1, timeout=20)
    assert request.json() == preview["body"] == {"order": "ord-1", "email": None}
    assert len(request.body) == preview["bytes"]
