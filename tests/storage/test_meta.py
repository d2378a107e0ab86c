"""Settings kept in the database survive processes starting at the same moment."""

from __future__ import annotations

import asyncio

from hookline.service import auth
from hookline.service.context import Context
from hookline.storage import merchants, migrate
from hookline.storage.database import Database
from hookline.storage.wakeup import Wakeup


async def _databases(db_url: str, n: int) -> list[Database]:
    first = Database(db_url)
    await migrate.upgrade(first)
    return [first, *(Database(db_url) for _ in range(n - 1))]


async def test_processes_starting_together_agree_on_the_operator_key(db_url: str) -> None:
    dbs = await _databases(db_url, 4)
    try:
        contexts = [Context(db=db, wakeup=Wakeup()) for db in dbs]
        printed = await asyncio.gather(*(auth.ensure_operator_key(c, "") for c in contexts))
        new_keys = [k for k in printed if k is not None]
        assert len(new_keys) == 1  # only one process generates (and prints) a key, and it works
        assert (await auth.authenticate(contexts[0], new_keys[0], client="127.0.0.1")).operator
        # With a configured key, every process sets the same hash at once without failing.
        await asyncio.gather(*(auth.ensure_operator_key(c, "hl_op_configured") for c in contexts))
        assert (await auth.authenticate(contexts[1], "hl_op_configured", client="127.0.0.1")).operator
    finally:
        for db in dbs:
            await db.close()


async def test_set_meta_replaces_and_add_meta_keeps_the_first(db_url: str) -> None:
    [db] = await _databases(db_url, 1)
    try:
        assert await merchants.add_meta(db, "k", "first")
        assert not await merchants.add_meta(db, "k", "second")
        await merchants.set_meta(db, "k", "third")
        assert await merchants.meta_value(db, "k") == "third"
    finally:
        await db.close()
