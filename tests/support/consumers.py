"""A consumer on each local broker, for tests that count what hookline published: a place of its own (a
Redis stream, a NATS JetStream stream, a RabbitMQ exchange and queue, named uniquely and removed on exit),
and the messages it received so far, counted per delivery id (``webhook-id``).

Usage::

    async with open_consumer("redis") as consumer:
        target = {"url": consumer.url, "destination": consumer.destination}
        ...
        assert set(await consumer.deliveries()) == set(delivery_ids)
"""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

import aio_pika
import nats
from redis import asyncio as aioredis

REDIS = "redis://127.0.0.1:6379/0"
NATS = "nats://127.0.0.1:4222"
AMQP = "amqp://guest:guest@127.0.0.1:5672/"
# Broker kind -> where its server listens (a relay in front of it forwards there).
ADDRESSES = {"redis": ("127.0.0.1", 6379), "nats": ("127.0.0.1", 4222), "amqp": ("127.0.0.1", 5672)}
KINDS = tuple(ADDRESSES)


class Consumer(Protocol):
    url: str  # the broker's URL as a target has it
    destination: dict[str, Any]

    async def deliveries(self) -> Counter[str]:
        """Every message received so far, counted per ``webhook-id``."""
        ...


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def _delivery_id(headers: Mapping[Any, Any]) -> str:
    found = {str(k.decode() if isinstance(k, bytes) else k).lower(): v for k, v in headers.items()}
    value = found["webhook-id"]
    return value.decode() if isinstance(value, bytes) else str(value)


class _Redis:
    def __init__(self, client: aioredis.Redis, stream: str) -> None:
        self.url = REDIS
        self.destination: dict[str, Any] = {"stream": stream}
        self._client = client
        self._stream = stream

    async def deliveries(self) -> Counter[str]:
        entries = await self._client.xrange(self._stream) or []
        return Counter(_delivery_id(fields or {}) for _, fields in entries)


class _Nats:
    def __init__(self, js: Any, stream: str, subject: str) -> None:
        self.url = NATS
        self.destination: dict[str, Any] = {"subject": subject}
        self._js = js
        self._stream = stream

    async def deliveries(self) -> Counter[str]:
        state = (await self._js.stream_info(self._stream)).state
        found: Counter[str] = Counter()
        if not state.messages:
            return found  # an empty stream reports sequence 0, which is no message's
        for seq in range(max(state.first_seq, 1), state.last_seq + 1):
            message = await self._js.get_msg(self._stream, seq)
            found[_delivery_id(message.headers or {})] += 1
        return found


class _Amqp:
    def __init__(self, channel: Any, name: str) -> None:
        self.url = AMQP
        self.destination: dict[str, Any] = {"exchange": name, "routing_key": "orders"}
        self._channel = channel
        self._name = name
        self._taken: Counter[str] = Counter()  # RabbitMQ hands a message over once: what was taken so far

    async def deliveries(self) -> Counter[str]:
        queue = await self._channel.get_queue(self._name)
        for _ in range(100_000):
            message = await queue.get(no_ack=True, fail=False, timeout=5)
            if message is None:
                return Counter(self._taken)
            self._taken[_delivery_id(message.headers or {})] += 1
        raise AssertionError("more than 100000 messages in the queue")


@contextlib.asynccontextmanager
async def open_consumer(kind: str) -> AsyncIterator[Consumer]:
    """A consumer of ``kind`` ("redis", "nats", "amqp") with a new place of its own, removed on exit."""
    if kind == "redis":
        client = aioredis.Redis.from_url(REDIS)
        stream = f"hookline-test-{_tag()}"
        await client.xgroup_create(stream, "consumers", "$", mkstream=True)
        try:
            yield _Redis(client, stream)
        finally:
            await client.delete(stream)
            await client.aclose()
    elif kind == "nats":
        nc = await nats.connect(NATS, allow_reconnect=False)
        js = nc.jetstream()
        tag = _tag()
        name, subject = f"HOOKLINE_TEST_{tag}", f"hookline.test.{tag}.orders"
        await js.add_stream(name=name, subjects=[subject])
        try:
            yield _Nats(js, name, subject)
        finally:
            await js.delete_stream(name)
            await nc.close()
    elif kind == "amqp":
        connection = await aio_pika.connect(AMQP, timeout=5)
        channel = await connection.channel()
        name = f"hookline-test-{_tag()}"
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.DIRECT)
        queue = await channel.declare_queue(name)
        await queue.bind(exchange, "orders")
        try:
            yield _Amqp(channel, name)
        finally:
            await channel.queue_delete(name)
            await channel.exchange_delete(name)
            await connection.close()
    else:
        raise ValueError(f"no consumer for {kind!r}")
