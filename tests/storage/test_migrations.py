"""The migrations build exactly the tables the code declares, on both engines, and re-running is a no-op."""

from __future__ import annotations

import base64

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hookline.core import keypairs
from hookline.storage import bodies as storage_bodies
from hookline.storage import migrate, tables
from hookline.storage.database import Database
from hookline.storage.tables import metadata

_TARGET_COLUMNS = (
    "id",
    "merchant_id",
    "url",
    "enabled",
    "signing_key",
    "expiring_signing_key",
    "signing_key_expiry",
    "created",
    "updated",
)


async def test_migrated_schema_matches_the_tables(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        await migrate.upgrade(db)  # idempotent
        diff = await db.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    finally:
        await db.close()
    assert diff == []


async def test_0007_gives_every_stored_target_its_own_key_pair(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        await db.run_sync(lambda sync: command.downgrade(migrate._config(sync), "0005"))
        old = sa.table("targets", *(sa.column(c) for c in _TARGET_COLUMNS))
        row = {
            "merchant_id": "m1",
            "url": "https://x.example/h",
            "enabled": True,
            "signing_key": "k",
            "expiring_signing_key": None,
            "signing_key_expiry": None,
        }
        rows = [{**row, "id": f"tgt_{i:04}", "created": 1.0, "updated": 1.0} for i in range(1203)]
        rows[0] |= {"expiring_signing_key": "old", "signing_key_expiry": 2e9}  # in a rotation window
        merchant = {"id": "m1", "name": "M", "created": 1.0}
        await db.run_sync(lambda sync: sync.execute(sa.insert(tables.merchants), merchant))
        await db.run_sync(lambda sync: sync.execute(sa.insert(old), rows))

        await migrate.upgrade(db)
        async with db.read() as conn:
            query = sa.select(
                tables.targets.c.ed25519_private_key, tables.targets.c.expiring_ed25519_private_key
            )
            stored = (await conn.execute(query)).all()
    finally:
        await db.close()
    assert len(stored) == 1203  # more than one page
    assert len({key for key, _ in stored}) == 1203
    assert all(len(base64.b64decode(key)) == 32 and keypairs.jwk(key)["x"] for key, _ in stored)
    assert {expiring for _, expiring in stored} == {None}  # the expiring HMAC key had no pair


async def test_0017_moves_each_stored_body_apart_and_back(db_url: str) -> None:
    db = Database(db_url)
    columns = ["id", "merchant_id", "event_id", "event_type", "route_id", "target_id", "status"]
    old = sa.table("deliveries", *(sa.column(c) for c in [*columns, "created", "payload"]))
    bodies = {"dlv_1": b'{"id":"e1"}\x00\xff', "dlv_2": b'{"id":"e1","other":"shape"}'}
    rows = [
        dict(zip(columns, (i, "m1", "e1", "order.reminder", "r1", "t1", "success"), strict=True))
        | {"created": 1.0, "payload": body}
        for i, body in bodies.items()
    ]
    try:
        await migrate.upgrade(db)
        await db.run_sync(lambda sync: command.downgrade(migrate._config(sync), "0016"))
        await db.run_sync(lambda sync: sync.execute(sa.insert(old), rows))

        await migrate.upgrade(db)
        d = tables.deliveries.c
        read = sa.select(d.id, storage_bodies.payload()).order_by(d.id)
        async with db.read() as conn:
            moved = {i: bytes(p) for i, p in (await conn.execute(read)).all()}
        await db.run_sync(lambda sync: command.downgrade(migrate._config(sync), "0016"))
        back_query = sa.select(old.c.id, old.c.payload).order_by(old.c.id)
        back = await db.run_sync(lambda sync: {i: bytes(p) for i, p in sync.execute(back_query).all()})
        await migrate.upgrade(db)
    finally:
        await db.close()
    assert moved == bodies
    assert back == bodies
