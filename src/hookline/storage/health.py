"""Is the database there, and what ``hookline doctor`` asks of it."""

from __future__ import annotations

import time

from sqlalchemy import func, select, text

from hookline.storage.database import Database
from hookline.storage.tables import targets


async def ping(db: Database) -> None:
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))


async def clock_skew(db: Database) -> float | None:
    """The database server's clock minus this machine's, in seconds (None for SQLite: the same clock).

    Leases, retries and signatures' timestamps compare times taken on different machines: a skew of
    seconds makes leases end early and receivers refuse signatures.
    """
    if not db.is_postgres:
        return None
    before = time.time()
    async with db.read() as conn:
        server = (await conn.execute(text("SELECT extract(epoch FROM clock_timestamp())"))).scalar_one()
    return float(server) - (before + time.time()) / 2


async def target_urls(db: Database, limit: int) -> tuple[int, list[str]]:
    """How many targets are enabled, and the URLs of up to ``limit`` of them (for the egress check)."""
    async with db.read() as conn:
        live = (targets.c.enabled, targets.c.deleted.is_(None))
        count = (await conn.execute(select(func.count()).where(*live))).scalar_one()
        urls = (await conn.execute(select(targets.c.url).where(*live).distinct().limit(limit))).scalars()
        return int(count), list(urls)
