"""What a broker module implements, and the pool of long-lived connections the modules share.

A module publishes one message and returns the broker's acknowledgement in words (the ``XADD`` id, the
JetStream stream and sequence, "confirmed"); it raises ``Refused`` when the broker answered no, and lets any
other exception out when the broker could not be asked. ``publisher.Publisher`` turns both into an
``Outcome``, applies the timeout and the private-address rules, and reopens a connection that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from hookline.core.models import Outcome

RECONNECT_FIRST_S = 0.5  # after a failed connect, the next one waits this long, doubling ...
RECONNECT_MAX_S = 5.0  # ... up to this


class Refused(Exception):
    """The broker answered, and not with an acknowledgement (no such stream, exchange or subject …)."""


class Unreachable(Exception):
    """No connection to the broker (now); the message says why."""


class Broker(Protocol):
    """One broker module (``redis``, ``nats``, ``amqp``): connections kept per URL, publishes with acks."""

    async def publish(
        self,
        url: str,
        destination: Mapping[str, Any],
        body: bytes,
        headers: Mapping[str, str],
        timeout_s: float,
    ) -> str:
        """Publish ``body`` with ``headers``, wait for the acknowledgement; the broker's answer in words."""
        ...

    async def forget(self, url: str) -> None:
        """Close the connection to ``url`` (it failed): the next publish opens a new one."""
        ...

    def connected(self, url: str) -> bool:
        """Whether a connection to ``url`` is open (checked addresses need no new check)."""
        ...

    async def close(self) -> None: ...


class Publishing(Protocol):
    """What the worker needs to deliver to a broker target: one attempt, as an ``Outcome``."""

    async def publish(
        self, url: str, destination: Mapping[str, Any], body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Outcome: ...

    async def close(self) -> None: ...


C = TypeVar("C")


@dataclass(slots=True)
class _Backoff:
    retry_at: float
    wait_s: float
    reason: str


class Connections(Generic[C]):
    """One long-lived connection per broker URL, opened on first use; a failed open is not tried again
    before a backoff (``RECONNECT_FIRST_S`` doubling to ``RECONNECT_MAX_S``) so a dead broker is not
    hammered by every delivery due for it."""

    def __init__(
        self,
        open_: Callable[[str], Awaitable[C]],
        close: Callable[[C], Awaitable[None]],
        alive: Callable[[C], bool] = lambda _: True,
    ) -> None:
        self._open_one = open_
        self._close_one = close
        self._alive = alive
        self._open: dict[str, C] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._backoff: dict[str, _Backoff] = {}

    def connected(self, url: str) -> bool:
        conn = self._open.get(url)
        return conn is not None and self._alive(conn)

    async def get(self, url: str) -> C:
        """The open connection to ``url``, opened now if needed; ``Unreachable`` while backing off."""
        if self.connected(url):
            return self._open[url]
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            if self.connected(url):
                return self._open[url]
            await self.forget(url)
            backoff = self._backoff.get(url)
            now = time.monotonic()
            if backoff is not None and now < backoff.retry_at:
                raise Unreachable(f"{backoff.reason} (reconnecting in {backoff.retry_at - now:.1f} s)")
            try:
                conn = await self._open_one(url)
            except Exception as exc:
                wait = RECONNECT_FIRST_S if backoff is None else min(backoff.wait_s * 2, RECONNECT_MAX_S)
                self._backoff[url] = _Backoff(time.monotonic() + wait, wait, describe(exc))
                raise
            self._backoff.pop(url, None)
            self._open[url] = conn
            return conn

    async def forget(self, url: str) -> None:
        conn = self._open.pop(url, None)
        if conn is not None:
            with contextlib.suppress(Exception):
                await self._close_one(conn)

    async def close(self) -> None:
        for url in list(self._open):
            await self.forget(url)


def describe(exc: BaseException) -> str:
    """An exception in one line: its message, or its type's name when it has none."""
    text = (str(exc).strip().splitlines() or [""])[0][:300]
    return text or type(exc).__name__


class Pooled(Generic[C]):
    """What every broker module shares: its connections (``Connections``), asked, forgotten and closed."""

    def __init__(self, connections: Connections[C]) -> None:
        self._connections = connections

    def connected(self, url: str) -> bool:
        return self._connections.connected(url)

    async def forget(self, url: str) -> None:
        await self._connections.forget(url)

    async def close(self) -> None:
        await self._connections.close()
