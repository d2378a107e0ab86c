"""One publish to a broker target, reported as an ``Outcome`` as an HTTP attempt is (never an exception).

An acknowledgement is recorded as status 200 with the broker's answer as the response body, so that
retries, auto-halt, metrics and the per-target concurrency treat a broker like any receiver; a refusal
(``port.Refused``) is an attempt with error kind ``status`` and the broker's words; no connection, a lost
one or no answer within the route's ``timeout_s`` are ``connect`` and ``timeout``, retried alike. A
connection that failed a publish is closed: the next attempt opens a new one (with backoff).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from hookline.core.models import ErrorKind, Outcome
from hookline.sender import guard, urls, vocabulary
from hookline.sender.destinations import amqp, nats, redis, spec
from hookline.sender.destinations.port import Broker, Refused, Unreachable, describe
from hookline.sender.port import ms_since


class Publisher:
    """Publishes through one module per broker kind; build it inside the running event loop."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._brokers: dict[str, Broker] = {
            "redis": redis.RedisBroker(),
            "nats": nats.NatsBroker(),
            "amqp": amqp.AmqpBroker(),
        }

    async def publish(
        self, url: str, destination: Mapping[str, Any], body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Outcome:
        started, clock = time.time(), time.perf_counter()
        sent = vocabulary.request_headers(headers)
        kind = spec.kind_of(url)
        if kind is None:
            return Outcome(started, 0.0, sent, error=ErrorKind.PROTOCOL, error_detail="not a broker URL")
        broker = self._brokers[kind]
        try:
            async with asyncio.timeout(timeout_s):
                if not broker.connected(url):
                    await self._check_host(url)
                answer = await broker.publish(url, destination, body, sent, timeout_s)
        except guard.Blocked as exc:
            return self._failed(started, clock, sent, ErrorKind.BLOCKED, exc.reason)
        except Refused as exc:
            return self._failed(started, clock, sent, ErrorKind.STATUS, f"{kind} refused: {describe(exc)}")
        except socket.gaierror as exc:
            return self._failed(started, clock, sent, ErrorKind.DNS, f"{spec.masked(url)}: {describe(exc)}")
        except TimeoutError:
            await broker.forget(url)
            detail = f"no acknowledgement from {spec.masked(url)} within {timeout_s:g} s"
            return self._failed(started, clock, sent, ErrorKind.TIMEOUT, detail)
        except (Unreachable, OSError) as exc:
            await broker.forget(url)
            return self._failed(
                started, clock, sent, ErrorKind.CONNECT, f"{spec.masked(url)}: {describe(exc)}"
            )
        except Exception as exc:  # a driver's own errors: the connection is suspect, the attempt failed
            await broker.forget(url)
            return self._failed(
                started, clock, sent, ErrorKind.PROTOCOL, f"{spec.masked(url)}: {describe(exc)}"
            )
        return Outcome(started, ms_since(clock), sent, status=200, response_body=answer)

    @staticmethod
    def _failed(started: float, clock: float, sent: dict[str, str], kind: ErrorKind, detail: str) -> Outcome:
        return Outcome(started, ms_since(clock), sent, error=kind, error_detail=detail)

    async def _check_host(self, url: str) -> None:
        """The private-address rules, before a connection is opened: on the host as written and on every
        address it resolves to (``guard.Blocked`` says why not)."""
        if self._allow_private:
            return
        try:
            parsed = urls.parse(url, urls.BROKER_PORTS)
        except urls.BadUrl as exc:
            raise guard.Blocked(exc.reason) from None
        host = parsed.host.strip("[]")
        reason = guard.host_refusal(host)
        if reason is not None:
            raise guard.Blocked(reason)
        if guard.parse_ip(host) is not None:
            return
        port = parsed.port or urls.BROKER_PORTS[parsed.scheme]
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        for *_, sockaddr in found:
            address = guard.parse_ip(str(sockaddr[0]).partition("%")[0])
            if address is None:
                raise guard.Blocked(f"{host} resolves to {sockaddr[0]}, which is not an IP address")
            refused = guard.refusal(address, name=host)
            if refused is not None:
                raise guard.Blocked(refused)

    async def close(self) -> None:
        for broker in self._brokers.values():
            with contextlib.suppress(Exception):
                await broker.close()


@contextlib.asynccontextmanager
async def open_publisher(*, allow_private: bool) -> AsyncIterator[Publisher]:
    """A ready ``Publisher``, closed on exit (call it inside the running event loop)."""
    publisher = Publisher(allow_private=allow_private)
    try:
        yield publisher
    finally:
        await publisher.close()
