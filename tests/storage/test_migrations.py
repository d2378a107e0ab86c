"""The migrations build exactly the tables the code declares, on both engines, and re-running is a no-op."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hookline.storage import migrate
from hookline.storage.database import Database
from hookline.storage.tables import metadata


async def test_migrated_schema_matches_the_tables(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        await migrate.upgrade(db)  # idempotent
        diff = await db.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    finally:
        await db.close()
    assert diff == []
