"""``/webhook_targets``: Ordergroove's API shapes, filter semantics, delivery through a managed route."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.core import catalog, filter_patterns, routing, signing
from hookline.service import ordergroove
from support.events import object_of
from support.receiver import Receiver, Status

TARGET_KEYS = {"id", "merchant", "target_url", "enabled", "created", "updated"}
FILTER_KEYS = {"id", "target", "pattern", "created"}
ORDER_TYPES = [t.type for t in catalog.event_types() if t.family == "order"]


def _detail(response: httpx.Response, status: int) -> str:
    """An Ordergroove-style error: the status, JSON, and exactly ``{"detail": str}``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str) and body["detail"], body
    detail: str = body["detail"]
    return detail


def _assert_target(body: dict[str, Any]) -> None:
    assert set(body) == TARGET_KEYS, body
    assert isinstance(body["id"], str) and isinstance(body["merchant"], str)
    assert isinstance(body["target_url"], str) and isinstance(body["enabled"], bool)
    for name in ("created", "updated"):
        assert type(body[name]) is int and abs(body[name] - time.time()) < 600, body


def _assert_filter(body: dict[str, Any], target_id: str) -> None:
    assert set(body) == FILTER_KEYS, body
    assert isinstance(body["id"], str) and body["target"] == target_id
    assert isinstance(body["pattern"], str)
    assert type(body["created"]) is int and abs(body["created"] - time.time()) < 600


async def _target(merchant: Client, url: str = "http://127.0.0.1:9/hook", **extra: Any) -> dict[str, Any]:
    body = {"merchant": merchant.merchant_id, "target_url": url, **extra}  # type: ignore[attr-defined]
    created: dict[str, Any] = await merchant.ok("POST", "/webhook_targets/", 201, json=body)
    return created


async def _route_of(merchant: Client, target_id: str) -> dict[str, Any]:
    routes = (await merchant.ok("GET", "/v1/routes", params={"limit": 500}))["data"]
    [route] = [r for r in routes if r["target_id"] == target_id]
    return dict(route)


async def _post_event(merchant: Client, kind: str, event_id: str) -> list[str]:
    event = {"id": event_id, "type": kind, "data": {"object": object_of(kind, event_id)}}
    deliveries: list[str] = (await merchant.ok("POST", "/v1/events", 202, json=event))["deliveries"]
    return deliveries


