"""TLS broker URLs (``rediss://``, ``tls://`` for NATS, ``amqps://``): accepted, and connected with TLS.

No broker with TLS runs locally: a small server stands in, records the first bytes a publish sends and
closes, so that each test sees a TLS handshake (a ClientHello record: ``16 03 …``) begin where a plain
protocol would have spoken; against the plain local brokers, a TLS URL records a clear error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conftest import Client
from hookline.core.models import ErrorKind
from hookline.sender.destinations.publisher import open_publisher

TLS_RECORD = b"\x16\x03"  # a TLS handshake record, any version: the client's first bytes in TLS
# What a NATS server that requires TLS says first, in clear (the client then starts TLS).
NATS_INFO = b'INFO {"server_id":"stand-in","version":"2.10.0","tls_required":true,"max_payload":1048576}\r\n'
DESTINATIONS: dict[str, dict[str, Any]] = {
    "rediss": {"stream": "orders"},
    "tls": {"subject": "shop.orders"},
    "amqps": {"exchange": "shop", "routing_key": "orders"},
}


@contextlib.asynccontextmanager
async def stand_in(greeting: bytes = b"") -> AsyncIterator[tuple[int, list[bytes]]]:
    """A server on 127.0.0.1 that says ``greeting``, records the first bytes it gets, and hangs up."""
    first: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        with contextlib.suppress(OSError, TimeoutError, asyncio.IncompleteReadError):
            await writer.drain()
            first.append(await asyncio.wait_for(reader.readexactly(len(TLS_RECORD)), 5))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], first
    finally:
        server.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rediss://:secret@127.0.0.1:6380/0", "rediss://:****@127.0.0.1:6380/0"),
        ("tls://token@127.0.0.1", "tls://****@127.0.0.1/"),
        ("amqps://guest:guest@127.0.0.1/", "amqps://guest:****@127.0.0.1/"),
    ],
)
async def test_tls_urls_are_accepted(merchant: Client, url: str, shown: str) -> None:
    scheme = url.partition("://")[0]
    body = {"url": url, "destination": DESTINATIONS[scheme]}
    target = await merchant.ok("POST", "/v1/targets", 201, json=body)
    assert target["url"] == shown
    assert target["destination"] == DESTINATIONS[scheme]


@pytest.mark.parametrize(("scheme", "greeting"), [("rediss", b""), ("tls", NATS_INFO), ("amqps", b"")])
async def test_a_tls_url_starts_a_tls_handshake(scheme: str, greeting: bytes) -> None:
    async with stand_in(greeting) as (port, first), open_publisher(allow_private=True) as publisher:
        url = f"{scheme}://127.0.0.1:{port}/"
        outcome = await publisher.publish(url, DESTINATIONS[scheme], b"{}", {}, 5.0)
    assert outcome.error in (ErrorKind.CONNECT, ErrorKind.PROTOCOL), outcome
    assert first == [TLS_RECORD], f"{scheme}: the client's first bytes were {first}, not a TLS handshake"


async def test_amqps_against_a_plain_port_records_a_tls_error() -> None:
    async with open_publisher(allow_private=True) as publisher:
        url = "amqps://guest:guest@127.0.0.1:5672/"
        outcome = await publisher.publish(url, DESTINATIONS["amqps"], b"{}", {}, 5.0)
    assert outcome.error is ErrorKind.CONNECT, outcome
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith("amqps://guest:****@127.0.0.1:5672/: ")
    assert "SSL" in outcome.error_detail, outcome.error_detail


async def test_nats_tls_url_refuses_a_server_without_tls() -> None:
    async with open_publisher(allow_private=True) as publisher:
        outcome = await publisher.publish("tls://127.0.0.1:4222", DESTINATIONS["tls"], b"{}", {}, 5.0)
    assert outcome.error is ErrorKind.CONNECT, outcome
    assert outcome.error_detail == (
        "tls://127.0.0.1:4222: the server does not require TLS, so the connection stayed in clear: not "
        "published (a tls:// URL is TLS or nothing; use nats:// for a server without TLS)"
    )
