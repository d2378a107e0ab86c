"""A target's keys by its id alone, for its public JWKS document.

The one read of targets that carries no merchant: the document is fetched without an API key (receivers
point a JWKS client at it), and all it reveals is public keys. Deleted targets are as missing as unknown ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from hookline.storage.database import Database
from hookline.storage.tables import targets

_KEYS = select(
    targets.c.ed25519_private_key, targets.c.expiring_ed25519_private_key, targets.c.signing_key_expiry
).where(targets.c.id == bindparam("target_id"), targets.c.deleted.is_(None))


@dataclass(frozen=True, slots=True)
class PublicKeys:
    """A target's Ed25519 private keys (whose public halves are published) and their window's end."""

    ed25519_private_key: str | None
    expiring_ed25519_private_key: str | None
    signing_key_expiry: float | None

    def in_rotation(self, now: float) -> bool:
        """Whether the expiring key still signs."""
        return (self.signing_key_expiry or 0) > now


async def of(db: Database, target_id: str) -> PublicKeys | None:
    """The live target's Ed25519 keys and their window's end, or None."""
    async with db.read() as conn:
        row = (await conn.execute(_KEYS, {"target_id": target_id})).first()
    return None if row is None else PublicKeys(*row)
