"""Targets: CRUD, URL rules, the SSRF guard at creation, signing keys and their rotation."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.core import signing
from support.receiver import Receiver

ORDER = {"type": "order", "public_id": "ord-1", "customer": "cust-1"}  # a valid order.* object


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_create_get_patch_delete(merchant: Client) -> None:
    created = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    assert created["id"].startswith("tgt_") and created["url"] == "http://127.0.0.1:9/hook"
    assert created["enabled"] is True and created["created"] == created["updated"]
    assert created["merchant"] == merchant.merchant_id  # type: ignore[attr-defined]
    assert "signing_key" not in created
    assert await merchant.ok("GET", f"/v1/targets/{created['id']}") == created

    await asyncio.sleep(0.01)
    patched = await merchant.ok(
        "PATCH", f"/v1/targets/{created['id']}", json={"url": "http://127.0.0.1:9/other", "enabled": False}
    )
    assert patched["url"] == "http://127.0.0.1:9/other" and patched["enabled"] is False
    assert patched["created"] == created["created"] and patched["updated"] > created["updated"]
    only_enabled = await merchant.ok("PATCH", f"/v1/targets/{created['id']}", json={"enabled": True})
    assert only_enabled["url"] == "http://127.0.0.1:9/other" and only_enabled["enabled"] is True

    disabled = await merchant.ok(
        "POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/b", "enabled": False}
    )
    listed = await merchant.ok("GET", "/v1/targets")
    assert [t["id"] for t in listed["data"]] == [disabled["id"], created["id"]]

    assert await merchant.ok("DELETE", f"/v1/targets/{created['id']}", 204) is None
    _problem(await merchant.call("GET", f"/v1/targets/{created['id']}"), 404)
    _problem(await merchant.call("PATCH", f"/v1/targets/{created['id']}", json={"enabled": False}), 404)
    _problem(await merchant.call("DELETE", f"/v1/targets/{created['id']}"), 404)
    _problem(await merchant.call("GET", f"/v1/targets/{created['id']}/signing-key"), 404)
    assert [t["id"] for t in (await merchant.ok("GET", "/v1/targets"))["data"]] == [disabled["id"]]


async def test_invalid_url_is_400_naming_url(merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/ok"})
    for url in ["ftp://x", "not a url", "", "   ", "http://", "//127.0.0.1/x", "http://[::1", "x" * 2001]:
        _problem(await merchant.call("POST", "/v1/targets", json={"url": url}), 400, "url")
        _problem(await merchant.call("PATCH", f"/v1/targets/{target['id']}", json={"url": url}), 400, "url")
    assert await merchant.ok("GET", f"/v1/targets/{target['id']}") == target
    assert [t["id"] for t in (await merchant.ok("GET", "/v1/targets"))["data"]] == [target["id"]]


async def test_malformed_target_body_is_400(merchant: Client) -> None:
    for json, field in [
        ({}, "url"),
        ({"url": None}, "url"),
        ({"url": 5}, "url"),
        ({"url": "http://127.0.0.1:9/", "enabled": "maybe"}, "enabled"),
        ({"url": "http://127.0.0.1:9/", "secret": "x"}, "secret"),
    ]:
        _problem(await merchant.call("POST", "/v1/targets", json=json), 400, field)
    assert (await merchant.ok("GET", "/v1/targets"))["data"] == []


async def test_private_targets_refused_unless_allowed(db_url: str) -> None:
    async with running_app(app_settings(db_url, allow_private_targets=False), worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        merchant = await new_merchant(operator, "Strict")
        for url, why in [
            ("http://127.0.0.1/x", "loopback"),
            ("http://10.0.0.1/", "private"),
            ("http://169.254.169.254/", "cloud metadata"),
        ]:
            body = _problem(await merchant.call("POST", "/v1/targets", json={"url": url}), 400, "url")
            assert why in body["detail"] and "HOOKLINE_ALLOW_PRIVATE_TARGETS" in body["detail"], body
        for url in [
            "http://127.0.0.1/x",
            "http://10.0.0.1/",
            "http://169.254.169.254/",
            "http://localhost.localdomain.invalid@127.0.0.1/",
            "http://[::1]/",
            "http://192.168.1.10:8080/hook",
            "http://2130706433/",
            "http://metadata.google.internal/",
            # Disguised: the forms a browser, a resolver or libcurl read as an internal address.
            "http://127.0.0.1./",
            "http://2130706433./",
            "http://0.0.0.0./",
            "http://%6c%6f%63%61%6c%68%6f%73%74/",
            "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",
            "http://localhost/",
            "http://127.0.0.1 /",
            "http://127.0.0.1\t/",
            "http://0177.1/",
        ]:
            _problem(await merchant.call("POST", "/v1/targets", json={"url": url}), 400, "url")
        assert (await merchant.ok("GET", "/v1/targets"))["data"] == []

        # A public URL is fine to save (nothing is sent: no route, no event); moving it inside is not.
        target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "https://hooks.example.com/in"})
        _problem(
            await merchant.call("PATCH", f"/v1/targets/{target['id']}", json={"url": "http://10.1.2.3/"}),
            400,
            "url",
        )
        assert (await merchant.ok("GET", f"/v1/targets/{target['id']}"))[
            "url"
        ] == "https://hooks.example.com/in"
        for url in ("http://127.0.0.1./", "http://%6c%6f%63%61%6c%68%6f%73%74/"):
            patch = {"url": url}
            _problem(await merchant.call("PATCH", f"/v1/targets/{target['id']}", json=patch), 400, "url")
        assert len((await merchant.ok("GET", "/v1/targets"))["data"]) == 1


async def test_urls_are_stored_as_a_browser_reads_them(merchant: Client) -> None:
    created = await merchant.ok("POST", "/v1/targets", 201, json={"url": "  HTTP://0x7f.1:9/Hook?a=B "})
    assert created["url"] == "http://127.0.0.1:9/Hook?a=B"
    patch = {"url": "https://B\u00fccher.Example.:443"}
    patched = await merchant.ok("PATCH", f"/v1/targets/{created['id']}", json=patch)
    assert patched["url"] == "https://xn--bcher-kva.example./"
    assert (await merchant.ok("GET", f"/v1/targets/{created['id']}"))["url"] == patched["url"]


async def test_signing_key_shape(merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    keys = await merchant.ok("GET", f"/v1/targets/{target['id']}/signing-key")
    assert isinstance(keys["signing_key"], str) and len(keys["signing_key"]) >= 32
    assert keys["expiring_signing_key"] is None and keys["signing_key_expiry"] is None
    assert keys["standard_webhooks_secret"].startswith("whsec_")
    assert base64.b64decode(keys["standard_webhooks_secret"][6:]) == keys["signing_key"].encode()
    assert keys["standard_webhooks_public_key"].startswith("whpk_")
    assert len(base64.b64decode(keys["standard_webhooks_public_key"][5:])) == 32
    again = await merchant.ok("GET", f"/v1/targets/{target['id']}/signing-key")
    assert again == keys

    other = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    other_keys = await merchant.ok("GET", f"/v1/targets/{other['id']}/signing-key")
    assert other_keys["signing_key"] != keys["signing_key"]
    assert other_keys["standard_webhooks_public_key"] != keys["standard_webhooks_public_key"]


async def test_rotation_opens_one_24h_window(merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    path = f"/v1/targets/{target['id']}/signing-key"
    original_keys = await merchant.ok("GET", path)
    original, original_public = original_keys["signing_key"], original_keys["standard_webhooks_public_key"]

    before = time.time()
    first = await merchant.ok("POST", path + "/rotate")
    assert first["signing_key"] not in (original, None)
    assert first["expiring_signing_key"] == original
    expiry = _epoch(first["signing_key_expiry"])
    assert before + 24 * 3600 - 5 <= expiry <= time.time() + 24 * 3600 + 5
    assert first["standard_webhooks_secret"] == signing.standard_secret(first["signing_key"].encode())
    assert first["standard_webhooks_public_key"] not in (original_public, None)  # rotated with it
    assert await merchant.ok("GET", path) == first

    await asyncio.sleep(0.05)
    second = await merchant.ok("POST", path + "/rotate")
    assert second["signing_key"] not in (original, first["signing_key"])
    assert second["expiring_signing_key"] == original  # the key current when the window opened
    assert second["signing_key_expiry"] == first["signing_key_expiry"]  # not extended
    assert second["standard_webhooks_public_key"] not in (
        original_public,
        first["standard_webhooks_public_key"],
    )
    assert await merchant.ok("GET", path) == second


async def test_delivery_after_rotation_is_signed_by_both_keys(merchant: Client, receiver: Receiver) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/signed"})
    await merchant.ok(
        "POST", "/v1/routes", 201, json={"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
    )
    old = (await merchant.ok("GET", f"/v1/targets/{target['id']}/signing-key"))["signing_key"]
    keys = await merchant.ok("POST", f"/v1/targets/{target['id']}/signing-key/rotate")
    new = keys["signing_key"]
    await merchant.ok(
        "POST", "/v1/events", 202, json={"id": "evt-rot", "type": "order.reminder", "data": {"object": ORDER}}
    )

    [request] = await receiver.wait_for(1, path="/signed")
    header = request.headers["ordergroove-signature"]
    parts = header.split(",")
    assert parts[0].startswith("ts=") and [p.split("=", 1)[0] for p in parts[1:]] == ["sig", "sig"]
    ts = int(parts[0][3:])
    assert header == signing.ordergroove_signature(
        [new.encode(), old.encode()], ts, request.body
    )  # new first
    now = int(time.time())
    assert signing.verify_ordergroove(new.encode(), header, request.body, now=now)
    assert signing.verify_ordergroove(old.encode(), header, request.body, now=now)
    assert not signing.verify_ordergroove(b"some other key", header, request.body, now=now)

    kinds = [entry.split(",", 1)[0] for entry in request.headers["webhook-signature"].split(" ")]
    assert kinds == ["v1", "v1", "v1a", "v1a"]  # the v1a ones are checked in test_jwks
    Webhook(keys["standard_webhooks_secret"]).verify(request.body, request.headers)
    Webhook(signing.standard_secret(old.encode())).verify(request.body, request.headers)


async def test_delivery_without_rotation_has_one_signature(merchant: Client, receiver: Receiver) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/one"})
    await merchant.ok(
        "POST", "/v1/routes", 201, json={"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
    )
    key = (await merchant.ok("GET", f"/v1/targets/{target['id']}/signing-key"))["signing_key"]
    await merchant.ok("POST", "/v1/events", 202, json={"type": "order.reminder", "data": {"object": ORDER}})
    [request] = await receiver.wait_for(1, path="/one")
    header = request.headers["ordergroove-signature"]
    assert header.count("sig=") == 1
    assert signing.verify_ordergroove(key.encode(), header, request.body, now=int(time.time()))


async def test_target_used_by_a_route_cannot_be_deleted(merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    route = await merchant.ok(
        "POST", "/v1/routes", 201, json={"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
    )
    body = _problem(await merchant.call("DELETE", f"/v1/targets/{target['id']}"), 409)
    assert route["id"] in body["detail"]
    assert (await merchant.ok("GET", f"/v1/targets/{target['id']}"))["id"] == target["id"]

    await merchant.ok("DELETE", f"/v1/routes/{route['id']}", 204)
    await merchant.ok("DELETE", f"/v1/targets/{target['id']}", 204)


async def test_other_merchant_cannot_reach_a_target(operator: Client, merchant: Client) -> None:
    other = await new_merchant(operator)
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/mine"})
    tid = target["id"]
    requests: list[tuple[str, str, Any]] = [
        ("GET", "/v1/targets/{}", None),
        ("PATCH", "/v1/targets/{}", {"enabled": False}),
        ("DELETE", "/v1/targets/{}", None),
        ("GET", "/v1/targets/{}/signing-key", None),
        ("POST", "/v1/targets/{}/signing-key/rotate", None),
    ]
    for method, path, json in requests:
        foreign = await other.call(method, path.format(tid), json=json)
        missing = await other.call(method, path.format("tgt_01ARZ3NDEKTSV4RRFFQ69G5FAV"), json=json)
        _problem(foreign, 404)
        assert foreign.json() == {
            **missing.json(),
            "detail": missing.json()["detail"].replace("tgt_01ARZ3NDEKTSV4RRFFQ69G5FAV", tid),
        }
        assert "signing_key" not in foreign.text

    assert (await other.ok("GET", "/v1/targets"))["data"] == []
    _problem(
        await other.call(
            "POST", "/v1/routes", json={"name": "r", "target_id": tid, "event_types": ["order.*"]}
        ),
        400,
        "target_id",
    )
    # Untouched: still enabled, never rotated.
    assert await merchant.ok("GET", f"/v1/targets/{tid}") == target
    assert (await merchant.ok("GET", f"/v1/targets/{tid}/signing-key"))["expiring_signing_key"] is None


async def test_target_list_is_paginated(merchant: Client) -> None:
    created = [
        (await merchant.ok("POST", "/v1/targets", 201, json={"url": f"http://127.0.0.1:9/{i}"}))["id"]
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await merchant.ok(
            "GET", "/v1/targets", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        seen += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created[::-1]
