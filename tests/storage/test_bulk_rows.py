"""Bulk rows (``insert_rows``) go straight to the driver: SQLite's ``executemany``, PostgreSQL's ``COPY``.

Either way they must be stored exactly as SQLAlchemy's ``INSERT`` stores them, a duplicate must be the same
Conflict, and the paths that write the most rows (ingest, record) must actually take the fast way.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from hookline.core.errors import Conflict
from hookline.core.models import DeliveryStatus, Outcome, Result
from hookline.storage import database, migrate, queue
from hookline.storage.database import Database, insert_rows
from hookline.storage.tables import attempts, deliveries, delivery_bodies
from support.deliveries import two_targets_three_events


def _delivery(delivery_id: str) -> dict[str, Any]:
    return {
        "id": delivery_id,
        "merchant_id": "m1",
        "event_id": "e1",
        "event_type": "order.reminder",
        "route_id": "r1",
        "target_id": "t1",
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "attempt_base": 0,
        "next_attempt_at": 5,  # an int in a float column
        "created": 1_700_000_000.25,
        "completed": None,
        "last_error": "ünïcode\nand a newline",
        "body_id": "a",
        "is_test": True,
    }


def _body(body_id: str) -> dict[str, Any]:
    return {"id": body_id, "merchant_id": "m1", "event_id": "e1", "body": b'{"id":"e1"}\x00\xff'}


def _attempt(attempt_id: str, response_headers: dict[str, str] | None) -> dict[str, Any]:
    return {
        "id": attempt_id,
        "delivery_id": "d1",
        "number": 1,
        "started": 1_700_000_000.5,
        "duration_ms": 3,
        "request_headers": {"content-type": "application/json", "x-list": ["a", 1, None]},
        "response_status": None,
        "response_headers": response_headers,  # JSON null, not SQL NULL, as SQLAlchemy binds it
        "response_body": None,
        "error_kind": "timeout",
        "error": None,
    }


async def _stored(db: Database, table: sa.Table, ids: list[str]) -> list[dict[str, Any]]:
    async with db.read() as conn:
        found = await conn.execute(sa.select(table).where(table.c.id.in_(ids)).order_by(table.c.id))
        return [{k: v for k, v in r.items() if k != "id"} for r in found.mappings()]


async def _raw_json(db: Database, attempt_id: str) -> Any:
    async with db.read() as conn:
        query = sa.select(sa.cast(attempts.c.response_headers, sa.Text)).where(attempts.c.id == attempt_id)
        return (await conn.execute(query)).scalar_one()


async def test_bulk_rows_are_stored_as_an_insert_stores_them(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        async with db.write() as conn:
            await conn.execute(sa.select(1))  # the transaction has begun, as in every caller
            await conn.execute(sa.insert(deliveries), [_delivery("a")])
            await insert_rows(conn, deliveries, [_delivery("b")])
            await conn.execute(sa.insert(delivery_bodies), [_body("a")])
            await insert_rows(conn, delivery_bodies, [_body("b")])
            await conn.execute(sa.insert(attempts), [_attempt("a1", {"x": "1"}), _attempt("a2", None)])
            await insert_rows(conn, attempts, [_attempt("b1", {"x": "1"}), _attempt("b2", None)])
        [a], [b] = await _stored(db, deliveries, ["a"]), await _stored(db, deliveries, ["b"])
        assert a == b and a["next_attempt_at"] == 5.0
        [body_a], [body_b] = (
            await _stored(db, delivery_bodies, ["a"]),
            await _stored(db, delivery_bodies, ["b"]),
        )
        assert body_a == body_b and body_a["body"] == b'{"id":"e1"}\x00\xff'
        assert await _stored(db, attempts, ["a1", "a2"]) == await _stored(db, attempts, ["b1", "b2"])
        assert await _raw_json(db, "a2") == await _raw_json(db, "b2") == "null"
    finally:
        await db.close()


async def test_a_duplicate_bulk_row_is_a_conflict_and_rolls_back(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        async with db.write() as conn:
            await insert_rows(conn, deliveries, [_delivery("a")])
        with pytest.raises(Conflict):
            async with db.write() as conn:
                await conn.execute(sa.select(1))
                await insert_rows(conn, deliveries, [_delivery("new"), _delivery("a")])
        assert [r["last_error"] for r in await _stored(db, deliveries, ["a", "new"])] == [
            _delivery("a")["last_error"]
        ]
    finally:
        await db.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)  # COPY is PostgreSQL's
async def test_ingest_and_record_copy_on_postgresql(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[str] = []
    copy_rows = database._copy_rows

    async def spy(driver: Any, table: sa.Table, rows: Any) -> None:
        copied.append(table.name)
        await copy_rows(driver, table, rows)

    monkeypatch.setattr(database, "_copy_rows", spy)
    await two_targets_three_events(db_url)  # ingests through the API
    assert copied.count("events") == 3 and copied.count("deliveries") == 3
    assert copied.count("delivery_bodies") == 3
    db = Database(db_url)
    try:
        now = time.time() + 1
        [job] = await queue.claim(db, now, 1, 60)
        outcome = Outcome(started=now, duration_ms=1.0, request_headers={}, status=200)
        await queue.record(db, [Result(job, outcome, DeliveryStatus.SUCCESS, None, now)])
        assert copied.count("attempts") == 1
    finally:
        await db.close()
