"""Errors: every 4xx is an RFC 9457 problem document; routing, paging and input errors are 4xx, never 500.

The app runs behind ``httpx.ASGITransport``, which re-raises any unhandled exception, so a request that
would have been a 500 fails its test instead of passing unnoticed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Client

ORDER = {"type": "order", "public_id": "ord-1", "customer": "cust-1"}  # a valid order.* object

PROBLEM_FIELDS = {"type", "title", "status", "detail"}
LISTS = ["/v1/targets", "/v1/routes", "/v1/events", "/v1/deliveries"]


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_FIELDS and body["status"] == status
    assert all(isinstance(body[k], str) and body[k] for k in ("type", "title", "detail"))
    if "errors" in body:
        assert all(set(e) == {"field", "detail"} for e in body["errors"])
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


async def _world(operator: Client, merchant: Client) -> dict[str, str]:
    """A target, a route, an event and a delivery, for requests that need real ids."""
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    route = await merchant.ok(
        "POST",
        "/v1/routes",
        201,
        json={
            "name": "r",
            "target_id": target["id"],
            "event_types": ["order.*"],
            "retry": {"initial_interval_s": 3600, "max_interval_s": 3600},
        },
    )
    answer = await merchant.ok(
        "POST", "/v1/events", 202, json={"id": "evt-1", "type": "order.reminder", "data": {"object": ORDER}}
    )
    return {
        "target": target["id"],
        "route": route["id"],
        "delivery": answer["deliveries"][0],
        "merchant": merchant.merchant_id,  # type: ignore[attr-defined]
    }


async def test_every_kind_of_4xx_is_a_problem(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    ids = await _world(operator, merchant)
    cases: list[tuple[Client | None, str, str, dict[str, Any], int]] = [
        (None, "GET", "/v1/targets", {}, 401),
        (None, "POST", "/v1/events", {"json": {}}, 401),
        (Client(http, "hl_mk_wrong"), "GET", "/v1/routes", {}, 401),
        (merchant, "POST", "/v1/merchants", {"json": {"name": "x"}}, 403),
        (merchant, "GET", "/v1/targets", {"params": {"merchant": "mer_other"}}, 403),
        (operator, "GET", "/v1/targets", {}, 400),
        (merchant, "POST", "/v1/targets", {"json": {"url": "ftp://x"}}, 400),
        (
            merchant,
            "POST",
            "/v1/targets",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            400,
        ),
        (merchant, "POST", "/v1/routes", {"json": {"name": "r"}}, 400),
        (merchant, "POST", "/v1/events", {"content": b"{"}, 400),
        (merchant, "GET", "/v1/deliveries", {"params": {"status": "nope"}}, 400),
        (merchant, "GET", "/v1/targets/tgt_missing", {}, 404),
        (merchant, "GET", "/v1/routes/rte_missing", {}, 404),
        (merchant, "GET", "/v1/events/evt-missing", {}, 404),
        (merchant, "GET", "/v1/deliveries/dlv_missing", {}, 404),
        (operator, "GET", "/v1/merchants/mer_missing", {}, 404),
        (operator, "GET", "/v1/targets", {"params": {"merchant": "mer_missing"}}, 404),
        (merchant, "GET", "/v1/nothing-here", {}, 404),
        (merchant, "DELETE", f"/v1/targets/{ids['target']}", {}, 409),
        (merchant, "POST", f"/v1/deliveries/{ids['delivery']}/resend", {}, 409),
        (
            merchant,
            "POST",
            "/v1/events",
            {"json": {"id": "evt-1", "type": "order.cancel", "data": {"object": ORDER}}},
            409,
        ),
        (merchant, "PUT", "/v1/events", {}, 405),
    ]
    for client, method, path, kwargs, status in cases:
        if client is None:
            response = await http.request(method, path, **kwargs)
        else:
            response = await client.call(method, path, **kwargs)
        body = _problem(response, status)
        assert body["type"].endswith(str(status)) or body["type"] == "about:blank"


async def test_unknown_path_is_404_problem(merchant: Client, http: httpx.AsyncClient) -> None:
    for path in ["/v1/nope", "/v2/targets", "/nothing-here", "/v1/targets/x/y/z"]:
        _problem(await merchant.call("GET", path), 404)
    _problem(await http.get("/v1/nope"), 404)  # even without a key


async def test_wrong_method_is_405_problem_with_allow(merchant: Client) -> None:
    for method, path, allowed in [
        ("PUT", "/v1/targets", "GET, POST"),
        ("DELETE", "/v1/events", "GET, POST"),
        ("POST", "/v1/event-types", "GET"),
        ("PUT", "/v1/routes/rte_x", "GET, PATCH, DELETE"),
        ("GET", "/v1/deliveries/dlv_x/resend", "POST"),
        ("PATCH", "/v1/merchants", "GET, POST"),
    ]:
        response = await merchant.call(method, path)
        _problem(response, 405)
        assert response.headers["allow"] == allowed, (method, path)


@pytest.mark.parametrize("path", [*LISTS, "/v1/merchants"])
async def test_bad_limit_is_400(operator: Client, merchant: Client, path: str) -> None:
    client = operator if path == "/v1/merchants" else merchant
    for limit in ["0", "-1", "501", "1000", "ten", "1.5"]:
        _problem(await client.call("GET", path, params={"limit": limit}), 400, "limit")
    # An empty value is not a limit at all: the default applies or it is refused, never a 500.
    assert (await client.call("GET", path, params={"limit": ""})).status_code in (200, 400)
    for limit in ["1", "500"]:
        await client.ok("GET", path, params={"limit": limit})


@pytest.mark.parametrize("path", [*LISTS, "/v1/merchants"])
async def test_bad_cursor_is_400(operator: Client, merchant: Client, path: str) -> None:
    client = operator if path == "/v1/merchants" else merchant
    for cursor in ["!!!!", "not-a-cursor", "%%%", "////", "abc def", "\u00e9t\u00e9", "="]:
        _problem(await client.call("GET", path, params={"cursor": cursor}), 400, "cursor")


async def test_bad_event_cursor_content_is_400(merchant: Client) -> None:
    # Valid base64, but not a cursor the events list gave out.
    for cursor in ["YWJj", "bm90fGEtbnVtYmVy"]:
        _problem(await merchant.call("GET", "/v1/events", params={"cursor": cursor}), 400, "cursor")


async def test_nul_characters_are_400_not_500(operator: Client, merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    cases: list[tuple[Client, str, str, dict[str, Any]]] = [
        (operator, "POST", "/v1/merchants", {"json": {"name": "a\u0000b"}}),
        (merchant, "POST", "/v1/targets", {"json": {"url": "http://127.0.0.1:9/a\u0000"}}),
        (
            merchant,
            "POST",
            "/v1/routes",
            {"json": {"name": "r\u0000", "target_id": target["id"], "event_types": ["order.*"]}},
        ),
        (
            merchant,
            "POST",
            "/v1/events",
            {"json": {"id": "e\u0000", "type": "order.reminder", "data": {"object": ORDER}}},
        ),
        (
            merchant,
            "POST",
            "/v1/events",
            {"json": {"type": "order.reminder", "data": {"object": {**ORDER, "n": "\u0000"}}}},
        ),
        (merchant, "GET", "/v1/targets/tgt%00x", {}),
        (merchant, "GET", "/v1/deliveries", {"params": {"event_id": "a\u0000b"}}),
        (operator, "GET", "/v1/targets", {"params": {"merchant": "mer\u0000"}}),
    ]
    for client, method, path, kwargs in cases:
        _problem(await client.call(method, path, **kwargs), 400)
    # An escaped backslash followed by "u0000" is ordinary text, not a NUL.
    text = {"type": "order.reminder", "data": {"object": {**ORDER, "note": "\\u0000"}}}
    answer = await merchant.ok("POST", "/v1/events", 202, json=text)
    assert (await merchant.ok("GET", f"/v1/events/{answer['id']}"))["data"]["object"]["note"] == "\\u0000"


async def test_malformed_bodies_are_400(operator: Client, merchant: Client) -> None:
    for path in ["/v1/targets", "/v1/routes", "/v1/merchants", "/v1/events"]:
        client = operator if path == "/v1/merchants" else merchant
        for content, content_type in [
            (b"{", "application/json"),
            (b"[]", "application/json"),
            (b"", "application/json"),
            (b"url=x", "application/x-www-form-urlencoded"),
            (b"\xff\xfe", "application/json"),
        ]:
            response = await client.call(
                "POST", path, content=content, headers={"content-type": content_type}
            )
            _problem(response, 400)


async def test_successful_answers_are_json(operator: Client, merchant: Client) -> None:
    ids = await _world(operator, merchant)
    for path in [*LISTS, f"/v1/targets/{ids['target']}", f"/v1/routes/{ids['route']}", "/v1/event-types"]:
        response = await merchant.call("GET", path)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"


async def test_root_leads_to_the_dashboard(http: httpx.AsyncClient) -> None:
    response = await http.get("/")
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"].endswith("/dashboard")
