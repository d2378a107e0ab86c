"""Browser sessions, by the hash of their token: opened, read, touched, re-pointed and ended."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from hookline.storage.database import Conn, Database
from hookline.storage.records import Row
from hookline.storage.tables import sessions


async def add(db: Database, row: Row) -> None:
    """Store a new session, and delete the expired ones in passing (nothing else needs them)."""
    async with db.write() as conn:
        await conn.execute(delete(sessions).where(sessions.c.expires < row["created"]))
        await conn.execute(insert(sessions).values(**row))


async def get(db: Database, id_hash: str) -> Row | None:
    async with db.read() as conn:
        found = (await conn.execute(select(sessions).where(sessions.c.id_hash == id_hash))).mappings().first()
    return None if found is None else dict(found)


async def change(db: Database, id_hash: str, **values: object) -> None:
    async with db.write() as conn:
        await conn.execute(update(sessions).where(sessions.c.id_hash == id_hash).values(**values))


async def end(db: Database, id_hash: str, now: float) -> None:
    async with db.write() as conn:
        await conn.execute(
            update(sessions)
            .where(sessions.c.id_hash == id_hash, sessions.c.revoked.is_(None))
            .values(revoked=now)
        )


async def end_for_key(conn: Conn, key_hash: str, now: float) -> None:
    """End every session opened with this API key, in the caller's transaction (the key's revocation)."""
    await conn.execute(
        update(sessions)
        .where(sessions.c.key_hash == key_hash, sessions.c.revoked.is_(None))
        .values(revoked=now)
    )
