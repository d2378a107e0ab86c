"""API keys: who may call, for which merchant, and what revoking a key does."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import OPERATOR_KEY, Client

ORDER = {"type": "order", "public_id": "ord-1", "customer": "cust-1"}  # a valid order.* object


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    return body


async def _new_merchant(operator: Client, name: str = "Other Shop") -> Client:
    body = await operator.ok("POST", "/v1/merchants", 201, json={"name": name})
    client = Client(operator.http, body["api_key"])
    client.merchant_id = body["id"]  # type: ignore[attr-defined]
    return client


async def test_no_key_is_401_problem(http: httpx.AsyncClient) -> None:
    for path in [
        "/v1/targets",
        "/v1/routes",
        "/v1/events",
        "/v1/deliveries",
        "/v1/merchants",
        "/v1/event-types",
    ]:
        body = _problem(await http.get(path), 401)
        assert "Authorization: Bearer" in body["detail"]
    _problem(await http.post("/v1/events", json={"type": "order.reminder", "data": {"object": ORDER}}), 401)


async def test_unknown_key_is_401(http: httpx.AsyncClient, merchant: Client) -> None:
    for headers in [
        {"Authorization": "Bearer hl_mk_not_a_real_key"},
        {"Authorization": "Bearer hl_op_not_the_operator"},
        {"Authorization": "Bearer something-else"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {merchant.key}x"},
        {"Authorization": f"Bearer {OPERATOR_KEY[:-1]}"},
        {"x-api-key": "hl_mk_not_a_real_key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ]:
        body = _problem(await http.get("/v1/targets", headers=headers), 401)
        assert merchant.key not in body["detail"]


async def test_bearer_and_x_api_key_both_work(http: httpx.AsyncClient, merchant: Client) -> None:
    bearer = await http.get("/v1/targets", headers={"Authorization": f"Bearer {merchant.key}"})
    lower = await http.get("/v1/targets", headers={"Authorization": f"bearer {merchant.key}"})
    api_key = await http.get("/v1/targets", headers={"x-api-key": merchant.key})
    assert bearer.status_code == lower.status_code == api_key.status_code == 200
    assert bearer.json() == api_key.json() == {"data": [], "next_cursor": None}

    op_bearer = await http.get("/v1/merchants", headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
    op_api_key = await http.get("/v1/merchants", headers={"x-api-key": OPERATOR_KEY})
    assert op_bearer.status_code == op_api_key.status_code == 200
    assert op_bearer.json() == op_api_key.json()


async def test_merchant_key_cannot_manage_merchants(merchant: Client) -> None:
    body = _problem(await merchant.call("POST", "/v1/merchants", json={"name": "Mine"}), 403)
    assert "operator" in body["detail"]
    _problem(await merchant.call("GET", "/v1/merchants"), 403)


async def test_operator_must_name_the_merchant(operator: Client, merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    for method, path, json in [
        ("GET", "/v1/targets", None),
        ("GET", f"/v1/targets/{target['id']}", None),
        ("GET", "/v1/routes", None),
        ("GET", "/v1/events", None),
        ("GET", "/v1/deliveries", None),
        ("POST", "/v1/targets", {"url": "http://127.0.0.1:9/hook"}),
        ("POST", "/v1/routes", {"name": "r", "target_id": target["id"], "event_types": ["order.*"]}),
        ("POST", "/v1/events", {"type": "order.reminder", "data": {"object": ORDER}}),
    ]:
        body = _problem(await operator.call(method, path, json=json), 400)
        assert "?merchant=" in body["detail"], (path, body)
        assert {"field": "merchant", "detail": "required with the operator key"} in body["errors"]

        params = {"merchant": merchant.merchant_id}  # type: ignore[attr-defined]
        named = await operator.call(method, path, params=params, json=json)
        assert named.status_code in (200, 201, 202), named.text


async def test_operator_acts_for_a_merchant(operator: Client, merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    in_body = await operator.ok(
        "POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/a", "merchant": mid}
    )
    in_query = await operator.ok(
        "POST", "/v1/targets", 201, params={"merchant": mid}, json={"url": "http://127.0.0.1:9/b"}
    )
    assert in_body["merchant"] == in_query["merchant"] == mid
    seen = await merchant.ok("GET", "/v1/targets")
    assert {t["id"] for t in seen["data"]} == {in_body["id"], in_query["id"]}


async def test_operator_naming_an_unknown_merchant_is_404(operator: Client) -> None:
    for method, path, json in [
        ("GET", "/v1/targets", None),
        ("POST", "/v1/targets", {"url": "http://127.0.0.1:9/hook"}),
        ("POST", "/v1/events", {"type": "order.reminder", "data": {"object": ORDER}}),
    ]:
        body = _problem(await operator.call(method, path, params={"merchant": "mer_missing"}, json=json), 404)
        assert "mer_missing" in body["detail"]


async def test_merchant_key_naming_another_merchant_is_403(operator: Client, merchant: Client) -> None:
    other = await _new_merchant(operator)
    theirs = await other.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/theirs"})
    await other.ok(
        "POST",
        "/v1/events",
        202,
        json={"id": "evt-theirs", "type": "order.reminder", "data": {"object": ORDER}},
    )
    foreign = {"merchant": other.merchant_id}  # type: ignore[attr-defined]

    for method, path in [
        ("GET", "/v1/targets"),
        ("GET", "/v1/routes"),
        ("GET", "/v1/events"),
        ("GET", "/v1/deliveries"),
        ("GET", f"/v1/targets/{theirs['id']}"),
        ("GET", "/v1/events/evt-theirs"),
    ]:
        body = _problem(await merchant.call(method, path, params=foreign), 403)
        assert theirs["url"] not in body["detail"]

    posted = [
        ("/v1/targets", {"url": "http://127.0.0.1:9/mine"}),
        ("/v1/events", {"type": "order.reminder", "data": {"object": ORDER}}),
        (
            "/v1/events",
            {
                "events": [{"type": "order.reminder", "data": {"object": ORDER}}],
                "merchant": foreign["merchant"],
            },
        ),
    ]
    for path, json in posted:
        params = None if "merchant" in json else foreign
        _problem(await merchant.call("POST", path, params=params, json=json), 403)
    _problem(await merchant.call("POST", "/v1/targets", json={"url": "http://127.0.0.1:9/x", **foreign}), 403)

    # Nothing was created for either merchant, and the other merchant's data is untouched.
    assert (await merchant.ok("GET", "/v1/targets"))["data"] == []
    assert (await merchant.ok("GET", "/v1/events"))["data"] == []
    assert [t["id"] for t in (await other.ok("GET", "/v1/targets"))["data"]] == [theirs["id"]]
    assert [e["id"] for e in (await other.ok("GET", "/v1/events"))["data"]] == ["evt-theirs"]


async def test_new_key_works_and_revoked_key_stops(operator: Client, merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    [first] = (await operator.ok("GET", f"/v1/merchants/{mid}/api-keys"))["data"]
    assert first["revoked"] is None and merchant.key not in str(first)

    added = await operator.ok("POST", f"/v1/merchants/{mid}/api-keys", 201)
    assert added["api_key"].startswith("hl_mk_") and added["api_key"] != merchant.key
    second = Client(operator.http, added["api_key"])
    await second.ok("GET", "/v1/targets")
    assert (await second.ok("GET", f"/v1/merchants/{mid}"))["id"] == mid

    assert await operator.ok("DELETE", f"/v1/merchants/{mid}/api-keys/{first['id']}", 204) is None
    _problem(await merchant.call("GET", "/v1/targets"), 401)
    _problem(await merchant.call("GET", "/v1/targets", headers={"x-api-key": merchant.key}), 401)
    await second.ok("GET", "/v1/targets")

    keys = {k["id"]: k for k in (await operator.ok("GET", f"/v1/merchants/{mid}/api-keys"))["data"]}
    assert keys[first["id"]]["revoked"] is not None and keys[added["id"]]["revoked"] is None
    _problem(await operator.call("DELETE", f"/v1/merchants/{mid}/api-keys/{first['id']}"), 404)


async def test_merchant_manages_only_its_own_keys(operator: Client, merchant: Client) -> None:
    other = await _new_merchant(operator)
    mid, oid = merchant.merchant_id, other.merchant_id  # type: ignore[attr-defined]
    [other_key] = (await operator.ok("GET", f"/v1/merchants/{oid}/api-keys"))["data"]

    for method, path in [
        ("GET", f"/v1/merchants/{oid}"),
        ("GET", f"/v1/merchants/{oid}/api-keys"),
        ("POST", f"/v1/merchants/{oid}/api-keys"),
        ("DELETE", f"/v1/merchants/{oid}/api-keys/{other_key['id']}"),
        # The other merchant's key id under this merchant's own path is just as unknown.
        ("DELETE", f"/v1/merchants/{mid}/api-keys/{other_key['id']}"),
    ]:
        _problem(await merchant.call(method, path), 404)
    await other.ok("GET", "/v1/targets")  # still works

    added = await merchant.ok("POST", f"/v1/merchants/{mid}/api-keys", 201)
    await Client(merchant.http, added["api_key"]).ok("GET", "/v1/targets")
