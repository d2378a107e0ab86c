"""A fast webhook receiver for benchmarks: asyncio Protocol + httptools, 200 to every POST.

Run as its own process so it does not share the measured process's event loop. ``GET /stats`` answers
``{"n": posts, "first": t, "last": t}`` (time.time of the first and last POST), ``GET /reset`` zeroes them.

    python bench/receiver.py PORT [DELAY_S]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httptools

STATS = {"n": 0, "first": 0.0, "last": 0.0}
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Handler(asyncio.Protocol):
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_complete(self) -> None:
        assert self.transport is not None
        method = self.parser.get_method()
        if method == b"GET" and self.url == b"/stats":
            body = json.dumps(STATS).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n"
            self.transport.write(head.encode() + body)
            return
        if self.url == b"/reset":
            STATS.update(n=0, first=0.0, last=0.0)
            self.transport.write(OK)
            return
        now = time.time()
        STATS["n"] += 1
        STATS["last"] = now
        STATS["first"] = STATS["first"] or now
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._answer)
        else:
            self.transport.write(OK)

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(OK)


async def main(port: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Handler(delay), "127.0.0.1", port, backlog=4096)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0))
