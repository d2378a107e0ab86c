"""Browser sessions, by the hash of their token: opened, read, touched, re-pointed and ended."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import delete, insert, select, update

from hookline.core.models import RowMap, from_columns
from hookline.storage.database import Conn, Database
from hookline.storage.tables import sessions


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A browser session as stored, known by the hash of its token. ``key_hash``: the API key it was opened
    with (None: opened another way, a portal link); ``revoked``: when it was ended."""

    id_hash: str
    operator: bool
    merchant_id: str | None
    key_hash: str | None
    read_only: bool
    csrf: str
    created: float
    expires: float
    last_seen: float
    revoked: float | None = None
    portal_link_id: str | None = None
    return_url: str | None = None

    @classmethod
    def from_row(cls, row: RowMap) -> StoredSession:
        return from_columns(cls, row)


async def add(db: Database, stored: StoredSession) -> None:
    """Store a new session, and delete the expired ones in passing (nothing else needs them)."""
    async with db.write() as conn:
        await conn.execute(delete(sessions).where(sessions.c.expires < stored.created))
        await conn.execute(insert(sessions).values(**asdict(stored)))


async def get(db: Database, id_hash: str) -> StoredSession | None:
    async with db.read() as conn:
        found = (await conn.execute(select(sessions).where(sessions.c.id_hash == id_hash))).mappings().first()
    return None if found is None else StoredSession.from_row(found)


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
