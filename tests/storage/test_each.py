"""``Database.each`` (the claim's) and ``Database.read``: connections on which every statement stands alone.

On PostgreSQL each statement is its own transaction, with no ``BEGIN`` or ``COMMIT`` sent: a statement
that fails leaves the ones before it done. On SQLite ``each`` is one write transaction, as ``write``.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from hookline.core.errors import Conflict
from hookline.storage import migrate
from hookline.storage.database import Database
from hookline.storage.tables import deliveries
from storage.test_bulk_rows import _delivery, _stored


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_each_statement_is_its_own_transaction_on_postgresql(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.write() as conn:
            one = [(await conn.execute(sa.text("SELECT txid_current()"))).scalar_one() for _ in range(2)]
        async with db.each() as conn:
            each = [(await conn.execute(sa.text("SELECT txid_current()"))).scalar_one() for _ in range(2)]
        async with db.read() as conn:
            read = [(await conn.execute(sa.text("SELECT txid_current()"))).scalar_one() for _ in range(2)]
        assert one[0] == one[1] and each[0] != each[1] and read[0] != read[1]
    finally:
        await db.close()


async def test_a_failed_statement_leaves_the_ones_before_it_as_the_engine_says(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
        insert: Any = sa.insert(deliveries)
        with pytest.raises(Conflict):
            async with db.each() as conn:
                await conn.execute(insert, [_delivery("first")])
                await conn.execute(insert, [_delivery("first")])  # a duplicate: the second statement fails
        kept = await _stored(db, deliveries, ["first"])
        assert len(kept) == (1 if db.is_postgres else 0)
    finally:
        await db.close()
