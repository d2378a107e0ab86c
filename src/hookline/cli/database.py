"""The database of a maintenance command (``migrate``, ``purge``, ``doctor``), checked before use."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from hookline.config import Settings

if TYPE_CHECKING:
    from hookline.storage.database import Database


@contextlib.asynccontextmanager
async def opened(
    settings: Settings, *, create: bool = False, migrated: bool = True
) -> AsyncIterator[Database]:
    """The settings' database, reachable (an SQLite file that exists, unless ``create``) and, if
    ``migrated``, with an up-to-date schema; else the ``Unavailable`` / ``NotMigrated`` naming the fix."""
    from hookline.runtime import database
    from hookline.storage import preflight

    db = database(settings)
    try:
        await preflight.check(db, create=create)
        if migrated:
            await preflight.require_migrated(db)
        yield db
    finally:
        await db.close()
