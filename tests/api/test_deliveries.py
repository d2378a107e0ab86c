"""Deliveries: search filters, stable pagination, the attempt log, and manual resend."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from conftest import Client
from support.receiver import Receiver, Status


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def _event(
    event_id: str, type_: str = "order.reminder", obj: str = "ord-1", customer: str = "cust-1"
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": type_,
        "created": 1_700_000_000,
        "data": {"object": {"type": type_.partition(".")[0], "public_id": obj, "customer": customer}},
    }


async def _route(merchant: Client, url: str, event_types: list[str], **extra: Any) -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    route: dict[str, Any] = await merchant.ok(
        "POST",
        "/v1/routes",
        201,
        json={"name": "r", "target_id": target["id"], "event_types": event_types, **extra},
    )
    return route


async def _post(merchant: Client, event: dict[str, Any]) -> list[str]:
    deliveries: list[str] = (await merchant.ok("POST", "/v1/events", 202, json=event))["deliveries"]
    return deliveries


async def _wait(
    merchant: Client, delivery_id: str, status: str, attempts: int | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if body["status"] == status and (attempts is None or body["attempt_count"] == attempts):
            return body
        assert time.monotonic() < deadline, f"wanted {status} after {attempts} attempt(s): {body}"
        await asyncio.sleep(0.05)


async def _ids(merchant: Client, **params: Any) -> set[str]:
    page = await merchant.ok("GET", "/v1/deliveries", params={"limit": 500, **params})
    assert page["next_cursor"] is None
    return {d["id"] for d in page["data"]}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


async def test_list_filters(merchant: Client, receiver: Receiver) -> None:
    receiver.respond("/down", Status(500))
    orders = await _route(merchant, receiver.url + "/orders", ["order.*"])
    subs = await _route(merchant, receiver.url + "/subs", ["subscription.*"])
    down = await _route(merchant, receiver.url + "/down", ["order.cancel"], retry={"max_attempts": 1})

    [a] = await _post(merchant, _event("evt-a", "order.reminder", "ord-1", "cust-1"))
    [b] = await _post(merchant, _event("evt-b", "subscription.cancel", "sub-1", "cust-2"))
    await asyncio.sleep(0.02)
    middle = time.time()
    await asyncio.sleep(0.02)
    c_orders, c_down = await _post(merchant, _event("evt-c", "order.cancel", "ord-2", "cust-1"))
    for delivery in (a, b, c_orders):
        await _wait(merchant, delivery, "success")
    failed = await _wait(merchant, c_down, "failed")
    assert failed["last_response_status"] == 500 and failed["completed"] is not None
    everything = {a, b, c_orders, c_down}

    assert await _ids(merchant) == everything
    assert await _ids(merchant, status="success") == {a, b, c_orders}
    assert await _ids(merchant, status="failed") == {c_down}
    assert await _ids(merchant, status=["failed", "success"]) == everything
    assert await _ids(merchant, status="failed,success") == everything
    assert await _ids(merchant, status="pending") == set()
    assert await _ids(merchant, route_id=orders["id"]) == {a, c_orders}
    assert await _ids(merchant, route_id=subs["id"]) == {b}
    assert await _ids(merchant, route_id=down["id"], status="failed") == {c_down}
    assert await _ids(merchant, event_type="order.cancel") == {c_orders, c_down}
    assert await _ids(merchant, event_id="evt-b") == {b}
    assert await _ids(merchant, object_id="ord-2") == {c_orders, c_down}
    assert await _ids(merchant, object_id="sub-1") == {b}
    assert await _ids(merchant, customer_id="cust-1") == {a, c_orders, c_down}
    assert await _ids(merchant, customer_id="cust-1", event_type="order.reminder") == {a}
    assert await _ids(merchant, customer_id="nobody") == set()
    assert await _ids(merchant, since=_iso(middle)) == {c_orders, c_down}
    assert await _ids(merchant, until=_iso(middle)) == {a, b}
    assert await _ids(merchant, since=_iso(middle).replace("+00:00", "Z")) == {c_orders, c_down}
    assert await _ids(merchant, since=_iso(middle).replace("+00:00", "")) == {c_orders, c_down}  # UTC
    assert await _ids(merchant, since=f"{middle:.3f}") == {c_orders, c_down}
    assert await _ids(merchant, since=_iso(middle - 3600), until=_iso(middle)) == {a, b}
    assert await _ids(merchant, since=_iso(middle + 3600)) == set()

    row = next(d for d in (await merchant.ok("GET", "/v1/deliveries"))["data"] if d["id"] == a)
    assert (
        row["event_id"] == "evt-a"
        and row["event_type"] == "order.reminder"
        and row["route_id"] == orders["id"]
    )
    assert row["target_id"] == orders["target_id"] and row["status"] == "success" and row["attempts"] == 1
    assert row["next_attempt_at"] is None and row["last_response_status"] == 200 and row["last_error"] is None
    assert row["created"].endswith("Z") and row["completed"].endswith("Z")


async def test_bad_filters_are_400(merchant: Client) -> None:
    for params, field in [
        ({"status": "done"}, "status"),
        ({"status": "success,bogus"}, "status"),
        ({"status": "SUCCESS"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"since": "nan"}, "since"),
        ({"since": "-1e20"}, "since"),  # before year 1
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "1_0"}, "limit"),  # digits 0-9 only: not as Python's int() reads it
        ({"limit": "+1"}, "limit"),
        ({"limit": " 1"}, "limit"),
        ({"limit": "\u0661\u0660"}, "limit"),  # Arabic-Indic 10
        ({"cursor": "!!!"}, "cursor"),
    ]:
        _problem(await merchant.call("GET", "/v1/deliveries", params=params), 400, field)


async def test_pagination_is_stable_while_deliveries_arrive(merchant: Client) -> None:
    # Unreachable port with long retries: deliveries stay put while the pages are walked.
    await _route(
        merchant,
        "http://127.0.0.1:9/hook",
        ["order.*"],
        retry={"initial_interval_s": 3600, "max_interval_s": 3600},
    )
    original = set()
    for i in range(7):
        original.update(await _post(merchant, _event(f"evt-{i}")))
    assert len(original) == 7

    seen: list[str] = []
    added: set[str] = set()
    cursor = None
    for page_number in range(20):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await merchant.ok("GET", "/v1/deliveries", params=params)
        assert len(page["data"]) <= 2
        seen += [d["id"] for d in page["data"]]
        added.update(await _post(merchant, _event(f"evt-new-{page_number}")))  # lands before the cursor
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert cursor is None
    assert len(seen) == len(set(seen)), "a delivery was listed twice"
    assert original <= set(seen), f"missed {original - set(seen)}"
    assert set(seen) <= original | added
    assert seen == sorted(seen, reverse=True)  # newest first throughout


async def test_detail_has_every_attempt(merchant: Client, receiver: Receiver) -> None:
    receiver.script("/flaky", Status(503, b"busy", {"X-Why": "maintenance"}))
    route = await _route(
        merchant, receiver.url + "/flaky", ["order.*"], retry={"initial_interval_s": 1, "max_interval_s": 1}
    )
    [delivery_id] = await _post(merchant, _event("evt-detail"))
    detail = await _wait(merchant, delivery_id, "success")
    assert detail["id"] == delivery_id and detail["route_id"] == route["id"] and detail["attempt_count"] == 2
    requests = receiver.on("/flaky")
    assert len(requests) == 2

    first, second = detail["attempts"]
    assert [first["number"], second["number"]] == [1, 2]
    for attempt in (first, second):
        assert set(attempt) >= {"number", "started", "duration_ms", "request", "response", "error"}
        assert datetime.fromisoformat(attempt["started"]).tzinfo is not None
        assert isinstance(attempt["duration_ms"], (int, float)) and attempt["duration_ms"] >= 0
        headers = {k.lower(): v for k, v in attempt["request"]["headers"].items()}
        assert headers["content-type"] == "application/json" and "ordergroove-signature" in headers
        assert headers["hookline-event-id"] == "evt-detail" and headers["webhook-id"] == delivery_id
        assert attempt["request"]["body"] == requests[0].body.decode()
    assert first["started"] < second["started"]
    assert first["response"]["status"] == 503 and first["response"]["body"] == "busy"
    assert first["response"]["headers"]["x-why"] == "maintenance"
    assert first["error"] is None or isinstance(first["error"], str)
    assert second["response"]["status"] == 200 and second["response"]["body"] == "ok"
    assert second["error"] is None and isinstance(second["response"]["headers"], dict)


async def test_detail_of_an_unreachable_target_records_the_error(merchant: Client) -> None:
    await _route(
        merchant,
        "http://127.0.0.1:9/closed",
        ["order.*"],
        retry={"initial_interval_s": 3600, "max_interval_s": 3600},
    )
    [delivery_id] = await _post(merchant, _event("evt-closed"))
    detail = await _wait(merchant, delivery_id, "pending", attempts=1)
    [attempt] = detail["attempts"]
    assert attempt["response"] is None and attempt["error"] and detail["last_error"] == attempt["error"]
    assert detail["next_attempt_at"] is not None


async def test_resend_of_a_success_sends_again(merchant: Client, receiver: Receiver) -> None:
    await _route(merchant, receiver.url + "/again", ["order.*"])
    [delivery_id] = await _post(merchant, _event("evt-again"))
    await _wait(merchant, delivery_id, "success", attempts=1)

    resent = await merchant.ok("POST", f"/v1/deliveries/{delivery_id}/resend")
    assert resent["id"] == delivery_id and resent["status"] == "pending" and resent["completed"] is None
    detail = await _wait(merchant, delivery_id, "success", attempts=2)
    assert [a["number"] for a in detail["attempts"]] == [1, 2]
    requests = await receiver.wait_for(2, path="/again")
    assert requests[0].body == requests[1].body


async def test_resend_of_an_open_delivery_is_409(merchant: Client, receiver: Receiver) -> None:
    receiver.respond("/down", Status(500))
    route = await _route(
        merchant,
        receiver.url + "/down",
        ["order.*"],
        retry={"initial_interval_s": 3600, "max_interval_s": 3600},
    )
    [delivery_id] = await _post(merchant, _event("evt-open"))
    await _wait(merchant, delivery_id, "pending", attempts=1)
    body = _problem(await merchant.call("POST", f"/v1/deliveries/{delivery_id}/resend"), 409)
    assert "pending" in body["detail"]

    await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
    await _wait(merchant, delivery_id, "held")
    _problem(await merchant.call("POST", f"/v1/deliveries/{delivery_id}/resend"), 409)
    assert (await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["attempt_count"] == 1


async def test_resend_of_a_canceled_delivery(merchant: Client, receiver: Receiver) -> None:
    receiver.script("/back", Status(500))
    route = await _route(
        merchant,
        receiver.url + "/back",
        ["order.*"],
        retry={"initial_interval_s": 3600, "max_interval_s": 3600},
    )
    [delivery_id] = await _post(merchant, _event("evt-cancel"))
    await _wait(merchant, delivery_id, "pending", attempts=1)
    await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"state": "disabled"})
    assert (await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["status"] == "canceled"
    await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"state": "active"})
    assert (await merchant.ok("POST", f"/v1/deliveries/{delivery_id}/resend"))["status"] == "pending"
    await _wait(merchant, delivery_id, "success", attempts=2)


async def test_other_merchant_cannot_reach_a_delivery(
    operator: Client, merchant: Client, receiver: Receiver
) -> None:
    other_body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    other = Client(operator.http, other_body["api_key"])
    route = await _route(merchant, receiver.url + "/mine", ["order.*"])
    [delivery_id] = await _post(merchant, _event("evt-private"))
    await _wait(merchant, delivery_id, "success")

    missing_id = "dlv_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    for method, path in [("GET", "/v1/deliveries/{}"), ("POST", "/v1/deliveries/{}/resend")]:
        foreign = await other.call(method, path.format(delivery_id))
        missing = await other.call(method, path.format(missing_id))
        _problem(foreign, 404)
        assert foreign.json() == {
            **missing.json(),
            "detail": missing.json()["detail"].replace(missing_id, delivery_id),
        }
    assert await _ids(other) == set()
    assert await _ids(other, route_id=route["id"]) == set()
    assert await _ids(other, event_id="evt-private") == set()
    assert await _ids(other, customer_id="cust-1") == set()
    await asyncio.sleep(0.2)
    assert len(receiver.on("/mine")) == 1  # the refused resend sent nothing
    assert (await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["attempt_count"] == 1
