"""Routes: defaults, validation, custom headers, changes, deletion, halt and resume."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from support.events import object_of
from support.receiver import Receiver, Status


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


async def _target(merchant: Client, url: str = "http://127.0.0.1:9/hook") -> str:
    target: dict[str, Any] = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    return str(target["id"])


def _route(target_id: str, **extra: Any) -> dict[str, Any]:
    return {"name": "orders", "target_id": target_id, "event_types": ["order.*"], **extra}


def _event(event_id: str, type_: str = "order.reminder") -> dict[str, Any]:
    return {
        "id": event_id,
        "type": type_,
        "created": 1_700_000_000,
        "data": {"object": object_of(type_, event_id)},
    }


async def _wait(merchant: Client, delivery_id: str, check: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if check(body):
            return body
        assert time.monotonic() < deadline, f"delivery never {what}: {body}"
        await asyncio.sleep(0.05)


async def test_create_fills_defaults(merchant: Client) -> None:
    tid = await _target(merchant)
    response = await merchant.call("POST", "/v1/routes", json=_route(tid))
    assert response.status_code == 201, response.text
    route = response.json()
    assert route["id"].startswith("rte_") and route["merchant"] == merchant.merchant_id  # type: ignore[attr-defined]
    assert route["retry"] == {"initial_interval_s": 60, "max_interval_s": 600, "max_attempts": 60}
    assert route["timeout_s"] == 5 and route["headers"] == {} and route["state"] == "active"
    assert route["snapshot"] == {} and route["event_types"] == ["order.*"] and route["target_id"] == tid
    assert await merchant.ok("GET", f"/v1/routes/{route['id']}") == route
    assert [r["id"] for r in (await merchant.ok("GET", "/v1/routes"))["data"]] == [route["id"]]


async def test_given_settings_are_kept(merchant: Client) -> None:
    tid = await _target(merchant)
    route = await merchant.ok(
        "POST",
        "/v1/routes",
        201,
        json=_route(
            tid,
            event_types=["order.reminder", "subscription.cancel", "order.reminder"],
            state="halted",
            retry={"initial_interval_s": 5, "max_attempts": 3},
            timeout_s=2.5,
            headers={"X-Shop": "acme"},
            snapshot={"order": ["customer", "items", "products"]},
        ),
    )
    assert route["event_types"] == ["order.reminder", "subscription.cancel"]
    assert route["state"] == "halted" and route["timeout_s"] == 2.5 and route["headers"] == {"X-Shop": "acme"}
    assert route["retry"] == {"initial_interval_s": 5, "max_interval_s": 600, "max_attempts": 3}
    assert route["snapshot"] == {"order": ["customer", "items", "products"]}


async def test_known_types_and_wildcards_accepted(merchant: Client) -> None:
    tid = await _target(merchant)
    for types in [["order.*"], ["*"], ["subscription.cancel", "item.*"], ["subscriber.create"]]:
        route = await merchant.ok("POST", "/v1/routes", 201, json=_route(tid, event_types=types))
        assert route["event_types"] == types


async def test_unknown_event_type_is_400_naming_it(merchant: Client) -> None:
    tid = await _target(merchant)
    for bad in ["order.unknown", "orders.*", "entitlement.entitlements_granted", "order", "order.*.x"]:
        response = await merchant.call(
            "POST", "/v1/routes", json=_route(tid, event_types=["order.reminder", bad])
        )
        body = _problem(response, 400, "event_types")
        assert bad in body["detail"] and "order.reminder," not in body["detail"], body
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []


async def test_snapshot_rules(merchant: Client) -> None:
    tid = await _target(merchant)
    for snapshot, words in [
        ({"subscriber": ["orders"]}, "orders cannot be added to subscriber events"),
        ({"subscriber": ["customer", "items"]}, "items cannot be added to subscriber events"),
        ({"subscription": ["items"]}, "items cannot be added to subscription events"),
        ({"subscription": ["orders"]}, "orders cannot be added to subscription events"),
        ({"order": ["customer", "wishlist"]}, "unknown data 'wishlist'"),
        ({"refund": ["customer"]}, "unknown event family 'refund'"),
    ]:
        response = await merchant.call(
            "POST", "/v1/routes", json=_route(tid, snapshot=snapshot, event_types=["*"])
        )
        assert words in _problem(response, 400, "snapshot")["detail"]
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []

    for snapshot in [
        {"order": ["customer", "items", "products"]},
        {"order": ["customer", "items", "addresses", "payments", "subscriptions", "products", "orders"]},
        {"subscriber": ["customer", "subscriptions"]},
        {"item": ["items", "orders"]},
    ]:
        route = await merchant.ok(
            "POST", "/v1/routes", 201, json=_route(tid, snapshot=snapshot, event_types=["*"])
        )
        assert route["snapshot"] == snapshot


async def test_snapshot_rows_for_families_the_route_does_not_subscribe_to_are_400(merchant: Client) -> None:
    tid = await _target(merchant)
    orders_only = {"order": ["customer"], "subscriber": ["customer"], "item": ["items"]}
    response = await merchant.call("POST", "/v1/routes", json=_route(tid, snapshot=orders_only))
    detail = _problem(response, 400, "snapshot")["detail"]
    assert "does not subscribe to subscriber, item events" in detail and "order.*" in detail
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []

    # A named type subscribes to its family; an empty row asks for nothing and passes.
    body = _route(
        tid, event_types=["order.success", "item.create"], snapshot={**orders_only, "subscriber": []}
    )
    route = await merchant.ok("POST", "/v1/routes", 201, json=body)
    path = f"/v1/routes/{route['id']}"
    # A snapshot patched in is checked against the route's event types ...
    response = await merchant.call("PATCH", path, json={"snapshot": {"subscription": ["customer"]}})
    assert "does not subscribe to subscription events" in _problem(response, 400, "snapshot")["detail"]
    # ... and new event types against the snapshot kept (or the one sent with them).
    response = await merchant.call("PATCH", path, json={"event_types": ["order.*"]})
    assert "does not subscribe to item events" in _problem(response, 400, "snapshot")["detail"]
    unchanged = await merchant.ok("GET", path)
    assert unchanged["event_types"] == ["order.success", "item.create"]
    assert unchanged["snapshot"] == {**orders_only, "subscriber": []}
    patched = await merchant.ok(
        "PATCH", path, json={"event_types": ["order.*"], "snapshot": {"order": ["customer", "items"]}}
    )
    assert patched["snapshot"] == {"order": ["customer", "items"]}


async def test_reserved_or_malformed_headers_are_400(merchant: Client) -> None:
    tid = await _target(merchant)
    for name in [
        "Content-Type",
        "content-length",
        "webhook-signature",
        "Webhook-Id",
        "Ordergroove-Signature",
        "Host",
    ]:
        response = await merchant.call("POST", "/v1/routes", json=_route(tid, headers={name: "x"}))
        assert name in _problem(response, 400, "headers")["detail"]
    for headers in [{"Bad Header": "x"}, {"X-Ok": "a\r\nInjected: yes"}, {"": "x"}, {"X-Ok": "a\nb"}]:
        _problem(await merchant.call("POST", "/v1/routes", json=_route(tid, headers=headers)), 400, "headers")
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []


async def test_header_values_are_visible_ascii_and_framing_headers_are_reserved(merchant: Client) -> None:
    tid = await _target(merchant)
    hop_by_hop = ["Transfer-Encoding", "Content-Encoding", "Connection", "Upgrade", "Expect", "Trailer"]
    for name in [*hop_by_hop, "TE", "Keep-Alive", "Proxy-Authorization", "hookline-event-id", "User-Agent"]:
        response = await merchant.call("POST", "/v1/routes", json=_route(tid, headers={name: "x"}))
        assert name in _problem(response, 400, "headers")["detail"]
    # Vertical tab, form feed, line and paragraph separators, NEL, DEL, raw non-ASCII, other controls.
    for char in ["\x0b", "\x0c", "\u2028", "\u2029", "\x85", "\x7f", "\u00e9", "\x1b", "\u200b"]:
        response = await merchant.call(
            "POST", "/v1/routes", json=_route(tid, headers={"X-Shop": f"a{char}b"})
        )
        assert f"U+{ord(char):04X}" in _problem(response, 400, "headers")["detail"]
    twice = {"X-Shop": "a", "x-shop": "b"}
    _problem(await merchant.call("POST", "/v1/routes", json=_route(tid, headers=twice)), 400, "headers")
    too_long = {"X-Shop": "a" * 4097}
    _problem(await merchant.call("POST", "/v1/routes", json=_route(tid, headers=too_long)), 400, "headers")
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []

    # Spaces and tabs inside a value are kept; around it they mean nothing in HTTP, and are dropped.
    kept = {"X-Shop": "acme\tcoffee  co", "X-Quote": '"a: b", <c>', "X-Padded": "  v\t"}
    route = await merchant.ok("POST", "/v1/routes", 201, json=_route(tid, headers=kept))
    assert route["headers"] == {"X-Shop": "acme\tcoffee  co", "X-Quote": '"a: b", <c>', "X-Padded": "v"}
    for bad in [{"Connection": "close"}, {"X-Shop": "a\u2028X-Injected: yes"}]:
        _problem(await merchant.call("PATCH", f"/v1/routes/{route['id']}", json={"headers": bad}), 400)
    assert await merchant.ok("GET", f"/v1/routes/{route['id']}") == route


async def test_custom_headers_arrive_and_their_credentials_are_not_recorded(
    merchant: Client, receiver: Receiver
) -> None:
    tid = await _target(merchant, receiver.url + "/custom")
    secrets = {"Authorization": "Token s3cret", "X-Api-Key": "k3y", "Cookie": "s=c00kie"}
    await merchant.ok("POST", "/v1/routes", 201, json=_route(tid, headers={"X-Shop": "acme", **secrets}))
    answer = await merchant.ok("POST", "/v1/events", 202, json=_event("evt-h"))
    [request] = await receiver.wait_for(1, path="/custom")
    assert request.headers["x-shop"] == "acme" and request.headers["authorization"] == "Token s3cret"
    assert request.headers["x-api-key"] == "k3y" and request.headers["cookie"] == "s=c00kie"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["hookline-event-id"] == "evt-h"
    # The attempt's record (the API's, the dashboard's) keeps every header but the credentials' values.
    delivery = await _wait(merchant, answer["deliveries"][0], lambda d: d["attempts"], "attempted")
    recorded = delivery["attempts"][0]["request"]["headers"]
    assert {name: recorded[name] for name in secrets} == dict.fromkeys(secrets, "[redacted]")
    assert recorded["X-Shop"] == "acme" and recorded["Hookline-Event-Id"] == "evt-h"
    assert "s3cret" not in str(delivery) and "k3y" not in str(delivery) and "c00kie" not in str(delivery)


async def test_out_of_range_or_unknown_fields_are_400(merchant: Client) -> None:
    tid = await _target(merchant)
    refused: list[tuple[dict[str, Any], str]] = [
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": 0.1}, "timeout_s"),
        ({"timeout_s": 31}, "timeout_s"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"timeout_s": "fast"}, "timeout_s"),
        ({"retry": {"initial_interval_s": 0}}, "retry.initial_interval_s"),
        ({"retry": {"initial_interval_s": 3601}}, "retry.initial_interval_s"),
        ({"retry": {"max_interval_s": 86401}}, "retry.max_interval_s"),
        ({"retry": {"initial_interval_s": 100, "max_interval_s": 10}}, "retry.max_interval_s"),
        ({"retry": {"max_attempts": 0}}, "retry.max_attempts"),
        ({"retry": {"max_attempts": 201}}, "retry.max_attempts"),
        ({"retry": {"max_attempts": 2.5}}, "retry.max_attempts"),
        ({"retry": {"backoff": "linear"}}, "retry.backoff"),  # unknown fields, nested too
        ({"colour": "blue"}, "colour"),
        ({"state": "paused"}, "state"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"event_types": []}, "event_types"),
        ({"event_types": "order.*"}, "event_types"),
        ({"snapshot": {"order": "items"}}, "snapshot.order"),
    ]
    for extra, field in refused:
        _problem(await merchant.call("POST", "/v1/routes", json=_route(tid, **extra)), 400, field)
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []
    accepted: list[dict[str, Any]] = [
        {"timeout_s": 0.5},
        {"timeout_s": 30},
        {"retry": {"initial_interval_s": 1, "max_interval_s": 1}},
    ]
    for extra in accepted:
        await merchant.ok("POST", "/v1/routes", 201, json=_route(tid, **extra))


async def test_booleans_are_not_numbers(merchant: Client) -> None:
    tid = await _target(merchant)
    numbers: list[tuple[dict[str, Any], str]] = [
        ({"timeout_s": True}, "timeout_s"),
        ({"retry": {"initial_interval_s": True}}, "retry.initial_interval_s"),
        ({"retry": {"max_interval_s": True}}, "retry.max_interval_s"),
        ({"retry": {"max_attempts": True}}, "retry.max_attempts"),
        ({"retry": {"max_attempts": False}}, "retry.max_attempts"),
        ({"auto_halt": {"failures": False}}, "auto_halt.failures"),
        ({"auto_halt": {"window_s": True}}, "auto_halt.window_s"),
        ({"retry": {"max_attempts": "3"}}, "retry.max_attempts"),  # nor is a number in quotes
        ({"timeout_s": "5"}, "timeout_s"),
    ]
    for extra, field in numbers:
        _problem(await merchant.call("POST", "/v1/routes", json=_route(tid, **extra)), 400, field)
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []
    route = await merchant.ok("POST", "/v1/routes", 201, json=_route(tid, retry={"max_attempts": 3}))
    for extra, field in numbers:
        response = await merchant.call("PATCH", f"/v1/routes/{route['id']}", json=extra)
        _problem(response, 400, field)
    assert await merchant.ok("GET", f"/v1/routes/{route['id']}") == route
    # Whole numbers written with a fraction and integers for seconds stay numbers.
    patched = await merchant.ok(
        "PATCH", f"/v1/routes/{route['id']}", json={"timeout_s": 7, "retry": {"max_attempts": 4.0}}
    )
    assert patched["timeout_s"] == 7 and patched["retry"]["max_attempts"] == 4


# Characters that hide or reorder text: a right-to-left override, zero-width space, joiner and non-joiner,
# word joiner, byte-order mark, left-to-right mark, isolates, the line and paragraph separators, controls.
DISGUISING = ["\u202e", "\u200b", "\u200d", "\u200c", "\u2060", "\ufeff", "\u200e", "\u2066", "\u2028"]
DISGUISING += ["\u2029", "\x1b", "\t", "\n", "\x85"]


async def test_names_that_hide_or_reorder_text_are_400(merchant: Client) -> None:
    tid = await _target(merchant)
    for char in DISGUISING:
        response = await merchant.call("POST", "/v1/routes", json=_route(tid, name=f"pay{char}ments"))
        assert f"U+{ord(char):04X}" in _problem(response, 400, "name")["detail"]
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []
    route = await merchant.ok("POST", "/v1/routes", 201, json=_route(tid, name="Zahlungen für Ω ☕ 注文"))
    for char in DISGUISING:
        patch = {"name": f"{char}orders"}
        _problem(await merchant.call("PATCH", f"/v1/routes/{route['id']}", json=patch), 400, "name")
    assert await merchant.ok("GET", f"/v1/routes/{route['id']}") == route


async def test_missing_fields_are_400(merchant: Client) -> None:
    for missing in ("name", "target_id", "event_types"):
        body = _route("tgt_x")
        del body[missing]
        _problem(await merchant.call("POST", "/v1/routes", json=body), 400, missing)


async def test_target_of_another_merchant_or_missing_is_refused(operator: Client, merchant: Client) -> None:
    other = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    theirs = await operator.ok(
        "POST", "/v1/targets", 201, params={"merchant": other["id"]}, json={"url": "http://127.0.0.1:9/x"}
    )
    for tid in (theirs["id"], "tgt_01ARZ3NDEKTSV4RRFFQ69G5FAV"):
        response = await merchant.call("POST", "/v1/routes", json=_route(tid))
        assert response.status_code in (400, 404), response.text
        _problem(response, response.status_code, "target_id")
    mine = await merchant.ok("POST", "/v1/routes", 201, json=_route(await _target(merchant)))
    response = await merchant.call("PATCH", f"/v1/routes/{mine['id']}", json={"target_id": theirs["id"]})
    _problem(response, response.status_code, "target_id")
    assert response.status_code in (400, 404)
    assert (await merchant.ok("GET", f"/v1/routes/{mine['id']}"))["target_id"] == mine["target_id"]


async def test_patch_changes_only_what_is_given(merchant: Client) -> None:
    route = await merchant.ok("POST", "/v1/routes", 201, json=_route(await _target(merchant)))
    second_target = await _target(merchant, "http://127.0.0.1:9/second")
    await asyncio.sleep(0.01)
    patched = await merchant.ok(
        "PATCH",
        f"/v1/routes/{route['id']}",
        json={
            "name": "renamed",
            "target_id": second_target,
            "event_types": ["subscription.*"],
            "retry": {"max_attempts": 5},
            "timeout_s": 10,
            "headers": {"X-New": "1"},
            "snapshot": {"subscription": ["customer"]},
        },
    )
    assert patched["name"] == "renamed" and patched["target_id"] == second_target
    assert patched["event_types"] == ["subscription.*"] and patched["timeout_s"] == 10
    assert patched["retry"] == {"initial_interval_s": 60, "max_interval_s": 600, "max_attempts": 5}
    assert patched["headers"] == {"X-New": "1"} and patched["snapshot"] == {"subscription": ["customer"]}
    assert patched["created"] == route["created"] and patched["updated"] > route["updated"]
    assert await merchant.ok("GET", f"/v1/routes/{route['id']}") == patched

    disabled = await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"state": "disabled"})
    assert disabled["state"] == "disabled" and disabled["name"] == "renamed"

    for bad, field in [
        ({"timeout_s": 100}, "timeout_s"),
        ({"retry": {"max_attempts": 0}}, "retry.max_attempts"),
        ({"event_types": ["nope.*"]}, "event_types"),
        ({"headers": {"Content-Type": "text/plain"}}, "headers"),
        ({"snapshot": {"subscriber": ["items"]}}, "snapshot"),
        ({"merchant": "mer_x"}, "merchant"),
    ]:
        _problem(await merchant.call("PATCH", f"/v1/routes/{route['id']}", json=bad), 400, field)
    assert await merchant.ok("GET", f"/v1/routes/{route['id']}") == disabled


async def test_delete_then_get_is_404(merchant: Client) -> None:
    route = await merchant.ok("POST", "/v1/routes", 201, json=_route(await _target(merchant)))
    response = await merchant.call("DELETE", f"/v1/routes/{route['id']}")
    assert response.status_code == 204 and response.content == b""
    for method, path in [
        ("GET", "/v1/routes/{}"),
        ("PATCH", "/v1/routes/{}"),
        ("DELETE", "/v1/routes/{}"),
        ("POST", "/v1/routes/{}/halt"),
        ("POST", "/v1/routes/{}/resume"),
    ]:
        _problem(
            await merchant.call(method, path.format(route["id"]), json={} if method == "PATCH" else None), 404
        )
    assert (await merchant.ok("GET", "/v1/routes"))["data"] == []


async def test_deleted_route_gets_no_events_and_its_pending_are_canceled(
    merchant: Client, receiver: Receiver
) -> None:
    receiver.respond("/down", Status(503))
    tid = await _target(merchant, receiver.url + "/down")
    route = await merchant.ok("POST", "/v1/routes", 201, json=_route(tid, retry={"initial_interval_s": 60}))
    [pending] = (await merchant.ok("POST", "/v1/events", 202, json=_event("evt-d1")))["deliveries"]
    await _wait(merchant, pending, lambda d: d["attempt_count"] == 1, "attempted")
    await merchant.ok("DELETE", f"/v1/routes/{route['id']}", 204)
    assert (await merchant.ok("GET", f"/v1/deliveries/{pending}"))["status"] == "canceled"
    assert (await merchant.ok("POST", "/v1/events", 202, json=_event("evt-d2")))["deliveries"] == []
    await merchant.ok("DELETE", f"/v1/targets/{tid}", 204)  # no longer in use


async def test_halt_holds_and_resume_releases_oldest_first(db_url: str, receiver: Receiver) -> None:
    # One delivery at a time, so the order in which the worker releases them is the order they arrive.
    async with running_app(app_settings(db_url, concurrency=1)) as http:
        operator = Client(http, OPERATOR_KEY)
        body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Halting"})
        merchant = Client(http, body["api_key"])
        receiver.script("/held", Status(500))  # the first attempt fails, so that delivery stays pending
        tid = await _target(merchant, receiver.url + "/held")
        route = await merchant.ok(
            "POST", "/v1/routes", 201, json=_route(tid, retry={"initial_interval_s": 60})
        )

        [first] = (await merchant.ok("POST", "/v1/events", 202, json=_event("evt-0")))["deliveries"]
        await _wait(
            merchant, first, lambda d: d["attempt_count"] == 1 and d["status"] == "pending", "retried"
        )

        halted = await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
        assert halted["state"] == "halted"
        assert (await merchant.ok("GET", f"/v1/deliveries/{first}"))["status"] == "held"

        later = []
        for i in range(1, 4):
            [delivery] = (await merchant.ok("POST", "/v1/events", 202, json=_event(f"evt-{i}")))["deliveries"]
            later.append(delivery)
        await asyncio.sleep(0.6)  # three worker polls
        held = await merchant.ok("GET", "/v1/deliveries", params={"status": "held"})
        assert sorted(d["id"] for d in held["data"]) == sorted([first, *later])
        assert all(d["next_attempt_at"] is None for d in held["data"])
        assert len(receiver.requests) == 1

        resumed = await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
        assert resumed["state"] == "active"
        requests = await receiver.wait_for(5, path="/held")
        assert [r.json()["id"] for r in requests] == ["evt-0", "evt-0", "evt-1", "evt-2", "evt-3"]
        for delivery in [first, *later]:
            await _wait(merchant, delivery, lambda d: d["status"] == "success", "succeeded")
        assert (await merchant.ok("GET", f"/v1/deliveries/{first}"))["attempt_count"] == 2


async def test_other_merchant_cannot_reach_a_route(operator: Client, merchant: Client) -> None:
    other_body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    other = Client(operator.http, other_body["api_key"])
    route = await merchant.ok("POST", "/v1/routes", 201, json=_route(await _target(merchant)))
    rid, missing_id = route["id"], "rte_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    for method, path, json in [
        ("GET", "/v1/routes/{}", None),
        ("PATCH", "/v1/routes/{}", {"state": "disabled"}),
        ("DELETE", "/v1/routes/{}", None),
        ("POST", "/v1/routes/{}/halt", None),
        ("POST", "/v1/routes/{}/resume", None),
    ]:
        foreign = await other.call(method, path.format(rid), json=json)
        missing = await other.call(method, path.format(missing_id), json=json)
        _problem(foreign, 404)
        assert foreign.json() == {
            **missing.json(),
            "detail": missing.json()["detail"].replace(missing_id, rid),
        }
    assert (await other.ok("GET", "/v1/routes"))["data"] == []
    assert await merchant.ok("GET", f"/v1/routes/{rid}") == route
