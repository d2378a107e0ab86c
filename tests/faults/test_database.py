"""The database adapter under faults, in process: deadlines, dead connections, one deadline per request,
readiness.

PostgreSQL is reached through a relay the test controls (``support.relay``); SQLite's own fault here is a
write lock another process holds. Deadlines are short (0.5 s) so that each test takes a few seconds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from conftest import OPERATOR_KEY, PG_URL, Client, app_settings, running_app
from hookline import telemetry
from hookline.api import problems
from hookline.api.deadline import DatabaseDeadline
from hookline.core.errors import Unavailable
from hookline.storage import migrate
from hookline.storage.database import Database
from support import events
from support.relay import Relay, start_relay

pytestmark = pytest.mark.timeout(60)

DEADLINE_S = 0.5
SLACK_S = 0.35  # the event loop and a loaded machine, on top of a deadline


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    parts = urlsplit(PG_URL)
    async with start_relay((parts.hostname or "127.0.0.1", parts.port or 5432)) as started:
        yield started


@pytest.fixture
async def db(relay: Relay, pg_url: str) -> AsyncIterator[Database]:
    """A database through the relay, its faults counted in the process's metrics."""
    database = Database(relay.url_for(pg_url), timeout_s=DEADLINE_S, observer=telemetry.DATABASE)
    try:
        yield database
    finally:
        await database.close()


async def _select(db: Database, seconds: float = 0.0) -> None:
    async with db.write() as conn:
        await conn.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})


async def _timed_failure(db: Database) -> float:
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await _select(db)
    return time.monotonic() - started


def _faults(kind: str) -> float:
    return telemetry.REGISTRY.get_sample_value("hookline_database_faults_total", {"kind": kind}) or 0.0


async def test_a_stalled_database_answers_unavailable_at_the_deadline(db: Database, relay: Relay) -> None:
    await _select(db)  # a pooled connection, stalled below with the rest
    before = _faults("timeout")
    relay.stall()
    took = await asyncio.gather(*(_timed_failure(db) for _ in range(3)))  # pooled and new connections
    assert max(took) < DEADLINE_S + SLACK_S, took
    assert min(took) >= DEADLINE_S * 0.9, took
    assert not db.availability.up
    assert _faults("timeout") == before + 3
    await relay.heal()
    started = time.monotonic()
    await _select(db)
    assert time.monotonic() - started < DEADLINE_S, "the first transaction after the stall waited"
    assert db.availability.up


async def test_a_statement_slower_than_the_deadline_is_cut_off(db: Database) -> None:
    assert await _timed_failure_of_sleep(db, DEADLINE_S * 3) < DEADLINE_S + SLACK_S
    await _select(db)  # and the connection it held is not handed out again half-used


async def _timed_failure_of_sleep(db: Database, seconds: float) -> float:
    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer in time"):
        await _select(db, seconds)
    return time.monotonic() - started


async def test_a_rollback_on_a_stalled_server_is_cut_off_at_the_deadline(db: Database, relay: Relay) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer in time"):
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))
            relay.stall()
            await asyncio.sleep(
                DEADLINE_S * 4
            )  # the deadline strikes here; the rollback then finds no answer
    assert time.monotonic() - started < DEADLINE_S + SLACK_S
    await relay.heal()
    await _select(db)


async def test_connections_reset_in_the_pool_are_replaced_without_failing(db: Database, relay: Relay) -> None:
    await asyncio.gather(*(_select(db, 0.05) for _ in range(6)))  # six connections in the pool
    assert relay.reset() == 6
    await asyncio.sleep(0.05)  # the resets reach the pooled connections
    lost = _faults("lost")
    # Each transaction is handed a live connection: not one fails for a connection that died in the pool.
    await asyncio.gather(*(_select(db) for _ in range(6)))
    assert _faults("lost") == lost
    assert db.availability.up


async def test_a_frozen_connection_stalls_only_its_own_transaction(db: Database, relay: Relay) -> None:
    await _select(db)  # one connection in the pool, frozen for good below
    assert relay.freeze() == 1
    stalled = asyncio.create_task(_timed_failure(db))  # takes the frozen connection
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await _select(db)  # a new connection, while the other waits
    assert time.monotonic() - started < DEADLINE_S / 2
    assert await stalled < DEADLINE_S + SLACK_S
    # The frozen connection was dropped with its error: never handed out again.
    for _ in range(3):
        started = time.monotonic()
        await _select(db)
        assert time.monotonic() - started < DEADLINE_S / 2


async def test_after_a_silent_drop_one_transaction_waits_not_one_per_pooled_connection(
    db: Database, relay: Relay
) -> None:
    await asyncio.gather(*(_select(db, 0.05) for _ in range(4)))  # four connections in the pool
    assert relay.drop() == 4  # the server forgot them; hookline is not told
    assert await _timed_failure(db) < DEADLINE_S + SLACK_S  # the first one to find out waits the deadline
    # The others sat idle through that fault: replaced, not each handed to a transaction to find out.
    started = time.monotonic()
    await asyncio.gather(*(_select(db) for _ in range(4)))
    assert time.monotonic() - started < DEADLINE_S / 2