async def _wait_status(merchant: Client, delivery_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if body["status"] == status:
            return body
        assert time.monotonic() < deadline, f"delivery never became {status}: {body}"
        await asyncio.sleep(0.05)


def _path(url: str) -> str:
    """A link from the API, relative to the test client's base URL."""
    parsed = httpx.URL(url)
    return parsed.raw_path.decode()


# ---- targets ---------------------------------------------------------------------------------------------


async def test_target_create_get_patch_delete_shapes(merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    created = await _target(merchant, enabled=True)
    _assert_target(created)
    assert created["merchant"] == mid and created["target_url"] == "http://127.0.0.1:9/hook"
    assert created["enabled"] is True and created["created"] == created["updated"]
    assert "signing_key" not in created

    # Without the trailing slash too, and ``enabled`` defaults to true.
    plain = await merchant.ok(
        "POST", "/webhook_targets", 201, json={"merchant": mid, "target_url": "http://127.0.0.1:9/b"}
    )
    _assert_target(plain)
    assert plain["enabled"] is True

    tid = created["id"]
    assert await merchant.ok("GET", f"/webhook_targets/{tid}") == created
    assert await merchant.ok("GET", f"/webhook_targets/{tid}/") == created

    patched = await merchant.ok(
        "PATCH", f"/webhook_targets/{tid}", json={"target_url": "http://127.0.0.1:9/new", "enabled": False}
    )
    _assert_target(patched)
    assert patched["target_url"] == "http://127.0.0.1:9/new" and patched["enabled"] is False
    assert patched["created"] == created["created"] and patched["updated"] >= created["updated"]
    only = await merchant.ok("PATCH", f"/webhook_targets/{tid}", json={"enabled": True})
    assert only["target_url"] == "http://127.0.0.1:9/new" and only["enabled"] is True

    assert (await merchant.call("DELETE", f"/webhook_targets/{tid}")).status_code == 204
    assert "not found" in _detail(await merchant.call("GET", f"/webhook_targets/{tid}"), 404)
    _detail(await merchant.call("DELETE", f"/webhook_targets/{tid}"), 404)
    listed = (await merchant.ok("GET", "/webhook_targets"))["results"]
    assert [t["id"] for t in listed] == [plain["id"]]


async def test_target_errors_are_detail_json(merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    assert "target_url" in _detail(
        await merchant.call("POST", "/webhook_targets/", json={"merchant": mid}), 400
    )
    _detail(
        await merchant.call("POST", "/webhook_targets/", json={"merchant": mid, "target_url": "ftp://x/"}),
        400,
    )
    _detail(await merchant.call("POST", "/webhook_targets/", content=b"{not json"), 400)
    _detail(await merchant.call("GET", "/webhook_targets/tgt_01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404)
    _detail(await merchant.call("PATCH", "/webhook_targets/nope", json={"enabled": False}), 404)
    tid = (await _target(merchant))["id"]
    _detail(await merchant.call("PATCH", f"/webhook_targets/{tid}", json={"target_url": "nope"}), 400)
    _detail(await merchant.call("PATCH", f"/webhook_targets/{tid}", json={"enabled": "perhaps"}), 400)
    # Unknown body fields are ignored, as Ordergroove's API does.
    body = {"merchant": mid, "target_url": "http://127.0.0.1:9/x", "id": "mine", "extra": 1}
    _assert_target(await merchant.ok("POST", "/webhook_targets/", 201, json=body))


async def test_auth_same_keys_and_merchant_must_match(operator: Client, merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    _detail(await merchant.http.get("/webhook_targets"), 401)
    by_header = await merchant.http.get("/webhook_targets", headers={"x-api-key": merchant.key})
    assert by_header.status_code == 200 and by_header.json()["results"] == []

    other = await new_merchant(operator)
    mine = {"merchant": mid, "target_url": "http://127.0.0.1:9/x"}
    _detail(await other.call("POST", "/webhook_targets/", json=mine), 403)
    assert (await merchant.ok("GET", "/webhook_targets"))["results"] == []

    # The operator names the merchant in the body (or with ?merchant=), and must name one.
    made = await operator.ok("POST", "/webhook_targets/", 201, json=mine)
    assert made["merchant"] == mid
    _detail(await operator.call("POST", "/webhook_targets/", json={"target_url": "http://127.0.0.1:9/"}), 400)
    _detail(await operator.call("GET", "/webhook_targets"), 400)
    listed = await operator.ok("GET", "/webhook_targets", params={"merchant": mid})
    assert [t["id"] for t in listed["results"]] == [made["id"]]
    assert (await merchant.ok("GET", f"/webhook_targets/{made['id']}")) == made


async def test_list_pages_with_next_and_previous(merchant: Client) -> None:
    ids = [(await _target(merchant, f"http://127.0.0.1:9/{i}"))["id"] for i in range(21)]
    first = await merchant.ok("GET", "/webhook_targets")
    assert set(first) == {"next", "previous", "results"}
    assert first["previous"] is None and len(first["results"]) == 20
    for item in first["results"]:
        _assert_target(item)
    assert [t["id"] for t in first["results"]] == ids[:20]  # oldest first: page numbers stay stable
    assert isinstance(first["next"], str) and "page=2" in first["next"]
    assert first["next"].startswith("http://hookline.test/webhook_targets")
    second = await merchant.ok("GET", _path(first["next"]))
    assert [t["id"] for t in second["results"]] == ids[20:]
    assert second["next"] is None and "page=1" in second["previous"]
    assert await merchant.ok("GET", _path(second["previous"])) == first

    # page_size, carried along in the links.
    seen: list[str] = []
    link: str | None = "/webhook_targets/?page_size=8"
    pages = 0
    while link is not None:
        body = await merchant.ok("GET", _path(link))
        assert len(body["results"]) <= 8 and (body["previous"] is None) == (pages == 0)
        seen += [t["id"] for t in body["results"]]
        link, pages = body["next"], pages + 1
        assert link is None or "page_size=8" in link
    assert seen == ids and pages == 3

    assert _detail(await merchant.call("GET", "/webhook_targets", params={"page": 4}), 404) == "Invalid page."
    _detail(await merchant.call("GET", "/webhook_targets", params={"page": "abc"}), 404)
    _detail(await merchant.call("GET", "/webhook_targets", params={"page": 0}), 404)
    big = await merchant.ok("GET", "/webhook_targets", params={"page_size": 1000})
    assert len(big["results"]) == 21 and big["next"] is None


async def test_v1_targets_and_routes_are_not_managed_here(merchant: Client) -> None:
    plain = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/v1"})
    route = await merchant.ok(
        "POST", "/v1/routes", 201, json={"name": "r", "target_id": plain["id"], "event_types": ["order.*"]}
    )
    assert (await merchant.ok("GET", "/webhook_targets"))["results"] == []
    for path in ("", "/signing_key", "/metrics", "/filters"):
        _detail(await merchant.call("GET", f"/webhook_targets/{plain['id']}{path}"), 404)
    _detail(
        await merchant.call("POST", f"/webhook_targets/{plain['id']}/filters", json={"pattern": "x"}), 404
    )
    _detail(await merchant.call("DELETE", f"/webhook_targets/{plain['id']}"), 404)
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["event_types"] == ["order.*"]


async def test_managed_route_follows_the_target(merchant: Client) -> None:
    target = await _target(merchant)
    route = await _route_of(merchant, target["id"])
    assert route["name"] == f"Ordergroove target {target['id']}"
    assert route["event_types"] == ["*"] and route["state"] == "active"

    await merchant.ok("PATCH", f"/webhook_targets/{target['id']}", json={"enabled": False})
    assert (await _route_of(merchant, target["id"]))["state"] == "disabled"
    await merchant.ok("PATCH", f"/webhook_targets/{target['id']}", json={"enabled": True})
    assert (await _route_of(merchant, target["id"]))["state"] == "active"

    disabled = await _target(merchant, "http://127.0.0.1:9/off", enabled=False)
    assert disabled["enabled"] is False
    assert (await _route_of(merchant, disabled["id"]))["state"] == "disabled"


# ---- filters ---------------------------------------------------------------------------------------------


async def test_filter_crud_shapes_and_route_event_types(merchant: Client) -> None:
    tid = (await _target(merchant))["id"]
    base = f"/webhook_targets/{tid}/filters"
    empty = await merchant.ok("GET", base)
    assert empty == {"next": None, "previous": None, "results": []}

    created = await merchant.ok("POST", base, 201, json={"pattern": "order.*"})
    _assert_filter(created, tid)
    assert created["pattern"] == "order.*"
    assert (await _route_of(merchant, tid))["event_types"] == ["order.*"]
    assert routing.expand((await _route_of(merchant, tid))["event_types"]) == ORDER_TYPES
    assert await merchant.ok("GET", f"{base}/{created['id']}") == created
    assert await merchant.ok("GET", f"{base}/{created['id']}/") == created

    second = await merchant.ok("POST", base + "/", 201, json={"pattern": "subscription.cancel|item.create"})
    _assert_filter(second, tid)
    listed = await merchant.ok("GET", base)
    assert set(listed) == {"next", "previous", "results"}
    assert [f["id"] for f in listed["results"]] == [created["id"], second["id"]]
    union = {*ORDER_TYPES, "subscription.cancel", "item.create"}
    assert set(routing.expand((await _route_of(merchant, tid))["event_types"])) == union

    patched = await merchant.ok("PATCH", f"{base}/{created['id']}", json={"pattern": "order.success"})
    _assert_filter(patched, tid)
    assert patched["pattern"] == "order.success" and patched["created"] == created["created"]
    assert set((await _route_of(merchant, tid))["event_types"]) == {
        "order.success",
        "subscription.cancel",
        "item.create",
    }
    assert await merchant.ok("PATCH", f"{base}/{created['id']}", json={}) == patched

    # Ordergroove's docs show a body on DELETE: it is accepted and ignored.
    gone = await merchant.call("DELETE", f"{base}/{created['id']}", json={"pattern": "order.success"})
    assert gone.status_code == 204
    _detail(await merchant.call("GET", f"{base}/{created['id']}"), 404)
    assert set((await _route_of(merchant, tid))["event_types"]) == {"subscription.cancel", "item.create"}

    # The last filter gone, the target takes every event type again (our choice: Ordergroove says nothing).
    assert (await merchant.call("DELETE", f"{base}/{second['id']}")).status_code == 204
    assert (await _route_of(merchant, tid))["event_types"] == ["*"]


async def test_filter_list_pages(merchant: Client) -> None:
    tid = (await _target(merchant))["id"]
    base = f"/webhook_targets/{tid}/filters"
    made = [
        (await merchant.ok("POST", base, 201, json={"pattern": t}))["id"]
        for t in ("order.success", "order.cancel", "item.create")
    ]
    first = await merchant.ok("GET", base, params={"page_size": 2})
    assert [f["id"] for f in first["results"]] == made[:2] and first["previous"] is None
    second = await merchant.ok("GET", _path(first["next"]))
    assert [f["id"] for f in second["results"]] == made[2:] and second["next"] is None
    assert second["previous"] is not None


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("order.(", "regular expression syntax is not accepted"),
        ("x" * 501, "500"),
        ("|".join(["a"] * 51), "more than 50"),
        ("(.*)*x", "not a filter pattern"),
        ("([a-z_.]+)+x", "not a filter pattern"),
        (".?" * 17 + "x", "not a filter pattern"),
        (".*.*.*.*", "not a filter pattern"),
        ("(?x)order.*", "not a filter pattern"),
        ("(?x:(.|.) *)Z", "not a filter pattern"),  # held the event loop for hours as a regex
        ("order.*|", "not a filter pattern"),
        ("order*", "not a filter pattern"),  # a regex's "orde" then any number of "r": not a family
        ("order\\.*", "not a filter pattern"),  # "order" then any number of dots
        ("hookline.route.*", "not a filter pattern"),  # a wildcard stands for a whole family
        ("*.create", "not a filter pattern"),
        ("order. success", "not a filter pattern"),
        ("", "pattern"),
    ],
)
async def test_filter_pattern_validation(merchant: Client, pattern: str, words: str) -> None:
    tid = (await _target(merchant))["id"]
    started = time.monotonic()
    response = await merchant.call("POST", f"/webhook_targets/{tid}/filters", json={"pattern": pattern})
    assert words in _detail(response, 400)
    assert time.monotonic() - started < 5  # a refused pattern is refused before it is ever run at length
    assert (await merchant.ok("GET", f"/webhook_targets/{tid}/filters"))["results"] == []
    assert (await _route_of(merchant, tid))["event_types"] == ["*"]


@pytest.mark.parametrize(
    ("pattern", "event_types"),
    [
        ("create|cancel", ["create", "cancel"]),  # anchored: a bare action selects nothing
        ("suborder.*", ["suborder.*"]),
        ("order.refund", ["order.refund"]),
        ("entitlement.*", ["entitlement.*"]),  # that family is off unless the operator enables it
    ],
)
async def test_patterns_matching_no_event_type_yet_are_kept(
    merchant: Client, pattern: str, event_types: list[str]
) -> None:
    """Ordergroove keeps a filter that matches no event type; it selects events once such a type exists.
    (They were refused with a 400 before.)"""
    tid = (await _target(merchant))["id"]
    created = await merchant.ok("POST", f"/webhook_targets/{tid}/filters", 201, json={"pattern": pattern})
    assert created["pattern"] == pattern
    route = await _route_of(merchant, tid)
    assert route["event_types"] == event_types
    assert routing.expand(route["event_types"]) == []


async def test_a_kept_family_starts_matching_when_enabled(db_url: str) -> None:
    """``entitlement.*`` saved while the family is off selects entitlement events once the operator
    enables the family: the route keeps the wildcard, not today's catalogue."""
    for entitlements in (False, True):
        settings = app_settings(db_url, entitlements=entitlements)
        async with running_app(settings, worker=False) as http:
            operator = Client(http, OPERATOR_KEY)
            if not entitlements:
                created = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme"})
                merchant = Client(http, created["api_key"])
                merchant.merchant_id = created["id"]  # type: ignore[attr-defined]
                tid = (await _target(merchant))["id"]
                await merchant.ok(
                    "POST", f"/webhook_targets/{tid}/filters", 201, json={"pattern": "entitlement.*"}
                )
                continue
            merchant = Client(http, created["api_key"])
            event = {
                "type": "entitlement.entitlements_granted",
                "data": {"object": object_of("entitlement.entitlements_granted", "ent-1")},
            }
            accepted = await merchant.ok("POST", "/v1/events", 202, json=event)
            assert len(accepted["deliveries"]) == 1


async def test_too_many_event_types_for_one_target(merchant: Client) -> None:
    tid = (await _target(merchant))["id"]
    base = f"/webhook_targets/{tid}/filters"
    for n in range(4):
        names = "|".join(f"f{n}.t{i}" for i in range(25))
        await merchant.ok("POST", base, 201, json={"pattern": names})
    response = await merchant.call("POST", base, json={"pattern": "order.success"})
    assert "at most 100 event types" in _detail(response, 400)
    assert len((await merchant.ok("GET", base))["results"]) == 4
    assert len((await _route_of(merchant, tid))["event_types"]) == 100


async def test_filter_errors(merchant: Client) -> None:
    tid = (await _target(merchant))["id"]
    base = f"/webhook_targets/{tid}/filters"
    fid = (await merchant.ok("POST", base, 201, json={"pattern": "order.*"}))["id"]
    _detail(await merchant.call("POST", base, json={}), 400)
    _detail(await merchant.call("POST", base, json={"pattern": 5}), 400)
    _detail(await merchant.call("PATCH", f"{base}/{fid}", json={"pattern": "nothing (here)"}), 400)
    assert (await merchant.ok("GET", f"{base}/{fid}"))["pattern"] == "order.*"
    for method in ("GET", "PATCH", "DELETE"):
        _detail(await merchant.call(method, f"{base}/flt_01ARZ3NDEKTSV4RRFFQ69G5FAV", json={}), 404)
    other = (await _target(merchant, "http://127.0.0.1:9/other"))["id"]
    _detail(await merchant.call("GET", f"/webhook_targets/{other}/filters/{fid}"), 404)  # not that target's
    _detail(await merchant.call("GET", "/webhook_targets/nope/filters"), 404)


async def test_concurrent_filter_changes_all_count(merchant: Client) -> None:
    tid = (await _target(merchant))["id"]
    patterns = ["order.success", "order.cancel", "item.create", "subscription.cancel", "subscriber.create"]
    await asyncio.gather(
        *(merchant.ok("POST", f"/webhook_targets/{tid}/filters", 201, json={"pattern": p}) for p in patterns)
    )
    assert set((await _route_of(merchant, tid))["event_types"]) == set(patterns)


def _selects(pattern: str, event_type: str) -> bool:
    return routing.matches(filter_patterns.compile_pattern(pattern), event_type)


def test_patterns_are_anchored() -> None:
    assert _selects("order.*", "order.success")
    assert _selects("order\\..*", "order.success")
    assert _selects("^order\\.success$", "order.success")
    assert not _selects("order.*", "suborder.x")
    assert not _selects("order", "order.success")
    assert _selects("subscription.*|order.*", "subscription.cancel")
    assert _selects("subscription.*|order.*", "order.reminder")
    assert not _selects("subscription.*|order.*", "subscriber.create")
    assert not _selects("subscription.*|order.*", "item.create")
    assert _selects(".*", "item.create") and _selects("*", "item.create")
    assert ordergroove.event_types_for(["order.*"]) == ["order.*"]
    assert ordergroove.event_types_for([]) == ["*"]
    assert ordergroove.event_types_for(["order.*|item.create", "item.create|order\\..*"]) == [
        "order.*",
        "item.create",
    ]


HOSTILE = [
    "(?x:(.|.) *)Z",
    "(.*)*x",
    "(a+)+$",
    "([a-z_.]+)+x",
    ".*.*.*.*.*.*.*.*.*.*x",
    "x{1000000000}",
    "(" * 250 + ")" * 250,
    "a|" * 249 + "a",
    ("order.success|" * 50)[:-1],
    "order." + "a" * 494,
    "\\." * 250,
]


@pytest.mark.parametrize("pattern", HOSTILE)
def test_no_pattern_costs_more_than_a_millisecond(pattern: str) -> None:
    """Saving (compiling) a pattern and matching every catalogue type against it, whatever a merchant
    sends: the best of a few runs, so that a busy machine does not make it fail."""
    types = [t.type for t in catalog.event_types(entitlements=True)]

    def apply() -> None:
        try:
            compiled = filter_patterns.compile_pattern(pattern)
        except Exception:
            return
        for name in types:
            routing.matches(compiled, name)

    best = min(_timed(apply) for _ in range(5))
    assert best < 0.001, best


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# ---- signing key -----------------------------------------------------------------------------------------


async def test_signing_key_and_rotation_shapes(merchant: Client) -> None:
    tid = (await _target(merchant))["id"]
    keys = await merchant.ok("GET", f"/webhook_targets/{tid}/signing_key")
    assert (
        set(keys) == {"signing_key"}
        and isinstance(keys["signing_key"], str)
        and len(keys["signing_key"]) >= 32
    )
    assert await merchant.ok("GET", f"/webhook_targets/{tid}/signing_key/") == keys

    before = time.time()
    first = await merchant.ok("PATCH", f"/webhook_targets/{tid}/signing_key/rotate")
    assert set(first) == {"signing_key", "expiring_signing_key", "signing_key_expiry"}
    assert (
        first["signing_key"] != keys["signing_key"] and first["expiring_signing_key"] == keys["signing_key"]
    )
    assert type(first["signing_key_expiry"]) is int
    assert before + 24 * 3600 - 5 <= first["signing_key_expiry"] <= time.time() + 24 * 3600 + 5
    # After a rotation the plain GET shows only the new key.
    assert await merchant.ok("GET", f"/webhook_targets/{tid}/signing_key") == {
        "signing_key": first["signing_key"]
    }

    second = await merchant.ok("POST", f"/webhook_targets/{tid}/signing_key/rotate")
    assert second["signing_key"] not in (keys["signing_key"], first["signing_key"])
    assert second["expiring_signing_key"] == keys["signing_key"]
    assert second["signing_key_expiry"] == first["signing_key_expiry"]  # the window is not extended
    # The same key as /v1 shows, since it is the same target.
    v1 = await merchant.ok("GET", f"/v1/targets/{tid}/signing-key")
    assert v1["signing_key"] == second["signing_key"]


# ---- delivery --------------------------------------------------------------------------------------------


async def test_delivery_follows_the_filters(merchant: Client, receiver: Receiver) -> None:
    target = await _target(merchant, receiver.url + "/og")
    tid = target["id"]
    await merchant.ok(
        "POST", f"/webhook_targets/{tid}/filters", 201, json={"pattern": "subscription.*|order.success"}
    )
    key = (await merchant.ok("GET", f"/webhook_targets/{tid}/signing_key"))["signing_key"]

    assert await _post_event(merchant, "order.reminder", "evt-reminder") == []
    assert await _post_event(merchant, "item.create", "evt-item") == []
    assert await _post_event(merchant, "subscriber.create", "evt-subscriber") == []  # not subscription.*
    [success] = await _post_event(merchant, "order.success", "evt-success")
    [cancel] = await _post_event(merchant, "subscription.cancel", "evt-cancel")

    received = await receiver.wait_for(2, path="/og", timeout=20)
    assert sorted(r.json()["type"] for r in received) == ["order.success", "subscription.cancel"]
    for request in received:
        header = request.headers["ordergroove-signature"]
        assert signing.verify_ordergroove(key.encode(), header, request.body, now=int(time.time()))
    await _wait_status(merchant, success, "success")
    await _wait_status(merchant, cancel, "success")

    # A filter change applies to the next events.
    await merchant.ok("POST", f"/webhook_targets/{tid}/filters", 201, json={"pattern": "item.create"})
    [item] = await _post_event(merchant, "item.create", "evt-item-2")
    await _wait_status(merchant, item, "success")
    assert len(receiver.on("/og")) == 3


async def test_disabling_and_deleting_cancel_pending(merchant: Client, receiver: Receiver) -> None:
    receiver.respond("/down", Status(500))
    target = await _target(merchant, receiver.url + "/down")
    tid = target["id"]
    [first] = await _post_event(merchant, "order.success", "evt-1")
    await receiver.wait_for(1, path="/down", timeout=20)
    await _wait_status(merchant, first, "pending")  # failed once; the next try is a minute away

    await merchant.ok("PATCH", f"/webhook_targets/{tid}", json={"enabled": False})
    await _wait_status(merchant, first, "canceled")
    assert await _post_event(merchant, "order.success", "evt-2") == []

    await merchant.ok("PATCH", f"/webhook_targets/{tid}", json={"enabled": True})
    [third] = await _post_event(merchant, "order.success", "evt-3")
    await receiver.wait_for(2, path="/down", timeout=20)
    await _wait_status(merchant, third, "pending")
    route_id = (await _route_of(merchant, tid))["id"]

    assert (await merchant.call("DELETE", f"/webhook_targets/{tid}")).status_code == 204
    await _wait_status(merchant, third, "canceled")
    assert (await merchant.call("GET", f"/v1/routes/{route_id}")).status_code == 404
    assert (await merchant.call("GET", f"/v1/targets/{tid}")).status_code == 404
    assert await _post_event(merchant, "order.success", "evt-4") == []


async def test_delete_refuses_while_a_v1_route_uses_the_target(merchant: Client) -> None:
    tid = (await _target(merchant))["id"]
    extra = await merchant.ok(
        "POST", "/v1/routes", 201, json={"name": "mine", "target_id": tid, "event_types": ["order.*"]}
    )
    assert extra["id"] in _detail(await merchant.call("DELETE", f"/webhook_targets/{tid}"), 409)
    assert (await merchant.ok("GET", f"/webhook_targets/{tid}"))["id"] == tid
    await merchant.ok("DELETE", f"/v1/routes/{extra['id']}", 204)
    assert (await merchant.call("DELETE", f"/webhook_targets/{tid}")).status_code == 204


# ---- metrics ---------------------------------------------------------------------------------------------


async def test_metrics_shape_and_counts(merchant: Client, receiver: Receiver) -> None:
    receiver.respond("/bad", Status(503))
    good = (await _target(merchant, receiver.url + "/good"))["id"]
    empty = await merchant.ok("GET", f"/webhook_targets/{good}/metrics")
    assert empty == {"failed": 0, "successful": 0, "successful_retries": 0, "pending_delivery": 0}

    await merchant.ok("POST", f"/webhook_targets/{good}/filters", 201, json={"pattern": "order.success"})
    [delivered] = await _post_event(merchant, "order.success", "evt-good")
    await _wait_status(merchant, delivered, "success")
    counts = await merchant.ok("GET", f"/webhook_targets/{good}/metrics")
    assert counts == {"failed": 0, "successful": 1, "successful_retries": 0, "pending_delivery": 0}
    assert all(type(v) is int for v in counts.values())

    bad = (await _target(merchant, receiver.url + "/bad"))["id"]
    await merchant.ok("POST", f"/webhook_targets/{bad}/filters", 201, json={"pattern": "item.create"})
    [waiting] = await _post_event(merchant, "item.create", "evt-bad")
    await receiver.wait_for(1, path="/bad", timeout=20)
    await _wait_status(merchant, waiting, "pending")
    assert await merchant.ok("GET", f"/webhook_targets/{bad}/metrics") == {
        "failed": 0,
        "successful": 0,
        "successful_retries": 0,
        "pending_delivery": 1,
    }


# ---- tenants ---------------------------------------------------------------------------------------------


async def test_other_merchant_gets_404_everywhere(operator: Client, merchant: Client) -> None:
    other = await new_merchant(operator)
    tid = (await _target(merchant))["id"]
    fid = (await merchant.ok("POST", f"/webhook_targets/{tid}/filters", 201, json={"pattern": "order.*"}))[
        "id"
    ]
    missing_t, missing_f = "tgt_01ARZ3NDEKTSV4RRFFQ69G5FAV", "flt_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/webhook_targets/{t}", None),
        ("PATCH", "/webhook_targets/{t}", {"enabled": False}),
        ("DELETE", "/webhook_targets/{t}", None),
        ("GET", "/webhook_targets/{t}/signing_key", None),
        ("PATCH", "/webhook_targets/{t}/signing_key/rotate", None),
        ("POST", "/webhook_targets/{t}/signing_key/rotate", None),
        ("GET", "/webhook_targets/{t}/metrics", None),
        ("GET", "/webhook_targets/{t}/filters", None),
        ("POST", "/webhook_targets/{t}/filters", {"pattern": "item.*"}),
        ("GET", "/webhook_targets/{t}/filters/{f}", None),
        ("PATCH", "/webhook_targets/{t}/filters/{f}", {"pattern": "item.*"}),
        ("DELETE", "/webhook_targets/{t}/filters/{f}", None),
    ]
    for method, path, body in calls:
        foreign = await other.call(method, path.format(t=tid, f=fid), json=body)
        missing = await other.call(method, path.format(t=missing_t, f=missing_f), json=body)
        detail = _detail(foreign, 404)
        assert detail == _detail(missing, 404).replace(missing_t, tid).replace(missing_f, fid), method + path
        assert "signing_key" not in foreign.text
    assert (await other.ok("GET", "/webhook_targets"))["results"] == []

    # Untouched.
    assert (await merchant.ok("GET", f"/webhook_targets/{tid}"))["enabled"] is True
    assert [
        f["pattern"] for f in (await merchant.ok("GET", f"/webhook_targets/{tid}/filters"))["results"]
    ] == ["order.*"]
    keys = await merchant.ok("GET", f"/v1/targets/{tid}/signing-key")
    assert keys["expiring_signing_key"] is None
