"""The demo's webhook receiver: a local aiohttp server that checks signatures and answers 200, mostly.

``hookline serve --demo`` points the demo merchant's target at it, so a newcomer sees signed deliveries
arrive without writing a receiver. It verifies both signatures the way a merchant's code would (the
``Ordergroove-Signature`` HMAC and the Standard Webhooks one, with the target's signing key), and answers
every ``fail_every``-th request with a 503, so that retries show up too.
"""

from __future__ import annotations

import contextlib
import hmac
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from hookline.core import signing

DEFAULT_PORT = 8081
PATH = "/webhooks"


@dataclass(frozen=True, slots=True)
class Webhook:
    """One request, as the receiver saw it."""

    event_type: str
    event_id: str
    delivery_id: str
    verified: bool | None  # None: no signing key known yet
    status: int  # what the receiver answered
    snapshot: tuple[str, ...]  # the snapshot's keys
    size: int


def _standard_ok(key: bytes, headers: Any, body: bytes) -> bool:
    msg_id = headers.get("webhook-id", "")
    ts = headers.get("webhook-timestamp", "")
    if not ts.isascii() or not ts.isdigit():
        return False
    expected = signing.standard_signature([key], msg_id, int(ts), body).encode()
    given = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, sig.encode()) for sig in given)


def _verify(key: bytes | None, headers: Any, body: bytes) -> bool | None:
    if key is None:
        return None
    header = headers.get(signing.ORDERGROOVE_HEADER, "")
    og_ok = signing.verify_ordergroove(key, header, body, now=int(time.time()))
    return og_ok and _standard_ok(key, headers, body)


def _summary(body: bytes) -> tuple[str, tuple[str, ...]]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "(not JSON)", ()
    if not isinstance(payload, dict):
        return "(not an object)", ()
    snapshot = payload.get("snapshot")
    keys = tuple(snapshot) if isinstance(snapshot, dict) else ()
    return str(payload.get("type", "?")), keys


class DemoReceiver:
    """Serves on ``sock`` (bound by the caller, so that a busy port stops ``serve --demo`` before it prints
    any key), or binds ``127.0.0.1:port``; ``on_webhook`` sees each request."""

    def __init__(
        self,
        on_webhook: Callable[[Webhook], None],
        *,
        sock: socket.socket | None = None,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        fail_every: int = 20,
    ) -> None:
        self.sock = sock
        self.host = host
        self.port = port
        self.url = ""
        self.count = 0
        self._on_webhook = on_webhook
        self._fail_every = fail_every
        self._key: bytes | None = None
        self._runner: web.AppRunner | None = None

    def set_signing_key(self, signing_key: str) -> None:
        self._key = signing_key.encode()

    async def start(self) -> str:
        """Start serving; the URL to point a target at."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post(PATH, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        if self.sock is not None:
            await web.SockSite(runner, self.sock).start()
        else:
            await web.TCPSite(runner, self.host, self.port).start()
        self.host, self.port = runner.addresses[0][:2]
        self.url = f"http://{self.host}:{self.port}{PATH}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.count += 1
        verified = _verify(self._key, request.headers, body)
        failing = self._fail_every > 0 and self.count % self._fail_every == 0
        status = 401 if verified is False else 503 if failing else 200
        event_type, snapshot = _summary(body)
        webhook = Webhook(
            event_type=event_type,
            event_id=request.headers.get("Hookline-Event-Id", ""),
            delivery_id=request.headers.get("webhook-id", ""),
            verified=verified,
            status=status,
            snapshot=snapshot,
            size=len(body),
        )
        with contextlib.suppress(Exception):  # printing must never fail a delivery
            self._on_webhook(webhook)
        text = {200: "ok", 401: "bad signature", 503: "busy, try again"}[status]
        return web.json_response({"status": text}, status=status)