async def test_a_transaction_whose_connection_is_lost_before_its_end_is_a_loss(
    db: Database, relay: Relay
) -> None:
    # The rollback (or commit) then fails with no statement of its own, as a refused connect does: it is
    # told by the connection, and counted as lost.
    lost = _faults("lost")
    with pytest.raises(Unavailable, match="connection was lost"):
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))
            relay.reset()
            await asyncio.sleep(0.05)
            raise LookupError("the caller gives up")
    assert _faults("lost") == lost + 1
    with pytest.raises(LookupError):  # on a live connection, the caller's own error goes through
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))
            raise LookupError("the caller gives up")


async def test_a_database_refusing_connections_is_unavailable_at_once(db: Database, relay: Relay) -> None:
    refused = _faults("refused")
    await relay.refuse()
    assert await _timed_failure(db) < DEADLINE_S / 2
    assert _faults("refused") == refused + 1
    await relay.heal()
    await _select(db)
    assert db.availability.up


async def test_a_request_shares_one_deadline_among_its_transactions(pg_url: str) -> None:
    db = Database(pg_url, timeout_s=DEADLINE_S)
    try:
        with db.deadline():
            await _select(db, DEADLINE_S * 0.6)
            started = time.monotonic()
            with pytest.raises(Unavailable):
                await _select(db, DEADLINE_S * 0.6)  # alone within its own deadline; not with the first
            assert time.monotonic() - started < DEADLINE_S * 0.6
            with pytest.raises(Unavailable, match="did not answer in time"):
                await _select(db)  # the request's time is used up
            # A task started by the request has deadlines of its own.
            await asyncio.create_task(_select(db, DEADLINE_S * 0.6))
        await _select(db, DEADLINE_S * 0.6)
    finally:
        await db.close()


async def test_sqlite_waits_for_another_process_s_lock_only_until_the_deadline(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hookline.db"
    db = Database(url, timeout_s=DEADLINE_S)
    await migrate.upgrade(db)
    other = sqlite3.connect(tmp_path / "hookline.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # ``hookline purge`` in another process, say
        started = time.monotonic()
        with pytest.raises(Unavailable, match="busy"):
            async with db.write() as conn:
                await conn.execute(text("SELECT 1"))
        assert DEADLINE_S * 0.9 <= time.monotonic() - started < DEADLINE_S + SLACK_S
        other.execute("ROLLBACK")
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))
        assert db.availability.up
    finally:
        other.close()
        await db.close()


async def test_readiness_follows_the_database(relay: Relay, pg_url: str) -> None:
    settings = app_settings(relay.url_for(pg_url), db_timeout_s=DEADLINE_S)
    async with running_app(settings, worker=False) as http:
        assert (await http.get("/readyz")).status_code == 200
        for cut, heal in ((relay.stall, relay.heal), (relay.refuse, relay.heal)):
            result = cut()
            if asyncio.iscoroutine(result):
                await result
            started = time.monotonic()
            answer = await http.get("/readyz")
            assert answer.status_code == 503
            assert answer.json() == {"status": "unavailable", "database": "unreachable"}
            assert time.monotonic() - started < DEADLINE_S + SLACK_S
            await heal()
            await _ready_again(http)


async def _ready_again(http: httpx.AsyncClient) -> None:
    """Ready again soon after the database is back (a new connection on a busy machine can take longer
    than one check's deadline, so a few checks)."""
    deadline = time.monotonic() + 10
    while (await http.get("/readyz")).status_code != 200:
        assert time.monotonic() < deadline, "not ready 10 s after the database came back"
        await asyncio.sleep(0.2)


async def test_a_request_too_slow_for_its_deadline_answers_503_within_it(relay: Relay, pg_url: str) -> None:
    settings = app_settings(relay.url_for(pg_url), db_timeout_s=1.0)
    async with running_app(settings, worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        merchant = await operator.ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        target = await client.ok("POST", "/v1/targets", 201, json={"url": "https://example.com/hook"})
        route = {"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
        await client.ok("POST", "/v1/routes", 201, json=route)
        event = events.event("order.reminder", "e1", public_id="o1")
        relay.slow(0.15)  # each round trip 0.3 s: an ingest's transactions need more than 1 s in all
        started = time.monotonic()
        answer = await client.call("POST", "/v1/events", json=event)
        took = time.monotonic() - started
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "1"
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert took < 1.0 + SLACK_S, f"answered after {took:.2f}s"
        await relay.heal()
        await client.ok(
            "POST", "/v1/events", 202, json=event
        )  # the same event, posted again as a client does
        assert len((await client.ok("GET", "/v1/deliveries"))["data"]) == 1


async def test_the_api_gives_each_request_one_deadline(pg_url: str) -> None:
    db = Database(pg_url, timeout_s=DEADLINE_S)
    app = FastAPI()
    problems.install(app)
    app.add_middleware(DatabaseDeadline)
    app.state.context = SimpleNamespace(db=db)

    @app.get("/two")
    async def two() -> dict[str, str]:
        await _select(db, DEADLINE_S * 0.6)
        await _select(db, DEADLINE_S * 0.6)  # alone within its own deadline; not within the request's
        return {}

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            started = time.monotonic()
            answer = await http.get("/two")
            assert answer.status_code == 503
            assert time.monotonic() - started < DEADLINE_S + SLACK_S
    finally:
        await db.close()
