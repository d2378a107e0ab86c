"""The object store's reverse lookup (an order's items) goes through the indexed ``parent_id`` column."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from alembic import command

from hookline.core.errors import Unavailable
from hookline.core.models import JSON
from hookline.core.snapshot import Need
from hookline.service.objects import row, writes
from hookline.storage import migrate, objects
from hookline.storage.database import Database
from hookline.storage.tables import objects as table

ITEMS: dict[str, JSON] = {
    "i1": {"public_id": "i1", "order": "o1"},
    "i2": {"public_id": "i2", "order": 7},  # a numeric id names order "7"
    "i3": {"public_id": "i3", "order": ["o1", "o2"]},  # two orders: the item of neither
    "i4": {"public_id": "i4", "order": ["o1"]},
    "i5": {"public_id": "i5", "order": True},  # not an id
    "i6": {"public_id": "i6", "order": "o" * 101},  # longer than any stored id
    "i7": {"public_id": "i7"},
}
PARENTS = {"i1": "o1", "i2": "7", "i3": None, "i4": "o1", "i5": None, "i6": None, "i7": None}


async def _put(db: Database, merchant_id: str, entries: dict[str, JSON], at: float) -> None:
    """Items stored as a write stores them: read the current versions, then write the new ones."""
    async with db.write() as conn:
        stored = await objects.current(conn, merchant_id, [("item", key) for key in entries])
        written = [("item", key, at, data) for key, data in entries.items()]
        await objects.write(conn, writes(merchant_id, stored, written, at))


async def _items_by_order(db: Database, *orders: str) -> dict[str, list[str]]:
    async with db.read() as conn:
        found = await objects.find(conn, "m1", [Need("item", o, "order") for o in orders])
    return {need.value: [key for key, _ in hits] for need, hits in found.items()}


async def test_an_orders_items_are_found_by_their_parent_id(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        now = time.time()
        rows = [row("m1", "item", key, data, now, now) for key, data in ITEMS.items()]
        assert {r["public_id"]: r["parent_id"] for r in rows} == PARENTS
        await _put(db, "m1", ITEMS, now)
        await _put(db, "m2", {"x1": {"public_id": "x1", "order": "o1"}}, now)  # another merchant
        assert await _items_by_order(db, "o1", "7", "o2") == {"o1": ["i1", "i4"], "7": ["i2"], "o2": []}
        # An item moved to another order leaves the first one's list.
        await _put(db, "m1", {"i1": {"public_id": "i1", "order": "o2"}}, now + 1)
        assert await _items_by_order(db, "o1", "o2") == {"o1": ["i4"], "o2": ["i1"]}
    finally:
        await db.close()


async def test_the_lookup_reads_the_index(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        query = sa.select(table.c.public_id).where(
            table.c.merchant_id == "m1", table.c.kind == "item", table.c.parent_id.in_(["o1", "o2"])
        )
        async with db.read() as conn:
            if conn.dialect.name == "sqlite":
                sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
                plan = " ".join(str(r[-1]) for r in await conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))
            else:
                await conn.execute(sa.text("SET enable_seqscan = off"))  # an empty table: force the choice
                compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
                plan = " ".join(str(r[0]) for r in await conn.execute(sa.text(f"EXPLAIN {compiled}")))
        assert "ix_objects_parent" in plan
    finally:
        await db.close()


async def test_the_migration_fills_the_column_of_stored_items(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        await db.run_sync(lambda sync: command.downgrade(migrate._config(sync), "0004"))
        old = sa.table(
            "objects",
            *(sa.column(c) for c in ("merchant_id", "kind", "public_id", "email", "updated")),
            sa.column("data", sa.JSON),
        )
        stored = [("item", key, data) for key, data in ITEMS.items()]
        stored.append(("order", "o1", {"public_id": "o1", "order": "o9"}))  # orders have no parent field
        await db.run_sync(
            lambda sync: sync.execute(
                old.insert(),
                [
                    {"merchant_id": "m1", "kind": k, "public_id": p, "data": d, "email": None, "updated": 1.0}
                    for k, p, d in stored
                ],
            )
        )
        await migrate.upgrade(db)
        async with db.read() as conn:
            found = await conn.execute(sa.select(table.c.public_id, table.c.parent_id))
            parents = {key: parent for key, parent in found}
        assert parents == {**PARENTS, "o1": None}
        assert await _items_by_order(db, "o1", "7") == {"o1": ["i1", "i4"], "7": ["i2"]}
    finally:
        await db.close()


async def test_two_writers_locking_objects_in_opposite_orders_never_give_a_500(db_url: str) -> None:
    """PostgreSQL breaks the deadlock by failing one transaction: that one is Unavailable (503: retry),
    and the other goes through. SQLite has one writer at a time: the second waits, both go through."""
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        await _put(db, "m1", {"a": {"order": "o1"}, "b": {"order": "o2"}}, time.time())
        concurrent = db.is_postgres
        both_locked_one = asyncio.Barrier(2 if concurrent else 1)

        async def writer(first: str, then: str) -> None:
            async with db.write() as conn:
                await objects.current(conn, "m1", [("item", first)])
                await both_locked_one.wait()
                await objects.current(conn, "m1", [("item", then)])

        results = await asyncio.gather(writer("a", "b"), writer("b", "a"), return_exceptions=True)
        failed = [r for r in results if r is not None]
        assert all(isinstance(r, Unavailable) for r in failed), results
        assert len(failed) == (1 if concurrent else 0)
    finally:
        await db.close()
