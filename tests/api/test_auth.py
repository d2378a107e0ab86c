"""API keys: who may call, for which merchant, and what revoking a key does."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant
from hookline.asgi import create_app
from hookline.config import Settings

ORDER = {"type": "order", "public_id": "ord-1", "customer": "cust-1"}  # a valid order.* object


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    return body


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
    other = await new_merchant(operator)
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

    posted: list[tuple[str, dict[str, Any]]] = [
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


async def test_a_merchant_cannot_revoke_its_last_key(operator: Client, merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    [first] = (await merchant.ok("GET", f"/v1/merchants/{mid}/api-keys"))["data"]
    body = _problem(await merchant.call("DELETE", f"/v1/merchants/{mid}/api-keys/{first['id']}"), 409)
    assert "last active API key" in body["detail"] and f"/v1/merchants/{mid}/api-keys" in body["detail"]
    await merchant.ok("GET", "/v1/targets")  # nothing changed

    # With a new key first, the old one can go (even the one the request is made with).
    added = await merchant.ok("POST", f"/v1/merchants/{mid}/api-keys", 201)
    second = Client(merchant.http, added["api_key"])
    assert await merchant.ok("DELETE", f"/v1/merchants/{mid}/api-keys/{first['id']}", 204) is None
    _problem(await merchant.call("GET", "/v1/targets"), 401)
    _problem(await second.call("DELETE", f"/v1/merchants/{mid}/api-keys/{added['id']}"), 409)
    await second.ok("GET", "/v1/targets")

    # Each of two keys revokes the other at once: one of them stays (the other request is refused as the
    # last key's revocation, or, if its own key went first, as unauthorised).
    third = await second.ok("POST", f"/v1/merchants/{mid}/api-keys", 201)
    pairs = [(second, third["id"]), (Client(merchant.http, third["api_key"]), added["id"])]
    answers = await asyncio.gather(*(c.call("DELETE", f"/v1/merchants/{mid}/api-keys/{k}") for c, k in pairs))
    assert sorted(a.status_code for a in answers) in ([204, 401], [204, 409])
    keys = (await operator.ok("GET", f"/v1/merchants/{mid}/api-keys"))["data"]
    assert len([k for k in keys if k["revoked"] is None]) == 1

    # The operator may cut a merchant off (a leaked key, a closed account): it keeps its own key.
    [last] = [k for k in keys if k["revoked"] is None]
    assert await operator.ok("DELETE", f"/v1/merchants/{mid}/api-keys/{last['id']}", 204) is None
    keys = (await operator.ok("GET", f"/v1/merchants/{mid}/api-keys"))["data"]
    assert all(k["revoked"] is not None for k in keys)


async def test_merchant_manages_only_its_own_keys(operator: Client, merchant: Client) -> None:
    other = await new_merchant(operator)
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


@contextlib.asynccontextmanager
async def _app_from(settings: Settings) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """A running app (no worker), and clients for it that connect from a given address."""
    app = create_app(settings, worker=False, migrate_db=True)
    async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as clients:

        def client_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            http = httpx.AsyncClient(transport=transport, base_url="http://hookline.test")
            clients.push_async_callback(http.aclose)
            return http

        yield client_from


def _counter(metrics: str, name: str, via: str) -> float:
    found = re.search(rf'^{name}_total{{via="{via}"}} (\S+)$', metrics, re.M)
    assert found, f"no {name} for {via}"
    return float(found.group(1))


async def test_failed_keys_are_throttled_per_address(db_url: str) -> None:
    settings = app_settings(db_url, auth_failure_limit=4, auth_failure_window_s=8.0)
    async with _app_from(settings) as client_from:
        attacker, neighbour = client_from("203.0.113.7"), client_from("198.51.100.9")
        created = await Client(neighbour, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        good = {"Authorization": f"Bearer {created['api_key']}"}
        before = (await neighbour.get("/metrics")).text

        for i in range(4):
            _problem(await attacker.get("/v1/targets", headers={"x-api-key": f"hl_mk_guess_{i}"}), 401)
        throttled = _problem(await attacker.get("/v1/targets", headers={"x-api-key": "hl_mk_guess"}), 429)
        assert "too many failed attempts" in throttled["detail"]
        answer = await attacker.get("/v1/targets", headers=good)
        _problem(answer, 429)  # a correct key waits too: a guess that hits looks like one that misses
        assert answer.headers["retry-after"] in ("1", "2")  # 8 s / 4 failures, less the time since
        # The Ordergroove-shaped API says so in its own shape.
        og = await attacker.get("/webhook_targets", headers=good)
        assert og.status_code == 429 and og.headers["retry-after"] in ("1", "2") and "detail" in og.json()

        # Callers from other addresses are not concerned, whether their key is right or wrong.
        assert (await neighbour.get("/v1/targets", headers=good)).status_code == 200
        _problem(await neighbour.get("/v1/targets", headers={"x-api-key": "hl_mk_typo"}), 401)
        # Nor is a request without a key: it guesses nothing.
        _problem(await attacker.get("/v1/targets"), 401)

        await asyncio.sleep(int(og.headers["retry-after"]))  # one failure's worth paid off: one more try
        assert (await attacker.get("/v1/targets", headers=good)).status_code == 200
        after = (await neighbour.get("/metrics")).text
        assert (
            _counter(after, "hookline_auth_failures", "api")
            - _counter(before, "hookline_auth_failures", "api")
            == 5
        )
        assert (
            _counter(after, "hookline_auth_throttled", "api")
            - _counter(before, "hookline_auth_throttled", "api")
            == 3
        )


async def test_ipv6_clients_are_counted_by_their_64_network(db_url: str) -> None:
    settings = app_settings(db_url, auth_failure_limit=2, auth_failure_window_s=60.0)
    async with _app_from(settings) as client_from:
        for host in ("2001:db8:0:7::1", "2001:db8:0:7::2"):
            _problem(await client_from(host).get("/v1/targets", headers={"x-api-key": "hl_mk_x"}), 401)
        _problem(await client_from("2001:db8:0:7::3").get("/v1/targets", headers={"x-api-key": "x"}), 429)
        _problem(await client_from("2001:db8:0:8::1").get("/v1/targets", headers={"x-api-key": "x"}), 401)
