"""Ingest looks up which ids of a batch are already stored; on PostgreSQL by primary key, whatever the stats.

With an ``IN`` list of hundreds of ids and no statistics (a young table, autovacuum off), PostgreSQL's
planner read every event of the merchant for every batch, and ingest slowed as the table grew.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

from hookline.storage import events as event_store
from hookline.storage import migrate
from hookline.storage.database import Database, insert_rows
from hookline.storage.tables import events, merchants

STORED = 5000


def _event(i: int) -> dict[str, Any]:
    return {
        "merchant_id": "m1",
        "id": f"evt-{i}",
        "type": "order.reminder",
        "created": 1_700_000_000,
        "received": 1_700_000_000.0 + i,
        "body_hash": f"{i:064d}",
        "object_id": f"ord-{i}",
        "customer_id": f"cust-{i % 97}",
        "object": {"public_id": f"ord-{i}"},
        "context": None,
    }


async def _stored(db: Database) -> None:
    await migrate.upgrade(db)
    async with db.write() as conn:
        await conn.execute(sa.insert(merchants), [{"id": "m1", "name": "m", "created": 0.0}])
        await insert_rows(conn, events, [_event(i) for i in range(STORED)])


async def test_the_ids_already_taken_are_found(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _stored(db)
        asked = [{"merchant_id": "m1", "id": i} for i in ("evt-7", "new-1", "evt-4999", "new-2")]
        async with db.read() as conn:
            found = await event_store._existing(conn, asked)
        assert {key: a.body_hash for key, a in found.items()} == {
            ("m1", "evt-7"): f"{7:064d}",
            ("m1", "evt-4999"): f"{4999:064d}",
        }
    finally:
        await db.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_postgresql_looks_each_id_up_by_primary_key_without_statistics(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _stored(db)
    finally:
        await db.close()
    statement = event_store._TAKEN["postgresql"]
    compiled = statement.compile(dialect=pg_asyncpg.dialect())
    values = compiled.construct_params({"merchant_id": "m1", "ids": [f"evt-{i * 7}" for i in range(500)]})
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_stats WHERE tablename = 'events'") == 0
        plan = "\n".join(
            row[0]
            for row in await conn.fetch(
                f"EXPLAIN {compiled}", *(values[name] for name in compiled.positiontup or ())
            )
        )
    finally:
        await conn.close()
    assert "Index Scan using events_pkey on events" in plan, plan
    assert "Seq Scan on events" not in plan and "Bitmap Heap Scan on events" not in plan, plan
