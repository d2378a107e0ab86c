"""Broker targets through the API: a URL and its destination checked together, credentials never shown."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.sender.destinations import keyed
from hookline.storage.database import Database
from hookline.storage.tables import targets

REDIS = "redis://127.0.0.1:6379/0"


def _problem(response: httpx.Response, field: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert field in [e["field"] for e in body["errors"]], body
    return body


async def test_redis_target_created_with_its_destination(merchant: Client) -> None:
    created = await merchant.ok(
        "POST", "/v1/targets", 201, json={"url": REDIS, "destination": {"stream": "orders", "maxlen": 10}}
    )
    assert created["url"] == "redis://127.0.0.1/0"  # canonical: the default port left out
    assert created["destination"] == {"stream": "orders", "maxlen": 10}
    assert await merchant.ok("GET", f"/v1/targets/{created['id']}") == created
    http = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    assert http["destination"] is None


@pytest.mark.parametrize(
    ("destination", "field"),
    [
        (None, "destination"),
        ({}, "destination.stream"),
        ({"stream": ""}, "destination.stream"),
        ({"stream": 5}, "destination.stream"),
        ({"stream": "a\nb"}, "destination.stream"),
        ({"stream": "x" * 300}, "destination.stream"),
        ({"stream": "s", "maxlen": 0}, "destination.maxlen"),
        ({"stream": "s", "maxlen": True}, "destination.maxlen"),
        ({"stream": "s", "maxlen": "3"}, "destination.maxlen"),
        ({"stream": "s", "subject": "x"}, "destination.subject"),
    ],
)
async def test_bad_redis_destination_is_refused(
    merchant: Client, destination: dict[str, Any] | None, field: str
) -> None:
    body: dict[str, Any] = {"url": REDIS}
    if destination is not None:
        body["destination"] = destination
    _problem(await merchant.call("POST", "/v1/targets", json=body), field)
    assert (await merchant.ok("GET", "/v1/targets"))["data"] == []


async def test_nats_target_and_its_subject(merchant: Client) -> None:
    created = await merchant.ok(
        "POST",
        "/v1/targets",
        201,
        json={"url": "nats://a-secret-token@127.0.0.1:4222", "destination": {"subject": "shop.orders"}},
    )
    assert created["url"] == "nats://****@127.0.0.1/" and created["destination"] == {"subject": "shop.orders"}
    for subject in ("", "a..b", ".a", "a.", "a.*", "a.>", ">", "a b", 7):
        body = {"url": "nats://127.0.0.1", "destination": {"subject": subject}}
        _problem(await merchant.call("POST", "/v1/targets", json=body), "destination.subject")
    body = {"url": "nats://127.0.0.1", "destination": {"stream": "s"}}
    _problem(await merchant.call("POST", "/v1/targets", json=body), "destination.stream")


async def test_amqp_target_and_its_exchange(merchant: Client) -> None:
    for url in ("amqp://guest:guest@127.0.0.1:5672/", "amqps://u:p@127.0.0.1/shop"):
        default = {"exchange": "", "routing_key": "orders"}
        created = await merchant.ok("POST", "/v1/targets", 201, json={"url": url, "destination": default})
        assert ":****@" in created["url"] and created["destination"] == default
    bad: tuple[tuple[dict[str, Any], str], ...] = (
        ({"routing_key": "orders"}, "destination.exchange"),
        ({"exchange": "shop"}, "destination.routing_key"),
        ({"exchange": 1, "routing_key": "k"}, "destination.exchange"),
        ({"exchange": "x" * 256, "routing_key": "k"}, "destination.exchange"),
        ({"exchange": "shop", "routing_key": "k", "stream": "s"}, "destination.stream"),
    )
    for destination, field in bad:
        body = {"url": "amqp://127.0.0.1", "destination": destination}
        _problem(await merchant.call("POST", "/v1/targets", json=body), field)


async def test_amqp_routing_key_leaves_room_for_the_ordering_key(merchant: Client) -> None:
    named = keyed.ROUTING_KEY_MAX - keyed.SUFFIX_ROOM  # 237 bytes: ".<key>" shortened fits in the rest
    fits = (("shop", "k" * named), ("", "q" * keyed.ROUTING_KEY_MAX))  # the default exchange: a queue name
    for exchange, routing_key in fits:
        body = {"url": "amqp://127.0.0.1", "destination": {"exchange": exchange, "routing_key": routing_key}}
        await merchant.ok("POST", "/v1/targets", 201, json=body)
    for exchange, routing_key in (("shop", "k" * (named + 1)), ("", "q" * (keyed.ROUTING_KEY_MAX + 1))):
        body = {"url": "amqp://127.0.0.1", "destination": {"exchange": exchange, "routing_key": routing_key}}
        response = await merchant.call("POST", "/v1/targets", json=body)
        _problem(response, "destination.routing_key")
        limit = named if exchange else keyed.ROUTING_KEY_MAX
        assert f"too long ({limit} bytes at most" in response.json()["detail"], response.json()


async def test_http_target_has_no_destination(merchant: Client) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "destination": {"stream": "s"}}
    _problem(await merchant.call("POST", "/v1/targets", json=body), "destination")


async def test_bad_broker_url_is_refused(merchant: Client) -> None:
    for url in (
        "redis://",
        "redis://127.0.0.1:99999/0",
        "redis:/127.0.0.1",
        "redis://a b/0",
        "redis://127.0.0.1/0?socket_timeout=1",
        "amqps://127.0.0.1/?keyfile=/etc/shadow",
        "nats://127.0.0.1#x",
    ):
        body = {"url": url, "destination": {"stream": "s"}}
        _problem(await merchant.call("POST", "/v1/targets", json=body), "url")


async def stored_url(db_url: str, target_id: str) -> str:
    """The URL as stored, password and all."""
    db = Database(db_url)
    try:
        async with db.read() as conn:
            found = await conn.execute(select(targets.c.url).where(targets.c.id == target_id))
            return str(found.scalar_one())
    finally:
        await db.close()


async def test_password_is_write_only(db_url: str, merchant: Client) -> None:
    url = "redis://hookline:s3cret-pass@127.0.0.1:6379/0"
    created = await merchant.ok("POST", "/v1/targets", 201, json={"url": url, "destination": {"stream": "s"}})
    assert created["url"] == "redis://hookline:****@127.0.0.1/0"
    for path in (f"/v1/targets/{created['id']}", "/v1/targets"):
        response = await merchant.call("GET", path)
        assert response.status_code == 200 and "s3cret" not in response.text
    # The URL as shown, sent back (a client saving the whole object), keeps the password.
    path = f"/v1/targets/{created['id']}"
    await merchant.ok("PATCH", path, json={"url": created["url"], "destination": {"stream": "t"}})
    assert await stored_url(db_url, created["id"]) == "redis://hookline:s3cret-pass@127.0.0.1/0"
    await merchant.ok("PATCH", path, json={"url": "redis://hookline:new-pass@127.0.0.1/0"})
    assert await stored_url(db_url, created["id"]) == "redis://hookline:new-pass@127.0.0.1/0"


async def test_patch_keeps_or_replaces_the_destination(merchant: Client) -> None:
    created = await merchant.ok(
        "POST", "/v1/targets", 201, json={"url": REDIS, "destination": {"stream": "a"}}
    )
    path = f"/v1/targets/{created['id']}"
    moved = await merchant.ok("PATCH", path, json={"url": "redis://127.0.0.1:6379/1"})
    assert moved["url"] == "redis://127.0.0.1/1" and moved["destination"] == {"stream": "a"}
    renamed = await merchant.ok("PATCH", path, json={"destination": {"stream": "b", "maxlen": 5}})
    assert renamed["destination"] == {"stream": "b", "maxlen": 5}
    _problem(await merchant.call("PATCH", path, json={"destination": {"stream": ""}}), "destination.stream")
    assert (await merchant.ok("GET", path))["destination"] == {"stream": "b", "maxlen": 5}
    to_http = await merchant.ok("PATCH", path, json={"url": "http://127.0.0.1:9/hook"})
    assert to_http["destination"] is None
    _problem(await merchant.call("PATCH", path, json={"destination": {"stream": "c"}}), "destination")
    _problem(await merchant.call("PATCH", path, json={"url": REDIS}), "destination")
    back = await merchant.ok("PATCH", path, json={"url": REDIS, "destination": {"stream": "c"}})
    assert back["destination"] == {"stream": "c"}


async def test_private_broker_hosts_follow_the_operator_setting(db_url: str) -> None:
    async with running_app(app_settings(db_url, allow_private_targets=False), worker=False) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        for url in (REDIS, "redis://localhost:6379/0", "redis://10.0.0.5/0", "redis://[::1]/0"):
            body = {"url": url, "destination": {"stream": "s"}}
            problem = _problem(await merchant.call("POST", "/v1/targets", json=body), "url")
            assert "HOOKLINE_ALLOW_PRIVATE_TARGETS" in problem["detail"]
        public = {"url": "redis://broker.example.com:6380/0", "destination": {"stream": "s"}}
        await merchant.ok("POST", "/v1/targets", 201, json=public)
