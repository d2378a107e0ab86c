"""RabbitMQ destinations, end to end against the local RabbitMQ (127.0.0.1:5672, guest), on both engines."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.core import ordering
from hookline.sender.destinations import keyed
from hookline.sender.destinations.amqp import AmqpBroker
from hookline.sender.destinations.port import Refused
from support.brokers import (
    FAST_RETRY,
    add_broker_route,
    assert_keyed,
    assert_signed,
    post_keyed,
    post_order,
    wait_attempts,
)
from support.events import event
from support.pipeline import wait_status
from support.relay import start_relay

AMQP = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Bound:
    """An exchange and a queue bound to it with ``routing_key``."""

    channel: AbstractChannel
    exchange: str
    queue: str
    routing_key: str = "orders"

    async def read(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        """The next ``count`` messages of the queue: (body, headers as text)."""
        queue = await self.channel.get_queue(self.queue)
        found = []
        for _ in range(count):
            message = await queue.get(timeout=5)
            await message.ack()
            found.append((message.body, {k: str(v) for k, v in (message.headers or {}).items()}))
        return found


@pytest.fixture
async def channel() -> AsyncIterator[AbstractChannel]:
    try:
        connection: AbstractConnection = await aio_pika.connect(AMQP, timeout=5)
    except Exception as exc:
        pytest.fail(f"RabbitMQ is not reachable at {AMQP}: {exc}")
    yield await connection.channel()
    await connection.close()


def _tag() -> str:
    return f"hookline-test-{uuid.uuid4().hex[:12]}"


async def _bind(channel: AbstractChannel, name: str) -> Bound:
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.DIRECT, auto_delete=False)
    queue = await channel.declare_queue(name, auto_delete=False)
    await queue.bind(exchange, "orders")
    return Bound(channel, name, name)


async def _unbind(bound: Bound) -> None:
    await bound.channel.queue_delete(bound.queue)
    await bound.channel.exchange_delete(bound.exchange)


@pytest.fixture
async def bound(channel: AbstractChannel) -> AsyncIterator[Bound]:
    made = await _bind(channel, _tag())
    yield made
    await _unbind(made)


async def test_event_reaches_the_queue_signed(merchant: Client, bound: Bound) -> None:
    destination = {"exchange": bound.exchange, "routing_key": "orders"}
    target, _ = await add_broker_route(merchant, AMQP, destination)
    delivery_id = await post_order(merchant)

    delivery = await wait_status(merchant, delivery_id, "success")
    [attempt] = delivery["attempts"]
    assert attempt["response"]["status"] == 200
    assert attempt["response"]["body"] == f"confirmed: exchange {bound.exchange!r}, routing key 'orders'"
    [(body, headers)] = await bound.read(1)
    await assert_signed(merchant, target, body, headers, "evt-broker-1")
    assert target["url"] == "amqp://guest:****@127.0.0.1/"


async def test_default_exchange_routes_to_the_named_queue(merchant: Client, channel: AbstractChannel) -> None:
    name = _tag()
    await channel.declare_queue(name, auto_delete=False)
    try:
        target, _ = await add_broker_route(merchant, AMQP, {"exchange": "", "routing_key": name})
        await wait_status(merchant, await post_order(merchant), "success")
        message = await (await channel.get_queue(name)).get(timeout=5)
        assert message.content_type == "application/json"
        headers = {k: str(v) for k, v in (message.headers or {}).items()}
        await assert_signed(merchant, target, message.body, headers, "evt-broker-1")
    finally:
        await channel.queue_delete(name)


async def test_missing_exchange_and_unroutable_messages_are_refused_and_retried(
    db_url: str, channel: AbstractChannel
) -> None:
    name = _tag()
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        destination = {"exchange": name, "routing_key": "orders"}
        target, _ = await add_broker_route(merchant, AMQP, destination, retry=FAST_RETRY)
        delivery_id = await post_order(merchant)

        delivery = await wait_attempts(merchant, delivery_id, 2)
        assert delivery["status"] == "pending"
        for attempt in delivery["attempts"][:2]:
            assert attempt["error_kind"] == "status" and attempt["response"] is None
            assert attempt["error"] == f"amqp refused: NOT_FOUND - no exchange '{name}' in vhost '/'"

        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.DIRECT)
        try:
            seen = len(delivery["attempts"])
            later = await wait_attempts(merchant, delivery_id, seen + 2)
            unroutable = later["attempts"][-1]
            assert unroutable["error_kind"] == "status", unroutable
            assert "NO_ROUTE" in unroutable["error"] and later["status"] == "pending"

            queue = await channel.declare_queue(name)
            await queue.bind(exchange, "orders")
            await wait_status(merchant, delivery_id, "success", timeout=15)
            [(body, headers)] = await Bound(channel, name, name).read(1)
            await assert_signed(merchant, target, body, headers, "evt-broker-1")
        finally:
            await channel.queue_delete(name)
            await channel.exchange_delete(name)


async def test_rabbitmq_down_then_back_delivers_everything(db_url: str, bound: Bound) -> None:
    async with start_relay(("127.0.0.1", 5672)) as relay, running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        destination = {"exchange": bound.exchange, "routing_key": "orders"}
        await add_broker_route(merchant, relay.url_for(AMQP), destination, retry=FAST_RETRY)
        await wait_status(merchant, await post_order(merchant, "evt-before"), "success")

        await relay.refuse()
        down = [await post_order(merchant, f"evt-down-{n}") for n in range(3)]
        for delivery_id in down:
            failed = (await wait_attempts(merchant, delivery_id, 1))["attempts"][0]
            assert failed["error_kind"] in ("connect", "timeout"), failed["error"]
            assert "guest@" not in failed["error"]

        await relay.heal()
        for delivery_id in down:
            await wait_status(merchant, delivery_id, "success", timeout=20)
    ids = sorted(json.loads(body)["id"] for body, _ in await bound.read(4))
    assert ids == ["evt-before", "evt-down-0", "evt-down-1", "evt-down-2"]


async def test_many_deliveries_at_once_each_confirmed(merchant: Client, bound: Bound) -> None:
    await add_broker_route(merchant, AMQP, {"exchange": bound.exchange, "routing_key": "orders"})
    ids = [await post_order(merchant, f"evt-{n}") for n in range(40)]
    for delivery_id in ids:
        await wait_status(merchant, delivery_id, "success")
    bodies = await bound.read(40)
    assert sorted(json.loads(body)["id"] for body, _ in bodies) == sorted(f"evt-{n}" for n in range(40))


async def _take(queue: AbstractQueue, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """The next ``count`` messages of the queue: (routing key, body, headers as text)."""
    found = []
    for _ in range(count):
        message = await queue.get(timeout=5)
        await message.ack()
        headers = {k: str(v) for k, v in (message.headers or {}).items()}
        found.append((str(message.routing_key), message.body, headers))
    return found


async def test_ordered_route_publishes_with_the_key_routing_key(
    merchant: Client, channel: AbstractChannel
) -> None:
    name = _tag()
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, auto_delete=False)
    queue = await channel.declare_queue(name, auto_delete=False)
    await queue.bind(exchange, "orders.#")
    try:
        destination = {"exchange": name, "routing_key": "orders"}
        await add_broker_route(merchant, AMQP, destination, ordering="customer")
        await post_keyed(merchant)
        received = await _take(queue, 5)
        assert_keyed(received, "orders")
    finally:
        await channel.queue_delete(name)
        await channel.exchange_delete(name)


async def test_ordered_route_on_the_default_exchange_keeps_the_queue_name(
    merchant: Client, channel: AbstractChannel
) -> None:
    name = _tag()
    await channel.declare_queue(name, auto_delete=False)
    try:
        await add_broker_route(merchant, AMQP, {"exchange": "", "routing_key": name}, ordering="customer")
        await post_keyed(merchant)
        queue = await channel.get_queue(name)
        received = await _take(queue, 5)
        assert {where for where, _, _ in received} == {name}
        assert_keyed(received, None)
    finally:
        await channel.queue_delete(name)


async def test_a_key_too_long_for_the_routing_key_is_shortened_to_fit(
    merchant: Client, channel: AbstractChannel
) -> None:
    name, base = _tag(), "r" * 200  # 200 + "." leaves 54 bytes for a 200-byte key token
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, auto_delete=False)
    queue = await channel.declare_queue(name, auto_delete=False)
    await queue.bind(exchange, f"{base}.#")
    key = "c." * 50  # the longest key ingest takes, "c%2E" * 50 as a token
    try:
        await add_broker_route(merchant, AMQP, {"exchange": name, "routing_key": base}, ordering="customer")
        body = event("order.reminder", "evt-long-key", customer=key)
        [delivery_id] = (await merchant.ok("POST", "/v1/events", 202, json=body))["deliveries"]
        delivery = await wait_status(merchant, delivery_id, "success")
        [(routing_key, _, headers)] = await _take(queue, 1)
    finally:
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
    assert len(routing_key.encode()) <= keyed.ROUTING_KEY_MAX
    assert routing_key == keyed.suffixed(base, dict(ordering.headers(key, 1)), limit=keyed.ROUTING_KEY_MAX)
    assert routing_key.startswith(f"{base}.c%2E") and "~" in routing_key
    assert unquote(headers["Hookline-Ordering-Key"]) == key  # the header keeps it whole
    assert delivery["attempts"][0]["response"]["body"].endswith(f"routing key {routing_key!r}")


async def test_a_confirmed_channel_serves_the_next_publish_and_a_refused_one_never(bound: Bound) -> None:
    broker = AmqpBroker()
    destination = {"exchange": bound.exchange, "routing_key": "orders"}
    try:
        await broker.publish(AMQP, destination, b'{"n": 1}', {}, 5)
        connection = await broker._connections.get(AMQP)
        [kept] = broker._idle[connection]
        for n in (2, 3):
            await broker.publish(AMQP, destination, b'{"n": %d}' % n, {}, 5)
            assert broker._idle[connection] == [kept]  # the same channel, opened once
        missing = {"exchange": _tag(), "routing_key": "orders"}
        with pytest.raises(Refused, match="NOT_FOUND"):
            await broker.publish(AMQP, missing, b"{}", {}, 5)
        assert kept.is_closed and broker._idle[connection] == []  # the refusal closed it: not kept
        await broker.publish(AMQP, destination, b'{"n": 4}', {}, 5)
        assert [json.loads(body)["n"] for body, _ in await bound.read(4)] == [1, 2, 3, 4]
    finally:
        await broker.close()
