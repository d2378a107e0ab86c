"""The platform-object store: the latest copy of each customer, order, item... per merchant.

Writes are upserts (the newest copy wins, whole), so an object can arrive from an event or from the API
in any order. Reads for enrichment are batched: one query per kind and lookup field, however many
objects a batch of events involves.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from hookline.errors import NotFound
from hookline.snapshot import PARENT_FIELDS, Found, Need
from hookline.storage.database import Conn, Database
from hookline.storage.records import Row
from hookline.storage.tables import objects

# Values per IN list: well under the bound-parameter limits of both engines (SQLite 32766, asyncpg 32767).
CHUNK = 1000


async def upsert(conn: Conn, rows: Sequence[Row]) -> None:
    """Insert or replace objects inside the caller's transaction; the last copy of a repeated key wins.

    Rows go in key order so that two transactions writing the same objects lock them in the same order
    (no deadlock on PostgreSQL).
    """
    latest = {(r["merchant_id"], r["kind"], r["public_id"]): r for r in rows}
    ordered = [latest[k] for k in sorted(latest)]
    if not ordered:
        return
    await conn.execute(_upsert(conn.dialect.name), ordered)


@functools.cache
def _upsert(dialect_name: str) -> Any:
    """The upsert statement of a dialect, built once (building it costs more than running it)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(objects)
    return statement.on_conflict_do_update(
        index_elements=[objects.c.merchant_id, objects.c.kind, objects.c.public_id],
        set_={
            "data": statement.excluded.data,
            "email": statement.excluded.email,
            "parent_id": statement.excluded.parent_id,
            "updated": statement.excluded.updated,
        },
    )


async def put(db: Database, rows: Sequence[Row]) -> None:
    """Upsert in a transaction of their own: all of them or none."""
    async with db.write() as conn:
        await upsert(conn, rows)


async def get(db: Database, merchant_id: str, kind: str, public_id: str) -> Row:
    query = select(objects).where(
        objects.c.merchant_id == merchant_id, objects.c.kind == kind, objects.c.public_id == public_id
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"{kind} {public_id} not found")
    return dict(row)


async def find(conn: Conn, merchant_id: str, needs: Iterable[Need]) -> dict[Need, Found]:
    """Every need answered (an empty answer when nothing matches), one query per (kind, via) group."""
    groups: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for need in needs:
        groups[(need.kind, need.via)].add(need.value)
    answers: dict[Need, list[tuple[str, Any]]] = {}
    for (kind, via), values in groups.items():
        for need in (Need(kind, v, via) for v in values):
            answers[need] = []
        ordered = sorted(values)
        for start in range(0, len(ordered), CHUNK):
            for value, key, data in await _query(
                conn, merchant_id, kind, via, ordered[start : start + CHUNK]
            ):
                answers[Need(kind, value, via)].append((key, data))
    return {need: tuple(sorted(hits, key=lambda hit: hit[0])) for need, hits in answers.items()}


async def _query(
    conn: Conn, merchant_id: str, kind: str, via: str | None, values: list[str]
) -> list[tuple[str, str, Any]]:
    """(looked-up value, id, data) of the objects of one kind matching one chunk of values."""
    # By id (the primary key), or by the parent field (an order's items), whose id has a column and index.
    if via is not None and via != PARENT_FIELDS.get(kind):
        raise ValueError(f"objects of kind {kind!r} are not looked up by {via!r}")
    column = objects.c.public_id if via is None else objects.c.parent_id
    query = select(column.label("value"), objects.c.public_id, objects.c.data).where(
        objects.c.merchant_id == merchant_id, objects.c.kind == kind, column.in_(values)
    )
    return [(str(r.value), r.public_id, r.data) for r in await conn.execute(query)]
