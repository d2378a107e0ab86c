"""Waking workers the moment deliveries are committed, instead of waiting for the next poll.

In one process (SQLite, ``serve``) the ingest path sets an in-process event. On PostgreSQL every worker
LISTENs on a channel that the ingest transaction NOTIFYs, so a worker on another machine starts within
milliseconds. Either way the worker also polls slowly, so a lost notification only costs latency.

The LISTEN connection sits idle, so a dead one would go unnoticed: it is checked with a round trip every
``CHECK_EVERY_S`` (within the database's deadline), dropped on any fault, reported like any other database
fault, and connected again a moment later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import asyncpg

from hookline.storage.database import Database
from hookline.storage.events import WAKE_CHANNEL
from hookline.storage.faults import Fault

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 5.0
RECONNECT_S = 0.5


class Wakeup:
    """A level-triggered doorbell: ``ring`` any number of times, ``wait`` returns once per batch of rings."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    def ring(self) -> None:
        self._event.set()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)
        self._event.clear()

    async def listen(self, db: Database) -> None:
        """On PostgreSQL, start ringing on NOTIFY (reconnecting by itself after an outage)."""
        if db.is_postgres and self._listener is None:
            self._listener = asyncio.create_task(self._listen(db))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self, db: Database) -> None:
        def on_notify(*_: Any) -> None:
            self._event.set()

        while True:
            conn = None
            try:
                try:
                    conn = await asyncpg.connect(db.dsn(), timeout=db.connect_timeout_s)
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    kind = Fault.TIMEOUT if isinstance(exc, TimeoutError) else Fault.REFUSED
                    db.availability.fault(kind, f"LISTEN: {exc or type(exc).__name__}")
                    await asyncio.sleep(RECONNECT_S)
                    continue
                await conn.add_listener(WAKE_CHANNEL, on_notify)
                db.availability.ok()
                self._event.set()  # anything committed while we were not listening
                await _while_alive(conn, db.timeout_s)
                db.availability.fault(Fault.LOST, "LISTEN: the connection was closed")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                kind = Fault.TIMEOUT if isinstance(exc, TimeoutError) else Fault.LOST
                db.availability.fault(kind, f"LISTEN: {exc or type(exc).__name__}")
            finally:
                if conn is not None:
                    conn.terminate()  # at once: a polite close waits on a server that may be away
            await asyncio.sleep(RECONNECT_S)


async def _while_alive(conn: asyncpg.Connection, timeout_s: float) -> None:
    """Return when ``conn`` is closed; raise when it does not answer a check within ``timeout_s``."""
    checked = time.monotonic()
    while not conn.is_closed():
        await asyncio.sleep(min(1.0, CHECK_EVERY_S))
        if time.monotonic() - checked >= CHECK_EVERY_S and not conn.is_closed():
            await conn.execute("SELECT 1", timeout=timeout_s)
            checked = time.monotonic()
