"""The HTTP server's limits on slow, oversized and too many clients, over real sockets to a real server.

Each test runs hookline's app in uvicorn with ``server.config`` (what ``hookline serve`` and ``api`` use) on a
port of its own; the last one starts ``hookline api`` itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from conftest import app_settings
from crash.helpers import processes
from hookline import server
from hookline.asgi import create_app

LIMITS = {"header_timeout_s": 0.5, "body_timeout_s": 0.5, "max_header_bytes": 4096}
HALF_HEAD = b"GET /healthz HTTP/1.1\r\nHost: hookline.test\r\nX-Slow: "


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers, which belong to the test runner here."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, **settings: Any) -> AsyncIterator[int]:
    """hookline's API on 127.0.0.1 with these settings; its port."""
    config = app_settings(f"sqlite:///{tmp_path}/hookline.db", **{**LIMITS, **settings})
    app = create_app(config, worker=False, migrate_db=True)
    listener = socket.create_server(("127.0.0.1", 0))
    running = _Server(server.config(app, config, lifespan="on"))
    task = asyncio.create_task(running.serve(sockets=[listener]))
    try:
        while not running.started:
            assert not task.done(), task.result()
            await asyncio.sleep(0.01)
        yield int(listener.getsockname()[1])
    finally:
        running.should_exit = True
        await task
        listener.close()


async def _connect(
    port: int, sent: bytes = b"", source: str = "127.0.0.1"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    if sent:
        writer.write(sent)
        await writer.drain()
    return reader, writer


async def _until_closed(reader: asyncio.StreamReader, timeout: float = 5.0) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    answer = await asyncio.wait_for(reader.read(), timeout)
    return answer, time.monotonic() - started


async def _healthz(port: int) -> int:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as http:
        return (await http.get("/healthz")).status_code


async def test_half_sent_and_silent_requests_are_cut_off(tmp_path: Path) -> None:
    async with serving(tmp_path) as port:
        half = [await _connect(port, HALF_HEAD) for _ in range(100)]
        silent = [await _connect(port) for _ in range(100)]
        assert await _healthz(port) == 200  # the server answers others meanwhile
        for reader, _ in half:
            answer, _ = await _until_closed(reader)
            assert answer.startswith(b"HTTP/1.1 408 "), answer
        for reader, _ in silent:
            answer, _ = await _until_closed(reader)
            assert answer == b""  # never said a word: closed without an answer
        for _, writer in half + silent:
            writer.close()
        assert await _healthz(port) == 200


async def test_a_drip_fed_request_is_cut_off_at_the_header_deadline(tmp_path: Path) -> None:
    async with serving(tmp_path) as port:
        reader, writer = await _connect(port, b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        with contextlib.suppress(ConnectionError):
            while not reader.at_eof() and time.monotonic() - started < 5:
                writer.write(b"X-A: b\r\n")  # a header every 50 ms: always busy, never done
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reader.read(1), 0.05)
        assert 0.4 <= time.monotonic() - started < 2.0
        writer.close()


async def test_a_slow_body_is_cut_off(tmp_path: Path) -> None:
    async with serving(tmp_path) as port:
        head = b"POST /v1/events HTTP/1.1\r\nHost: hookline.test\r\nContent-Length: 1000\r\n\r\n{"
        reader, writer = await _connect(port, head)
        _, took = await _until_closed(reader)
        assert took < 2.0
        writer.close()


async def test_headers_past_the_limit_are_431_and_a_body_does_not_count(tmp_path: Path) -> None:
    async with serving(tmp_path) as port:
        reader, writer = await _connect(port, HALF_HEAD + b"x" * 5000 + b"\r\n\r\n")
        answer, _ = await _until_closed(reader)
        assert answer.startswith(b"HTTP/1.1 431 ")
        writer.close()
        # A header that never ends, sent a kilobyte at a time: refused once past the limit.
        reader, writer = await _connect(port, HALF_HEAD)
        with contextlib.suppress(ConnectionError):
            for _ in range(10):
                writer.write(b"y" * 1024)
                await writer.drain()
        answer, _ = await _until_closed(reader)
        assert answer.startswith(b"HTTP/1.1 431 ")
        writer.close()
        # Small headers with a large body in the same packets: the body is not header bytes.
        body = b'{"events": [' + b" " * 60_000 + b"]}"
        head = (
            f"POST /v1/events HTTP/1.1\r\nHost: h\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        reader, writer = await _connect(port, head.encode() + body)
        answer, _ = await _until_closed(reader)
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
        writer.close()


async def test_connections_past_the_limit_are_refused_at_once(tmp_path: Path) -> None:
    async with serving(tmp_path, max_connections=20, header_timeout_s=1.0) as port:
        held = [await _connect(port) for _ in range(20)]
        reader, writer = await _connect(port)
        answer, took = await _until_closed(reader)
        assert answer.startswith(b"HTTP/1.1 503 ") and took < 0.5
        writer.close()
        for held_reader, held_writer in held:  # the header deadline frees them
            await _until_closed(held_reader)
            held_writer.close()
        await asyncio.sleep(0.1)
        assert await _healthz(port) == 200


async def test_one_client_cannot_take_every_connection(tmp_path: Path) -> None:
    # 127.0.0.1 is no proxy here, so its connections count; 127.0.0.2 is another client on the same host.
    limits = {"max_connections_per_client": 5, "forwarded_allow_ips": "10.9.9.9", "header_timeout_s": 2.0}
    async with serving(tmp_path, **limits) as port:
        held = [await _connect(port) for _ in range(5)]
        reader, writer = await _connect(port, b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
        answer, took = await _until_closed(reader)
        assert answer.startswith(b"HTTP/1.1 429 ") and took < 0.5
        writer.close()
        reader, writer = await _connect(port, b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n", "127.0.0.2")
        assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200 ")
        writer.close()
        for held_reader, held_writer in held:
            held_writer.close()
            await _until_closed(held_reader)
        await asyncio.sleep(0.1)
        reader, writer = await _connect(port, b"GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n")
        assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200 ")
        writer.close()


@pytest.mark.slow
async def test_hookline_api_applies_the_limits(tmp_path: Path) -> None:
    async with processes(tmp_path, f"sqlite:///{tmp_path}/hookline.db") as group:
        api = await group.server("api", header_timeout_s=0.5)
        reader, writer = await _connect(api.port, HALF_HEAD)
        answer, took = await _until_closed(reader)
        assert answer.startswith(b"HTTP/1.1 408 ") and took < 3.0
        writer.close()
