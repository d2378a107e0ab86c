"""The broker connection pool: one connection per URL, and a backoff after a failed open."""

from __future__ import annotations

import asyncio

import pytest

from hookline.sender.destinations import port
from hookline.sender.destinations.port import Connections, Unreachable


class Broker:
    """Opens "connections" (numbers) while up; counts the opens tried."""

    def __init__(self) -> None:
        self.up = True
        self.opened = 0
        self.closed: list[int] = []

    async def open(self, url: str) -> int:
        self.opened += 1
        if not self.up:
            raise ConnectionRefusedError(f"{url}: connection refused")
        return self.opened

    async def close(self, conn: int) -> None:
        self.closed.append(conn)


async def test_one_connection_per_url_opened_once_for_concurrent_callers() -> None:
    broker = Broker()
    pool = Connections(broker.open, broker.close)
    got = await asyncio.gather(*(pool.get("redis://a") for _ in range(10)))
    assert got == [1] * 10 and broker.opened == 1
    assert await pool.get("redis://b") == 2
    await pool.close()
    assert sorted(broker.closed) == [1, 2]


async def test_failed_open_backs_off_then_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(port, "RECONNECT_FIRST_S", 0.2)
    broker = Broker()
    pool = Connections(broker.open, broker.close)
    broker.up = False
    with pytest.raises(ConnectionRefusedError):
        await pool.get("redis://a")
    with pytest.raises(Unreachable, match=r"connection refused.*reconnecting in"):
        await pool.get("redis://a")  # within the backoff: not tried again
    assert broker.opened == 1

    broker.up = True
    await asyncio.sleep(0.25)
    assert await pool.get("redis://a") == 2
    await pool.forget("redis://a")  # a publish failed on it: the next get opens a new one at once
    assert await pool.get("redis://a") == 3 and broker.closed == [2]
    await pool.close()


async def test_a_dead_connection_is_replaced() -> None:
    broker = Broker()
    alive = {1: False}
    pool = Connections(broker.open, broker.close, lambda conn: alive.get(conn, True))
    assert await pool.get("nats://a") == 1
    assert not pool.connected("nats://a")
    assert await pool.get("nats://a") == 2 and broker.closed == [1]
    await pool.close()
