"""Is the database there?"""

from __future__ import annotations

from sqlalchemy import text

from hookline.storage.database import Database


async def ping(db: Database) -> None:
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))
