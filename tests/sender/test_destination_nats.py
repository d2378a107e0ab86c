"""NATS JetStream destinations, end to end against the local NATS server (127.0.0.1:4222), on both engines."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
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

NATS = "nats://127.0.0.1:4222"


@dataclass
class Stream:
    js: JetStreamContext
    name: str
    subject: str

    async def read(self, count: int) -> list[tuple[bytes, dict[str, str]]]:
        """The first ``count`` messages of the stream: (data, headers)."""
        sub = await self.js.pull_subscribe(self.subject, stream=self.name)
        messages: list[Msg] = []
        while len(messages) < count:  # a fetch may hand over fewer than asked; a missing one times out
            messages += await sub.fetch(count - len(messages), timeout=5)
        for message in messages:
            await message.ack()
        return [(message.data, dict(message.headers or {})) for message in messages]


@pytest.fixture
async def nc() -> AsyncIterator[Nats]:
    try:
        client = await nats.connect(NATS, allow_reconnect=False)
    except Exception as exc:
        pytest.fail(f"NATS is not reachable at {NATS}: {exc}")
    yield client
    await client.close()


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:12]
    return f"HOOKLINE_TEST_{tag}", f"hookline.test.{tag}.orders"


@pytest.fixture
async def stream(nc: Nats) -> AsyncIterator[Stream]:
    """A JetStream stream covering a subject of its own; deleted afterwards."""
    js = nc.jetstream()
    name, subject = _names()
    await js.add_stream(name=name, subjects=[subject])
    yield Stream(js, name, subject)
    await js.delete_stream(name)


async def test_event_reaches_the_stream_signed(merchant: Client, stream: Stream) -> None:
    target, _ = await add_broker_route(merchant, NATS, {"subject": stream.subject})
    delivery_id = await post_order(merchant)

    delivery = await wait_status(merchant, delivery_id, "success")
    [attempt] = delivery["attempts"]
    assert attempt["response"]["status"] == 200
    assert attempt["response"]["body"] == f"JetStream ack: stream {stream.name}, seq 1"
    [(body, headers)] = await stream.read(1)
    assert headers["Content-Type"] == "application/json"
    await assert_signed(merchant, target, body, headers, "evt-broker-1")


async def test_subject_without_stream_is_refused_and_retried(db_url: str, nc: Nats) -> None:
    name, subject = _names()
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        target, _ = await add_broker_route(merchant, NATS, {"subject": subject}, retry=FAST_RETRY)
        delivery_id = await post_order(merchant)

        delivery = await wait_attempts(merchant, delivery_id, 2)
        assert delivery["status"] == "pending"
        for attempt in delivery["attempts"][:2]:
            assert attempt["error_kind"] == "status" and attempt["response"] is None
            assert f"nats refused: no JetStream stream covers the subject {subject!r}" == attempt["error"]

        js = nc.jetstream()
        await js.add_stream(name=name, subjects=[subject])
        try:
            await wait_status(merchant, delivery_id, "success", timeout=15)
            [(body, headers)] = await Stream(js, name, subject).read(1)
            await assert_signed(merchant, target, body, headers, "evt-broker-1")
        finally:
            await js.delete_stream(name)


async def test_nats_down_then_back_delivers_everything(db_url: str, stream: Stream) -> None:
    async with start_relay(("127.0.0.1", 4222)) as relay, running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        url = relay.url_for(NATS)
        await add_broker_route(merchant, url, {"subject": stream.subject}, retry=FAST_RETRY)
        await wait_status(merchant, await post_order(merchant, "evt-before"), "success")

        await relay.refuse()
        down = [await post_order(merchant, f"evt-down-{n}") for n in range(3)]
        for delivery_id in down:
            failed = (await wait_attempts(merchant, delivery_id, 1))["attempts"][0]
            assert failed["error_kind"] in ("connect", "timeout"), failed["error"]

        await relay.heal()
        for delivery_id in down:
            await wait_status(merchant, delivery_id, "success", timeout=20)
    ids = sorted(json.loads(body)["id"] for body, _ in await stream.read(4))
    assert ids == ["evt-before", "evt-down-0", "evt-down-1", "evt-down-2"]


async def test_ordered_route_publishes_to_the_key_subject(merchant: Client, nc: Nats) -> None:
    js = nc.jetstream()
    name, subject = _names()
    await js.add_stream(name=name, subjects=[f"{subject}.>"])  # as a stream for an ordered route binds
    try:
        await add_broker_route(merchant, NATS, {"subject": subject}, ordering="customer")
        await post_keyed(merchant)
        sub = await js.pull_subscribe(f"{subject}.>", stream=name)
        messages: list[Msg] = []
        while len(messages) < 5:  # a fetch may hand over fewer than were asked for
            messages += await sub.fetch(5 - len(messages), timeout=5)
        assert_keyed([(m.subject, m.data, dict(m.headers or {})) for m in messages], subject)
    finally:
        await js.delete_stream(name)
