"""A real HTTP egress proxy for tests: ``CONNECT host:port`` tunnels and absolute-form requests, counted.

``refuse`` (a status, such as 407 or 502) answers every request with it instead, as a proxy that will not
serve does. Each client connection carries the requests of one destination (the first one's), which is
all the tests need.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from yarl import URL


@dataclass
class Proxy:
    url: str = ""
    port: int = 0
    refuse: int | None = None
    connections: int = 0
    destinations: list[str] = field(default_factory=list)  # "host:port" asked for, in order
    writers: set[asyncio.StreamWriter] = field(default_factory=set)  # open connections, both sides

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        # Cancelled: the test ended with connections still open; OSError and the rest: a client went away.
        with contextlib.suppress(
            OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError
        ):
            head = await reader.readuntil(b"\r\n\r\n")
            method, target, version = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
            if self.refuse is not None:
                writer.write(f"HTTP/1.1 {self.refuse} Refused\r\nContent-Length: 0\r\n\r\n".encode())
                await writer.drain()
                return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                first = b""
            else:
                url = URL(target)
                host, port = url.raw_host or "", str(url.port)
                origin_form = url.raw_path_qs.encode()
                first = f"{method} ".encode() + origin_form + f" {version}\r\n".encode()
                first += head.split(b"\r\n", 1)[1]
            self.destinations.append(f"{host.strip('[]')}:{port}")
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            self.writers.add(up_writer)
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                up_writer.write(first)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until the source ends or fails (a reset), then close the other side too, as a proxy does."""
    try:
        with contextlib.suppress(OSError):
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
    finally:
        sink.close()


@contextlib.asynccontextmanager
async def start_proxy(refuse: int | None = None, port: int = 0) -> AsyncIterator[Proxy]:
    """A running ``Proxy`` on 127.0.0.1 (on ``port`` if given: a dead proxy brought back), closed on exit."""
    proxy = Proxy(refuse=refuse)
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", port)
    proxy.port = server.sockets[0].getsockname()[1]
    proxy.url = f"http://127.0.0.1:{proxy.port}"
    try:
        yield proxy
    finally:
        server.close()
        for writer in proxy.writers:  # the senders' kept-alive connections through it
            writer.close()
        await server.wait_closed()
