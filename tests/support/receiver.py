"""A real webhook receiver for tests: an aiohttp server on 127.0.0.1 that records and answers as told.

Outbound HTTP is tested against real sockets rather than mocks, because what matters (timeouts, resets,
refused connections, redirects, truncated bodies) happens in the network stack and in aiohttp, which a
mock would only imitate. The server runs in the test's own event loop on a free port.

Usage::

    async def test_x(receiver: Receiver) -> None:
        receiver.script("/hook", Status(500), Stall(2.0))  # first answer 500, then stall, then 200s
        receiver.respond("/other", Status(410))           # every request to /other gets 410
        ...
        [first] = await receiver.wait_for(1, path="/hook")
        assert first.headers["webhook-id"]               # header names are lower-case
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import struct
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from aiohttp import web


@dataclass(frozen=True, slots=True)
class Received:
    """One request as it reached the receiver. ``headers`` has lower-case names (repeats joined by ", ")."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival
    method: str = "POST"
    query: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Status:
    """Answer with this status, body and headers."""

    code: int
    body: bytes = b"ok"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stall:
    """Wait ``seconds`` before answering 200, so a client with a shorter timeout gives up."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Reset:
    """Drop the connection with a TCP RST, without answering."""


Behaviour = Status | Stall | Reset
OK = Status(200)


class Receiver:
    """Records every request and answers each path from its script, then its default, then 200."""

    def __init__(self) -> None:
        self.url = ""  # "http://127.0.0.1:<port>", set once started
        self.requests: list[Received] = []
        self._scripts: defaultdict[str, deque[Behaviour]] = defaultdict(deque)
        self._defaults: dict[str, Behaviour] = {}
        self._arrived = asyncio.Condition()
        self._closing = asyncio.Event()

    def script(self, path: str, *behaviours: Behaviour) -> None:
        """Queue answers for the next requests to ``path``; calls add to the end of the queue."""
        self._scripts[path].extend(behaviours)

    def respond(self, path: str, behaviour: Behaviour) -> None:
        """Answer requests to ``path`` this way once its script is used up (instead of 200)."""
        self._defaults[path] = behaviour

    def on(self, path: str) -> list[Received]:
        """The requests that reached ``path``, in arrival order."""
        return [r for r in self.requests if r.path == path]

    async def wait_for(self, count: int, timeout: float = 10.0, path: str | None = None) -> list[Received]:
        """Wait until ``count`` requests (to ``path``, if given) arrived; return all of them so far."""

        def matching() -> list[Received]:
            return self.requests if path is None else self.on(path)

        try:
            async with self._arrived:
                await asyncio.wait_for(self._arrived.wait_for(lambda: len(matching()) >= count), timeout)
        except TimeoutError:
            where = "" if path is None else f" to {path}"
            seen = ", ".join(f"{r.method} {r.path}" for r in self.requests) or "nothing"
            raise AssertionError(
                f"receiver: waited {timeout}s for {count} request(s){where}, got {len(matching())}; "
                f"all requests: {seen}"
            ) from None
        return list(matching())

    def _next(self, path: str) -> Behaviour:
        script = self._scripts.get(path)
        if script:
            return script.popleft()
        return self._defaults.get(path, OK)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.requests.append(
            Received(request.path, headers, body, time.time(), request.method, request.query_string)
        )
        async with self._arrived:
            self._arrived.notify_all()
        return await self._answer(request, self._next(request.path))

    async def _answer(self, request: web.Request, behaviour: Behaviour) -> web.StreamResponse:
        if isinstance(behaviour, Stall):
            # Waking at shutdown keeps teardown fast when a client gave up on a long stall.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), behaviour.seconds)
            return web.Response(body=b"ok")
        if isinstance(behaviour, Reset):
            _reset(request)
            # Nothing reaches the client: aiohttp fails to write this to the aborted transport, quietly.
            return web.Response(status=500)
        return web.Response(status=behaviour.code, body=behaviour.body, headers=dict(behaviour.headers))

    def closing(self) -> None:
        self._closing.set()


def _reset(request: web.Request) -> None:
    """Abort the connection; SO_LINGER 0 makes the kernel send RST, as a crashed server would."""
    transport = request.transport
    assert transport is not None
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@contextlib.asynccontextmanager
async def start_receiver(
    host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Receiver]:
    """A started receiver on a free port of ``host`` (https with ``ssl_context``); stopped on exit."""
    receiver = Receiver()
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        scheme = "http" if ssl_context is None else "https"
        receiver.url = f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
        yield receiver
    finally:
        receiver.closing()
        await runner.cleanup()


@pytest_asyncio.fixture(name="receiver")
async def receiver_fixture() -> AsyncIterator[Receiver]:
    """A started ``Receiver`` for one test, as the fixture ``receiver``.

    Import it as ``receiver`` in a conftest, or as ``receiver_fixture`` in a test module, where a test's
    ``receiver`` parameter would otherwise shadow the import (ruff F811).
    """
    async with start_receiver() as started:
        yield started


receiver = receiver_fixture
