"""Waking workers the moment deliveries are committed, instead of waiting for the next poll.

In one process (SQLite, ``serve``) the ingest path sets an in-process event. On PostgreSQL every worker
LISTENs on a channel that the ingest transaction NOTIFYs, so a worker on another machine starts within
milliseconds. Either way the worker also polls slowly, so a lost notification only costs latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from hookline.storage.database import Database
from hookline.storage.events import WAKE_CHANNEL

logger = logging.getLogger(__name__)


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
            self._listener = asyncio.create_task(self._listen(db.dsn()))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def _listen(self, dsn: str) -> None:
        def on_notify(*_: Any) -> None:
            self._event.set()

        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn)
                await conn.add_listener(WAKE_CHANNEL, on_notify)
                self._event.set()  # anything committed while we were not listening
                while not conn.is_closed():
                    await asyncio.sleep(1.0)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.warning("LISTEN connection lost (%s); polling until it is back", exc)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()
            await asyncio.sleep(1.0)
