"""Rows by a list of keys (``lookup.each_of``): on PostgreSQL one index probe per key, whatever the stats.

With an ``IN`` list of hundreds of ids and no statistics (a young table, autovacuum off), PostgreSQL's
planner read every event (or object of a kind) of the merchant for every batch, and ingest slowed as the
table grew. Ingest's look-up of the ids already stored and enrichment's of objects go through it.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg

from hookline.service.objects import row
from hookline.snapshot import Need
from hookline.storage import events as event_store
from hookline.storage import migrate
from hookline.storage import objects as object_store
from hookline.storage.database import Database, insert_rows
from hookline.storage.tables import events, merchants, objects

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


async def test_the_event_ids_already_taken_are_found(db_url: str) -> None:
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


async def _plan(db_url: str, statement: Any, **params: Any) -> str:
    compiled = statement.compile(dialect=pg_asyncpg.dialect())
    values = compiled.construct_params(params)
    conn = await asyncpg.connect(db_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_stats WHERE schemaname = 'public'") == 0
        positional = [values[name] for name in compiled.positiontup or ()]
        return "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {compiled}", *positional))
    finally:
        await conn.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_postgresql_looks_each_event_id_up_by_primary_key_without_statistics(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _stored(db)
    finally:
        await db.close()
    ids = [f"evt-{i * 7}" for i in range(500)]
    plan = await _plan(db_url, event_store._TAKEN["postgresql"], merchant_id="m1", ids=ids)
    assert "Index Scan using events_pkey on events" in plan, plan
    assert "Seq Scan on events" not in plan and "Bitmap Heap Scan on events" not in plan, plan


async def _customers_and_items(db: Database) -> None:
    await migrate.upgrade(db)
    rows = [row("m1", "customer", f"c{i}", {"public_id": f"c{i}"}, 0.0) for i in range(STORED)]
    rows += [
        row("m1", "item", f"i{i}", {"public_id": f"i{i}", "order": f"o{i % 1000}"}, 0.0)
        for i in range(STORED)
    ]
    async with db.write() as conn:
        await conn.execute(sa.select(1))
        await insert_rows(conn, objects, rows)


async def test_objects_are_found_by_id_and_by_parent(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _customers_and_items(db)
        needs = [Need("customer", "c7", None), Need("customer", "nobody", None), Need("item", "o3", "order")]
        async with db.read() as conn:
            found = await object_store.find(conn, "m1", needs)
        assert [key for key, _ in found[needs[0]]] == ["c7"] and found[needs[1]] == ()
        assert [key for key, _ in found[needs[2]]] == [
            f"i{i}" for i in sorted(map(str, range(3, STORED, 1000)))
        ]
    finally:
        await db.close()


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_postgresql_looks_each_object_up_by_index_without_statistics(db_url: str) -> None:
    db = Database(db_url)
    try:
        await _customers_and_items(db)
    finally:
        await db.close()
    by_id = await _plan(
        db_url,
        object_store._by("postgresql", False),
        merchant_id="m1",
        kind="customer",
        values=["c1", "c9"] * 250,
    )
    assert "Index Scan using objects_pkey on objects" in by_id, by_id
    by_parent = await _plan(
        db_url, object_store._by("postgresql", True), merchant_id="m1", kind="item", values=["o1", "o2"] * 250
    )
    assert "Index Scan using ix_objects_parent on objects" in by_parent, by_parent
    for plan in (by_id, by_parent):
        assert "Seq Scan on objects" not in plan and "Bitmap Heap Scan on objects" not in plan, plan
        assert "Filter" not in plan, plan  # the index condition holds every key column, nothing read to drop
