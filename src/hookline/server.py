"""The HTTP server: uvicorn, with limits on how long, how much and how many clients may send.

uvicorn bounds the idle time between two requests of a connection (``timeout_keep_alive``) and nothing
else: a client that opens a connection and sends nothing, or half of a request's headers, or one byte of
its body every few seconds, holds a connection and its memory for as long as it likes, and a header that
never ends grows without bound (httptools keeps a partial header in memory, and uvicorn's own limit on it,
``h11_max_incomplete_event_size``, applies to the h11 parser only). Two thousand such clients held a
server open indefinitely. So the HTTP protocol here is uvicorn's httptools one with four limits more:

- a request's line and headers must arrive within ``header_timeout_s`` of the connection opening (for its
  first request) or of the request's first byte (for later ones); else 408 and the connection is closed;
- its body must arrive within ``body_timeout_s`` of its headers; else the connection is closed (the
  application sees the client go away);
- its line and headers may be at most ``max_header_bytes``; else 431 and the connection is closed;
- at most ``max_connections`` connections are held: one more is answered 503 and closed at once, before it
  can send anything, and requests are answered 503 by uvicorn while the server is that full;
- at most ``max_connections_per_client`` of them from one client address (IPv6: one /64), so that a single
  client cannot fill the server: one more is answered 429 and closed at once. Reverse proxies named in
  ``forwarded_allow_ips`` carry everybody's connections and are exempt (they face the slow clients).

The same limits apply to ``hookline serve``, ``hookline api`` and the probes of ``hookline worker``.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hookline.api import listen
from hookline.config import Settings
from hookline.service.throttle import client_key

_REASONS = {
    408: "Request Timeout",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_header_bytes: int = 65536
    max_connections: int = 1000
    max_connections_per_client: int = 100
    #: Clients without a per-client limit (the trusted proxies); None: every client is exempt.
    exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = field(default=())

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.header_timeout_s,
            settings.body_timeout_s,
            settings.max_header_bytes,
            settings.max_connections,
            settings.max_connections_per_client,
            _networks(settings.forwarded_allow_ips),
        )

    def limits_client(self, host: str | None) -> bool:
        """Whether connections from ``host`` count against the per-client limit."""
        if self.exempt is None or not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return not any(address in network for network in self.exempt)


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
    """``forwarded_allow_ips`` as networks; None when it trusts every address (``*``)."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if "*" in items:
        return None
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue  # a host name or a socket path: never the address of a TCP client
    return tuple(networks)


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above (``limits``, set by ``protocol_class``)."""

    limits: ClassVar[Limits] = Limits()
    #: Connections held per client address (its ``client_key``), for one server's connections.
    per_client: ClassVar[Counter[str]] = Counter()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0
        self._reading_head = True  # bytes received now belong to a request's line or headers
        self._oversized = False  # a request's head went past the limit: parse nothing more
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        host = self.client[0] if self.client else None
        self._client_key = client_key(host) if self.limits.limits_client(host) else None
        if self._client_key is not None:
            self.per_client[self._client_key] += 1
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "The server is at its connection limit; try again shortly.")
            return
        if (
            self._client_key is not None
            and self.per_client[self._client_key] > self.limits.max_connections_per_client
        ):
            self._refuse(429, "Too many connections from your address; close some and try again.")
            return
        # The first request's headers are due from the connection's opening: idling first does not help.
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_too_slow)

    def shutdown(self) -> None:
        """Begin a graceful shutdown; a ``hookline listen`` stream is cut at once: it never ends by itself
        and would hold the shutdown up to its timeout. Its delivery in flight is recorded as the listener's
        failure and retried; the listener connects again (docs/listen.md)."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and is_listen_stream(cycle.scope["path"]):
            self.transport.close()
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        if self._client_key is not None:
            self.per_client[self._client_key] -= 1
            if self.per_client[self._client_key] <= 0:
                del self.per_client[self._client_key]
            self._client_key = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._oversized:
            return
        super().data_received(data)
        if self._reading_head and not self._oversized and not self.transport.is_closing():
            # Headers still incomplete after this read: all of it was header bytes, partly held by the
            # parser (which keeps a header's partial value without telling). Complete heads are measured
            # exactly in on_headers_complete, so a body in the same read never counts.
            self._head_bytes += len(data)
            self._oversized = self._head_bytes > self.limits.max_header_bytes
        if self._oversized:
            limit = self.limits.max_header_bytes
            self._refuse(431, f"The request line and headers are larger than {limit} bytes.")

    def on_message_begin(self) -> None:
        if self._oversized:
            return
        super().on_message_begin()
        self._reading_head, self._head_bytes = True, 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_too_slow)

    def on_url(self, url: bytes) -> None:
        if not self._oversized:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._oversized:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._oversized:
            return
        self._reading_head = False
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._oversized = True  # answered by data_received once the parser returns
            return
        super().on_headers_complete()
        if not self.transport.is_closing():
            self._body_timer = self.loop.call_later(self.limits.body_timeout_s, self._body_too_slow)

    def on_body(self, body: bytes) -> None:
        if not self._oversized:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        if not self._oversized:
            super().on_message_complete()

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._reading_head and self._head_bytes == 0 and self.cycle is None:
            self.transport.close()  # it never said anything: there is nobody to answer
        else:
            self._refuse(
                408, f"The request headers did not arrive within {self.limits.header_timeout_s:g} s."
            )

    def _body_too_slow(self) -> None:
        self._body_timer = None
        self.transport.close()  # the application is reading this body: it sees a disconnect

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` and close; only when no response is under way on the connection."""
        self._cancel_timers()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            body = message.encode()
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: text/plain; charset=utf-8\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head.encode() + body)
        self.transport.close()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


def is_listen_stream(path: str) -> bool:
    return path.startswith("/v1/routes/") and path.endswith(listen.STREAM_SUFFIX)


def protocol_class(limits: Limits) -> type[LimitedProtocol]:
    """``LimitedProtocol`` with these limits, for uvicorn's ``http`` setting (it makes one per connection)."""
    return type("LimitedProtocol", (LimitedProtocol,), {"limits": limits, "per_client": Counter()})


def config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` with the limits of ``settings``; ``options`` add to it."""
    limits = Limits.of(settings)
    return uvicorn.Config(
        app,
        http=protocol_class(limits),
        ws="none",  # nothing here speaks WebSocket: an upgrade is just a request
        timeout_keep_alive=settings.keep_alive_s,
        limit_concurrency=limits.max_connections,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_level="warning",
        **options,
    )
