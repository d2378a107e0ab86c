"""Portal links, by the hash of their token: minted, read, and used (once)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import delete, insert, select, update

from hookline.core.models import RowMap, from_columns
from hookline.storage.database import Database
from hookline.storage.tables import portal_links


@dataclass(frozen=True, slots=True)
class PortalLink:
    """A single-use link into a merchant's dashboard, known by the hash of its token."""

    id: str
    token_hash: str
    merchant_id: str
    read_only: bool
    return_url: str | None
    created: float
    expires: float
    used: float | None = None

    @classmethod
    def from_row(cls, row: RowMap) -> PortalLink:
        return from_columns(cls, row)


async def add(db: Database, link: PortalLink) -> None:
    """Store a new link, and delete the expired ones in passing (an expired link opens nothing)."""
    async with db.write() as conn:
        await conn.execute(delete(portal_links).where(portal_links.c.expires < link.created))
        await conn.execute(insert(portal_links).values(**asdict(link)))


async def get(db: Database, token_hash: str) -> PortalLink | None:
    async with db.read() as conn:
        query = select(portal_links).where(portal_links.c.token_hash == token_hash)
        found = (await conn.execute(query)).mappings().first()
    return None if found is None else PortalLink.from_row(found)


async def use(db: Database, link_id: str, now: float) -> bool:
    """Mark the link used if it is unused and unexpired; whether this call did (one caller ever does)."""
    async with db.write() as conn:
        done = await conn.execute(
            update(portal_links)
            .where(portal_links.c.id == link_id, portal_links.c.used.is_(None), portal_links.c.expires > now)
            .values(used=now)
        )
    return bool(done.rowcount)
