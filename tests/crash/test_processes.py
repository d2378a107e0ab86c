"""An accepted event is never lost: hookline as real processes, killed, stopped and cut off from its database.

Each test starts ``python -m hookline …`` processes (as the contract says hookline is started) against a
real receiver on 127.0.0.1 that records every request, then checks, per delivery id (``webhook-id``), that
every delivery of every accepted event arrived, how often, and that the API reports each one ``success``.
Leases are 3 s, so a killed worker's deliveries come back quickly.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from conftest import _pg_admin_dsn
from crash.helpers import (
    LEASE_S,
    Api,
    all_delivered_and_succeeded,
    api,
    duplicates,
    event,
    processes,
    received,
    until,
)
from support.receiver import Receiver, Stall

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _slow(receiver: Receiver, fan_out: int, seconds: float) -> None:
    for i in range(fan_out):
        receiver.respond(f"/r{i}", Stall(seconds))


def _report(name: str, **figures: Any) -> None:
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# 1. Several workers on one PostgreSQL database ---------------------------------------------------------


async def test_three_workers_deliver_each_delivery_exactly_once(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    events, fan_out, batch, concurrency, stall = 300, 3, 50, 10, 0.1
    # Each worker has at most 10 requests in flight, each held 0.1 s by the receiver: one worker alone
    # cannot start more than 10 requests within any 0.1 s, so more than 20 there means all three deliver.
    _slow(receiver, fan_out, stall)
    async with processes(tmp_path, pg_url, concurrency=concurrency) as procs:
        await procs.migrate()  # the template is migrated already: this must be a no-op that exits 0
        server, *_ = await asyncio.gather(procs.server("api"), *(procs.worker() for _ in range(3)))
        async with api(server) as client:
            routes = await client.setup(receiver, fan_out)
            started = time.monotonic()
            delivery_ids = await client.ingest_all(events, batch)
            assert len(set(delivery_ids)) == events * fan_out
            await all_delivered_and_succeeded(client, receiver, delivery_ids, timeout=60)
            took = time.monotonic() - started
            await asyncio.sleep(0.5)  # anything sent twice would have arrived by now

            counts = received(receiver)
            assert set(counts) == set(delivery_ids)
            assert [d for d, n in counts.items() if n != 1] == []
            pairs = {(r.headers["hookline-event-id"], r.path) for r in receiver.requests}
            assert len(pairs) == events * fan_out  # each (event, route) once
            rows = await client.deliveries("success")
            assert len(rows) == events * fan_out
            assert {r["route_id"] for r in rows} == set(routes)
            peak = _peak_arrivals(receiver, stall * 0.95)
            assert peak > 2 * concurrency, f"at most {peak} requests in {stall}s: not all workers delivered"
        assert all(p.alive() for p in procs.started[1:]), "a process died"
    _report(
        "3 workers",
        deliveries=events * fan_out,
        requests=len(receiver.requests),
        peak_in_flight=peak,
        seconds=f"{took:.1f}",
    )


def _peak_arrivals(receiver: Receiver, window: float) -> int:
    """The most requests that arrived within ``window`` seconds of one another."""
    times = sorted(r.at for r in receiver.requests)
    peak, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


# 2. kill -9 of a worker in the middle of a run (PostgreSQL) --------------------------------------------


async def test_sigkill_of_a_worker_loses_nothing(pg_url: str, receiver: Receiver, tmp_path: Path) -> None:
    events, fan_out, concurrency = 300, 2, 20
    _slow(receiver, fan_out, 0.08)  # deliveries are in flight when the worker dies
    async with processes(tmp_path, pg_url, concurrency=concurrency) as procs:
        server, doomed, _ = await asyncio.gather(procs.server("api"), procs.worker(), procs.worker())
        async with api(server) as client:
            await client.setup(receiver, fan_out)
            delivery_ids = await client.ingest_all(events, 50)
            total = len(delivery_ids)
            await until(lambda: len(receiver.requests) >= total // 4, 30, "a quarter of the deliveries")
            doomed.kill()
            killed_at, arrived_at_kill = time.monotonic(), len(receiver.requests)
            assert arrived_at_kill < total, "the run ended before the kill: make it longer"
            await procs.worker()  # and it comes back, as a supervisor would restart it

            await all_delivered_and_succeeded(client, receiver, delivery_ids, timeout=40)
            recovery = time.monotonic() - killed_at
            assert set(received(receiver)) == set(delivery_ids)
            # Sent twice: at most what the dead worker had in flight or had not written yet.
            assert duplicates(receiver) <= 2 * concurrency
            assert await client.deliveries("pending") == []
    _report(
        "kill -9 worker",
        deliveries=total,
        arrived_at_kill=arrived_at_kill,
        duplicates=duplicates(receiver),
        recovery_s=f"{recovery:.1f}",
    )


# 3. kill -9 of ``hookline serve`` on SQLite -------------------------------------------------------------


async def test_sigkill_of_serve_on_sqlite_loses_nothing(receiver: Receiver, tmp_path: Path) -> None:
    events, fan_out, concurrency = 200, 2, 20
    _slow(receiver, fan_out, 0.08)
    database_url = f"sqlite:///{tmp_path}/hookline.db"
    async with processes(tmp_path, database_url, concurrency=concurrency) as procs:
        first = await procs.server("serve")
        async with api(first) as client:
            await client.setup(receiver, fan_out)
            delivery_ids = await client.ingest_all(events, 50)
            total = len(delivery_ids)
            await until(lambda: len(receiver.requests) >= total // 4, 30, "a quarter of the deliveries")
            first.kill()
            killed_at, arrived_at_kill = time.monotonic(), len(receiver.requests)
            assert arrived_at_kill < total, "the run ended before the kill: make it longer"
            merchant = client.merchant_id, client.merchant_key

        second = await procs.server("serve")  # same file: recovers the WAL, finds the leased deliveries
        async with api(second) as client:
            client.merchant_id, client.merchant_key = merchant
            await all_delivered_and_succeeded(client, receiver, delivery_ids, timeout=40)
            recovery = time.monotonic() - killed_at
            assert set(received(receiver)) == set(delivery_ids)
            assert duplicates(receiver) <= 2 * concurrency
            assert await client.deliveries("pending") == []
            # and it takes new work
            more = await client.ingest([event("after-restart")])
            await all_delivered_and_succeeded(client, receiver, more, timeout=20)
    _report(
        "kill -9 serve (SQLite)",
        deliveries=total,
        arrived_at_kill=arrived_at_kill,
        duplicates=duplicates(receiver),
        recovery_s=f"{recovery:.1f}",
    )


# 4. PostgreSQL cut off: connections killed, connections refused (faults/ has more, and a real restart) ---


async def _admin(query: str, *args: Any) -> int:
    admin = await asyncpg.connect(_pg_admin_dsn())
    try:
        return len(await admin.fetch(query, *args))
    finally:
        await admin.close()


async def _terminate_backends(database: str) -> int:
    """What a server restart or a failover does to open connections: FATAL 57P01, then the socket closes."""
    return await _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = $1 AND pid <> pg_backend_pid()",
        database,
    )


async def _refuse_connections(database: str, allow: bool) -> None:
    await _admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allow).lower()}')


@dataclass(frozen=True, slots=True)
class Outage:
    """How the database is cut off in each round (``cut`` returns the connections it killed)."""

    name: str
    rounds: int
    cut: Callable[[str], Coroutine[Any, Any, int]]
    heal: Callable[[str], Awaitable[None]] | None = None


async def _down_for_a_while(database: str) -> int:
    """Refuse new connections and kill the open ones, for 1.5 s: a server that is down, then back."""
    await _refuse_connections(database, allow=False)
    killed = await _terminate_backends(database)
    await asyncio.sleep(1.5)
    return killed


async def _allow(database: str) -> None:
    await _refuse_connections(database, allow=True)


class Ingests:
    """Posts batches of new events; a 2xx must be delivered, anything else must be a 503 problem."""

    def __init__(self, client: Api) -> None:
        self.client = client
        self.expected: list[str] = []
        self.refused: list[list[dict[str, Any]]] = []
        self.accepted = 0
        self._batches = 0

    async def post(self) -> None:
        self._batches += 1
        batch = [event(f"storm-{self._batches}-{i}") for i in range(20)]
        response = await self.client.post_events(batch)
        if response.status_code == 202:
            self.accepted += 1
            self.expected += [d for answer in response.json() for d in answer["deliveries"]]
            return
        assert response.status_code == 503, f"{response.status_code} {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json")
        self.refused.append(batch)

    async def post_refused_again(self) -> None:
        """Events refused during the outage, posted again (idempotent): accepted now."""
        for batch in self.refused:
            self.expected += await self.client.ingest(batch)


async def _through_outages(pg_url: str, receiver: Receiver, tmp_path: Path, outage: Outage) -> dict[str, Any]:
    """Ingest while the database is cut off, round after round; what was accepted must all be delivered.

    Each round one ingest is under way when the cut comes (at a different moment each round) and more are
    posted while it lasts. The processes must come back by themselves: no restart.
    """
    database = pg_url.rpartition("/")[2]
    fan_out = 2
    _slow(receiver, fan_out, 0.02)  # deliveries are in flight (results unrecorded) at each cut
    async with processes(tmp_path, pg_url, concurrency=20) as procs:
        server, worker = await asyncio.gather(procs.server("api"), procs.worker())
        async with api(server) as client:
            await client.setup(receiver, fan_out)
            ingests = Ingests(client)
            killed = 0
            try:
                for round_ in range(outage.rounds):
                    killed += await _one_outage(ingests, outage, database, stagger=0.005 * (round_ % 6))
                    await asyncio.sleep(0.3)
            finally:
                if outage.heal:
                    await outage.heal(database)
            healed = time.monotonic()

            assert server.alive() and worker.alive(), "a process died on losing the database"
            await server.wait_ready()
            ingests.expected += await client.ingest([event(f"after-{i}") for i in range(20)])
            await ingests.post_refused_again()
            await all_delivered_and_succeeded(client, receiver, ingests.expected, timeout=45)
            recovery = time.monotonic() - healed
            assert server.alive() and worker.alive()
    return {
        "deliveries": len(ingests.expected),
        "connections_killed": killed,
        "batches_202": ingests.accepted,
        "batches_503": len(ingests.refused),
        "duplicates": duplicates(receiver),
        "all_delivered_s_after_last_outage": f"{recovery:.1f}",
    }


async def _one_outage(ingests: Ingests, outage: Outage, database: str, stagger: float) -> int:
    """An ingest under way when the cut comes (``stagger`` s after it started), more while it lasts."""
    first = asyncio.create_task(ingests.post())
    cut: asyncio.Task[int] | None = None
    try:
        await asyncio.sleep(stagger)
        cut = asyncio.create_task(outage.cut(database))
        for _ in range(100):
            await ingests.post()
            if cut.done():
                break
            await asyncio.sleep(0.2)
        killed = await cut
        await first
    finally:
        for task in (first, cut):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.wait([task])
    if outage.heal:
        await outage.heal(database)
    return killed


async def test_connections_killed_repeatedly_processes_recover(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    outage = Outage("pg_terminate_backend", 8, _terminate_backends)
    figures = await _through_outages(pg_url, receiver, tmp_path, outage)
    assert figures["connections_killed"] >= 8
    _report(outage.name, **figures)


async def test_database_refusing_connections_processes_recover(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    outage = Outage("connections refused 1.5 s", 2, _down_for_a_while, _allow)
    figures = await _through_outages(pg_url, receiver, tmp_path, outage)
    assert figures["batches_503"] >= 2, "the outage was not seen"
    _report(outage.name, **figures)


# 5. Graceful shutdown -----------------------------------------------------------------------------------


async def test_sigterm_finishes_in_flight_deliveries_and_exits_0(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    events, concurrency = 40, 10
    _slow(receiver, 1, 1.5)
    async with processes(tmp_path, pg_url, concurrency=concurrency) as procs:
        server, stopping, _ = await asyncio.gather(procs.server("api"), procs.worker(), procs.worker())
        async with api(server) as client:
            await client.setup(receiver, 1)
            delivery_ids = await client.ingest_all(events, events)
            # Both workers are full: 2 x 10 requests are stalled at the receiver.
            await until(lambda: len(receiver.requests) >= 2 * concurrency, 20, "both workers busy")
            in_flight = len(receiver.requests)
            stopping.send(signal.SIGTERM)
            sent_at = time.monotonic()
            code = await stopping.wait_exit(15)
            exited_after = time.monotonic() - sent_at
            assert code == 0, f"worker exit code {code} after SIGTERM:\n{stopping.log()}"
            assert "finishing in-flight deliveries" in stopping.log()

            await all_delivered_and_succeeded(client, receiver, delivery_ids, timeout=30)
            # What it had in flight was recorded before it exited: nothing was sent twice.
            assert duplicates(receiver) == 0
            assert set(received(receiver)) == set(delivery_ids)
    _report(
        "SIGTERM worker",
        in_flight_at_sigterm=in_flight,
        exited_after_s=f"{exited_after:.1f}",
        duplicates=duplicates(receiver),
        lease_s=LEASE_S,
    )


async def test_sigterm_hands_back_what_outlasts_the_grace_period(
    pg_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    stalled = (
        4  # a new target starts with 4 requests in flight (``admission``); all of them are in flight here
    )
    # The first requests stall longer than the worker's shutdown grace (10 s); later ones are answered.
    receiver.script("/r0", *[Stall(25.0)] * stalled)
    # The lease is longer than the stall, so only a hand-back (not an expired lease) frees them early.
    async with processes(tmp_path, pg_url, lease_s=60) as procs:
        server, stopping = await asyncio.gather(procs.server("api"), procs.worker())
        async with api(server) as client:
            await client.setup(receiver, 1, timeout_s=20)
            delivery_ids = await client.ingest_all(stalled, stalled)
            await until(lambda: len(receiver.requests) >= stalled, 20, "the stalled requests")
            await procs.worker()
            stopping.send(signal.SIGTERM)
            sent_at = time.monotonic()
            code = await stopping.wait_exit(15)
            exited_after = time.monotonic() - sent_at
            assert code == 0, f"worker exit code {code} after SIGTERM:\n{stopping.log()}"

            await all_delivered_and_succeeded(client, receiver, delivery_ids, timeout=10)
            handed_back_after = time.monotonic() - sent_at
            # Each was sent twice: once by the stopped worker (given up), once by the other one; and the
            # hand-back did not count an attempt.
            assert received(receiver) == dict.fromkeys(delivery_ids, 2)
            for delivery_id in delivery_ids:
                detail = await client.ok("GET", f"/v1/deliveries/{delivery_id}", 200, client.merchant_key)
                assert detail["attempt_count"] == 1, detail
    _report(
        "SIGTERM worker past grace",
        in_flight_at_sigterm=stalled,
        exited_after_s=f"{exited_after:.1f}",
        delivered_after_s=f"{handed_back_after:.1f}",
    )
