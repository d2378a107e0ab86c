"""A target's keys by its id alone, for its public JWKS document.

The one read of targets that carries no merchant: the document is fetched without an API key (receivers
point a JWKS client at it), and all it reveals is public keys. Deleted targets are as missing as unknown ones.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select

from hookline.storage.database import Database
from hookline.storage.records import Row
from hookline.storage.tables import targets

_KEYS = select(
    targets.c.ed25519_private_key, targets.c.expiring_ed25519_private_key, targets.c.signing_key_expiry
).where(targets.c.id == bindparam("target_id"), targets.c.deleted.is_(None))


async def of(db: Database, target_id: str) -> Row | None:
    """The live target's Ed25519 keys and their window's end, or None."""
    async with db.read() as conn:
        row = (await conn.execute(_KEYS, {"target_id": target_id})).mappings().first()
    return None if row is None else dict(row)
