"""A fast webhook receiver for benchmarks: asyncio Protocol + httptools, 200 to every POST.

Run as its own process so it does not share the measured process's event loop. ``GET /stats`` answers
``{"n": posts, "first": t, "last": t}`` (time.time of the first and last POST), ``GET /reset`` zeroes them.

With ``--fail-key KEY --fail-first N`` (needs ``--arrivals``) the first N POSTs carrying
``Hookline-Ordering-Key: KEY`` are answered 500 with ``Retry-After: --fail-retry-after`` (not recorded as
arrivals; counted in ``/stats`` as ``"failed"``): one key whose receiver fails, the others unaffected.

With ``--arrivals`` it also keeps, per POST, ``{Hookline-Event-Id: time.time() of arrival}`` (the first
arrival of an id wins; at most ``--max-arrivals`` ids, later ones are only counted in ``"dropped"``) and
answers them at ``GET /arrivals`` as ``{"arrivals": {...}, "duplicates": n, "dropped": n}``; ``/reset``
clears them too.

    python bench/receiver.py PORT [DELAY_S] [--arrivals] [--max-arrivals 2000000]
        [--fail-key KEY --fail-first N [--fail-retry-after 1]]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httptools

STATS = {"n": 0, "first": 0.0, "last": 0.0, "failed": 0}
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
ARRIVALS: dict[str, float] = {}
EXTRA = {"duplicates": 0, "dropped": 0}
LIMIT = {"arrivals": 2_000_000}
FAIL: dict[str, Any] = {"key": "", "first": 0, "retry_after": 1.0}


def _json(transport: Any, payload: Any) -> None:
    body = json.dumps(payload).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n"
    transport.write(head.encode() + body)


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
            _json(self.transport, STATS)
            return
        if method == b"GET" and self.url == b"/arrivals":
            _json(self.transport, {"arrivals": ARRIVALS, **EXTRA})
            return
        if self.url == b"/reset":
            STATS.update(n=0, first=0.0, last=0.0, failed=0)
            ARRIVALS.clear()
            EXTRA.update(duplicates=0, dropped=0)
            self.transport.write(OK)
            return
        now = time.time()
        STATS["n"] += 1
        STATS["last"] = now
        STATS["first"] = STATS["first"] or now
        if self.failing():
            STATS["failed"] += 1
            retry_after = f"Retry-After: {FAIL['retry_after']:g}\r\n"
            head = f"HTTP/1.1 500 Internal Server Error\r\n{retry_after}Content-Length: 0\r\n\r\n"
            self.transport.write(head.encode())
            return
        self.arrived(now)
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._answer)
        else:
            self.transport.write(OK)

    def failing(self) -> bool:
        """Whether to answer this POST 500 (never in the plain mode)."""
        return False

    def arrived(self, now: float) -> None:
        """Nothing to record in the plain mode (httptools only calls on_header where it is defined)."""

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(OK)


class RecordingHandler(Handler):
    """The ``--arrivals`` mode: also reads the ``Hookline-Event-Id`` header of each request."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.event_id = ""
        self.ordering_key = ""

    def on_message_begin(self) -> None:
        self.event_id = ""
        self.ordering_key = ""

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 17 and name.lower() == b"hookline-event-id":
            self.event_id = value.decode("latin-1")
        elif len(name) == 21 and name.lower() == b"hookline-ordering-key":
            self.ordering_key = value.decode("latin-1")

    def failing(self) -> bool:
        return bool(FAIL["key"]) and self.ordering_key == FAIL["key"] and STATS["failed"] < FAIL["first"]

    def arrived(self, now: float) -> None:
        if not self.event_id:
            return
        if self.event_id in ARRIVALS:
            EXTRA["duplicates"] += 1
        elif len(ARRIVALS) >= LIMIT["arrivals"]:
            EXTRA["dropped"] += 1
        else:
            ARRIVALS[self.event_id] = now


async def main(port: int, delay: float, arrivals: bool = False) -> None:
    loop = asyncio.get_running_loop()
    kind = RecordingHandler if arrivals else Handler
    server = await loop.create_server(lambda: kind(delay), "127.0.0.1", port, backlog=4096)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("delay", type=float, nargs="?", default=0.0, help="seconds before each answer")
    parser.add_argument("--arrivals", action="store_true", help="record arrival times per event id")
    parser.add_argument("--max-arrivals", type=int, default=2_000_000)
    parser.add_argument(
        "--fail-key", default="", help="answer 500 to this Hookline-Ordering-Key's first POSTs"
    )
    parser.add_argument("--fail-first", type=int, default=0, help="how many of them (counted from /reset)")
    parser.add_argument("--fail-retry-after", type=float, default=1.0, help="the 500's Retry-After, s")
    args = parser.parse_args()
    LIMIT["arrivals"] = args.max_arrivals
    FAIL.update(key=args.fail_key, first=args.fail_first, retry_after=args.fail_retry_after)
    uvloop.run(main(args.port, args.delay, args.arrivals))
