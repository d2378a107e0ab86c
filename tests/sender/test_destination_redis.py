"""Redis Streams destinations, end to end against the local Redis (127.0.0.1:6379), on both engines."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis import asyncio as aioredis

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.core.models import ErrorKind
from hookline.sender.destinations.publisher import open_publisher
from support.brokers import (
    FAST_RETRY,
    add_broker_route,
    assert_keyed,
    assert_signed,
    post_keyed,
    post_order,
    wait_attempts,
)
from support.pipeline import wait_status
from support.relay import start_relay

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS)
    try:
        await client.ping()
    except OSError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS}: {exc}")
    yield client
    await client.aclose()


async def read_new(redis: aioredis.Redis, stream: str) -> list[tuple[str, bytes, dict[str, str]]]:
    """The entries not yet read by the group "consumers": (id, body, the other fields decoded)."""
    found: Any = await redis.xreadgroup("consumers", "c1", {stream: ">"}, count=100)
    return [
        (
            entry_id.decode(),
            fields[b"body"],
            {k.decode(): v.decode() for k, v in fields.items() if k != b"body"},
        )
        for _, entries in found
        for entry_id, fields in entries
    ]


@pytest.fixture
async def stream(redis: aioredis.Redis) -> AsyncIterator[str]:
    """A new stream with a consumer group, as a consumer would make it; deleted afterwards."""
    name = f"hookline-test-{uuid.uuid4().hex[:12]}"
    await redis.xgroup_create(name, "consumers", "$", mkstream=True)
    yield name
    await redis.delete(name)


async def test_event_reaches_the_stream_signed(merchant: Client, redis: aioredis.Redis, stream: str) -> None:
    target, _ = await add_broker_route(merchant, REDIS, {"stream": stream, "maxlen": 1000})
    delivery_id = await post_order(merchant)

    delivery = await wait_status(merchant, delivery_id, "success")
    [attempt] = delivery["attempts"]
    [(entry_id, body, headers)] = await read_new(redis, stream)
    assert attempt["response"]["status"] == 200
    assert attempt["response"]["body"] == f"XADD {stream} {entry_id}"
    assert all(name == name.lower() for name in headers)
    assert headers["content-type"] == "application/json"
    await assert_signed(merchant, target, body, headers, "evt-broker-1")
    assert attempt["request"]["headers"]["webhook-id"] == headers["webhook-id"]


async def test_maxlen_trims_the_stream(merchant: Client, redis: aioredis.Redis, stream: str) -> None:
    await add_broker_route(merchant, REDIS, {"stream": stream, "maxlen": 2})
    for n in range(3):
        await wait_status(merchant, await post_order(merchant, f"evt-{n}"), "success")
    assert await redis.xlen(stream) == 2


async def test_missing_stream_is_refused_and_retried(db_url: str, redis: aioredis.Redis) -> None:
    name = f"hookline-test-{uuid.uuid4().hex[:12]}"
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        target, _ = await add_broker_route(merchant, REDIS, {"stream": name}, retry=FAST_RETRY)
        delivery_id = await post_order(merchant)

        delivery = await wait_attempts(merchant, delivery_id, 2)
        assert delivery["status"] == "pending"
        for attempt in delivery["attempts"][:2]:
            assert attempt["error_kind"] == "status" and attempt["response"] is None
            assert f"redis refused: no stream named {name!r}" in attempt["error"]
        assert not await redis.exists(name)  # a refusal made no stream nobody reads

        await redis.xgroup_create(name, "consumers", "$", mkstream=True)
        try:
            await wait_status(merchant, delivery_id, "success", timeout=15)
            [(_, body, headers)] = await read_new(redis, name)
            await assert_signed(merchant, target, body, headers, "evt-broker-1")
        finally:
            await redis.delete(name)


async def test_redis_down_then_back_delivers_everything(
    db_url: str, redis: aioredis.Redis, stream: str
) -> None:
    async with start_relay(("127.0.0.1", 6379)) as relay, running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        await add_broker_route(merchant, relay.url_for(REDIS), {"stream": stream}, retry=FAST_RETRY)
        first = await post_order(merchant, "evt-before")
        await wait_status(merchant, first, "success")

        await relay.refuse()
        down = [await post_order(merchant, f"evt-down-{n}") for n in range(3)]
        for delivery_id in down:
            failed = (await wait_attempts(merchant, delivery_id, 1))["attempts"][0]
            assert failed["error_kind"] in ("connect", "timeout"), failed["error"]
            assert "127.0.0.1" in failed["error"] or "acknowledgement" in failed["error"]

        await relay.heal()
        for delivery_id in down:
            await wait_status(merchant, delivery_id, "success", timeout=20)
    ids = sorted(json.loads(body)["id"] for _, body, _ in await read_new(redis, stream))
    assert ids == ["evt-before", "evt-down-0", "evt-down-1", "evt-down-2"]


async def test_private_broker_address_is_blocked_when_sending() -> None:
    async with open_publisher(allow_private=False) as publisher:
        literal = await publisher.publish(REDIS, {"stream": "s"}, b"{}", {}, 2.0)
        resolved = await publisher.publish("redis://localhost:6379/0", {"stream": "s"}, b"{}", {}, 2.0)
        unknown = await publisher.publish("redis://no-such-host.invalid/0", {"stream": "s"}, b"{}", {}, 2.0)
    assert literal.error is ErrorKind.BLOCKED and literal.status is None
    assert (
        literal.error_detail
        == "address 127.0.0.1 is loopback; set HOOKLINE_ALLOW_PRIVATE_TARGETS to allow it"
    )
    assert resolved.error is ErrorKind.BLOCKED
    assert resolved.error_detail is not None and resolved.error_detail.startswith("localhost resolves to ")
    assert unknown.error is ErrorKind.DNS, unknown


async def test_no_acknowledgement_within_the_timeout(stream: str) -> None:
    async with start_relay(("127.0.0.1", 6379)) as relay, open_publisher(allow_private=True) as publisher:
        url = relay.url_for("redis://:a-password@127.0.0.1:6379/0")
        relay.stall()
        outcome = await publisher.publish(url, {"stream": stream}, b"{}", {}, 0.5)
        assert outcome.error is ErrorKind.TIMEOUT, outcome
        assert outcome.error_detail is not None and "within 0.5 s" in outcome.error_detail
        assert "a-password" not in outcome.error_detail
        await relay.heal()


async def test_ordered_route_carries_key_and_sequence_as_fields(
    merchant: Client, redis: aioredis.Redis, stream: str
) -> None:
    await add_broker_route(merchant, REDIS, {"stream": stream}, ordering="customer")
    await post_keyed(merchant)
    assert_keyed([(stream, body, fields) for _, body, fields in await read_new(redis, stream)], None)
