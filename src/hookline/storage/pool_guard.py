"""The PostgreSQL pool's part in fault handling: no dead connection is handed out, none is closed slowly.

Pooled connections are not pinged before use (a round trip per transaction). Instead, at checkout, a
connection known to be closed (the server or the network closed it while it sat in the pool: a restart, a
reset) is replaced, and so is one that sat idle through a fault that suggests it is dead too: a dropped
network path or a failover leaves connections open on our side with nobody at the other end, and each would
cost the next transaction handed it a whole deadline; replacing them costs a connect each. An invalidated
connection is dropped at once, where SQLAlchemy's polite close waits up to 2 s for a server that may be the
reason it was invalidated. TCP keepalives let the kernel notice a pooled connection whose server vanished
without a word.
"""

from __future__ import annotations

import math
import socket
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

KEEPALIVE = (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))  # a dead peer: ~25 s idle


class PoolGuard:
    """Listens to ``engine``'s pool (see the module docstring); ``suspect_idle`` after a lost connection or
    a timeout."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.suspect_before = -math.inf  # connections idle in the pool since before then are replaced
        sync = engine.sync_engine
        event.listen(sync, "connect", self._connected)
        event.listen(sync, "checkin", self._checked_in)
        event.listen(sync, "checkout", self._checkout)
        event.listen(sync, "invalidate", self._drop)
        event.listen(sync, "close", self._closing)

    def suspect_idle(self) -> None:
        self.suspect_before = time.monotonic()

    @staticmethod
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info.pop("idle_since", None)
        transport = getattr(record.driver_connection, "_transport", None)  # asyncpg keeps it private
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in KEEPALIVE:
            if hasattr(socket, name):  # Linux names; other systems keep their defaults
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)

    @staticmethod
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def _checkout(self, _dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # Raising this makes the pool replace the connection by a new one (SQLAlchemy's checkout protocol).
        if record.driver_connection.is_closed():
            raise DisconnectionError("closed while in the pool")
        if record.info.get("idle_since", math.inf) < self.suspect_before:
            raise DisconnectionError("idle in the pool through a fault")

    def _closing(self, _dbapi_connection: Any, record: Any) -> None:
        # A connection closed (recycled, or the pool disposed of) after sitting idle through a fault is
        # dropped at once too: a polite close would wait for a server that may not be there.
        if record.info.get("idle_since", math.inf) < self.suspect_before:
            self._drop(_dbapi_connection, record, None)

    @staticmethod
    def _drop(_dbapi_connection: Any, record: Any, _exc: Any) -> None:
        # An invalidated connection is dropped at once: a polite close waits up to 2 s for the server.
        driver = record.driver_connection
        if driver is not None:
            driver.terminate()
