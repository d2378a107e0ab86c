"""Every target's stored endpoint credentials, across merchants: for re-sealing them after a key rotation
(``hookline reseal``). The only other reads of ``targets.auth`` are the merchant-scoped ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from hookline.storage.database import Database
from hookline.storage.tables import targets

Stored = dict[str, Any]


async def reseal_all(db: Database, reseal: Callable[[Stored], Stored | None]) -> tuple[int, list[str]]:
    """Replace each target's ``auth`` with ``reseal(auth)`` in one transaction; a None from ``reseal``
    leaves that one as it is. The number re-sealed, and the ids of the targets left alone."""
    changed, left = 0, []
    async with db.write() as conn:
        found = await conn.execute(select(targets.c.id, targets.c.auth).where(targets.c.auth.is_not(None)))
        for target_id, auth in found.all():
            if not auth:  # a JSON null stored by an older row: no credentials
                continue
            new = reseal(auth)
            if new is None:
                left.append(target_id)
                continue
            await conn.execute(update(targets).where(targets.c.id == target_id).values(auth=new))
            changed += 1
    return changed, left
