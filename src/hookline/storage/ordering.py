"""Numbering the deliveries of ordered routes: 1, 2, 3 ... per route and key, in acceptance order, no gaps.

The last number of each (route, key) is a row of ``ordering_sequences``, bumped with one upsert per key in
the transaction that inserts the deliveries. On PostgreSQL the upsert locks that row until the commit, so a
second transaction numbering the same key waits and continues after the first one's numbers; it commits
after it too, so the numbers follow the order in which the events were accepted. A transaction that rolls
back gives its numbers back. Keys are bumped in sorted order (one statement per 500 keys), so two batches
never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from hookline.storage.database import Conn
from hookline.storage.records import Row
from hookline.storage.tables import ordering_sequences

_CHUNK = 500  # keys per statement (a batch of events has at most 500 per route)


def _bump(dialect_name: str, counts: list[Row]) -> Any:
    """Add each ``n`` to its key's last number (starting from 0), returning the new last numbers."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = ordering_sequences
    statement = dialect.insert(table).values(counts)
    return statement.on_conflict_do_update(
        index_elements=[table.c.route_id, table.c.ordering_key],
        set_={"last": table.c.last + statement.excluded.last},
    ).returning(table.c.route_id, table.c.ordering_key, table.c.last)


async def number(conn: Conn, rows: Sequence[Row]) -> None:
    """Give each new delivery with an ``ordering_key`` its ``sequence``, in the order of ``rows`` (the order
    their events were accepted), in the caller's transaction. A delivery that will never be sent (made
    failed: its route's transformation could not build a body) takes its number all the same: it ends at
    once and releases the next."""
    by_key: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.get("ordering_key") is not None:
            by_key.setdefault((row["route_id"], row["ordering_key"]), []).append(row)
    keys = sorted(by_key)
    for start in range(0, len(keys), _CHUNK):
        counts = [
            {"route_id": r, "ordering_key": k, "last": len(by_key[(r, k)])}
            for r, k in keys[start : start + _CHUNK]
        ]
        found = await conn.execute(_bump(conn.dialect.name, counts))
        for route_id, key, last in found.all():
            mine = by_key[(route_id, key)]
            for offset, row in enumerate(mine):
                row["sequence"] = int(last) - len(mine) + 1 + offset
