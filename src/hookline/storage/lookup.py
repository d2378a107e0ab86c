"""Rows by a list of keys: on PostgreSQL one index probe per key, whatever the planner's statistics say.

``WHERE merchant_id = :m AND id IN (:ids)`` with hundreds of ids is what ingest and enrichment ask for every
batch. Without statistics (a young table, or autovacuum off) PostgreSQL's planner takes such a list to match
most of the table and the merchant to match few rows, so it reads every row of the merchant and filters
them: the look-up grows with the table (ingest fell from ~5,700 to ~1,240 events/s over 100,000 events).
Here the keys are ``unnest``-ed and each is looked up by a ``LATERAL`` subquery that ``OFFSET 0`` keeps
apart, so that it stays an index probe. SQLite reads an ``IN`` list through the index anyway.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY


def each_of(
    dialect_name: str, columns: list[Any], key: Any, keys_param: str, *where: ColumnElement[bool]
) -> Any:
    """``SELECT columns WHERE where AND key IN (:keys_param)``, for ``dialect_name``; ``keys_param`` is bound
    to a list of keys."""
    if dialect_name != "postgresql":
        return select(*columns).where(*where, key.in_(bindparam(keys_param, expanding=True)))
    wanted = func.unnest(bindparam(keys_param, type_=ARRAY(key.type))).table_valued("key")
    wanted = wanted.render_derived(name="wanted")
    found = select(*columns).where(*where, key == wanted.c.key).offset(0).lateral("found")
    return select(*found.c).select_from(wanted).join(found, true())
