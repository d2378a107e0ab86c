"""The platform-object store: each customer, order, item... per merchant, with its earlier versions.

``objects`` holds each object's current version, valid from ``valid_from``; ``object_versions`` the ones it
replaced, each with the time span it was valid in. A write reads the current versions first (``current``:
one query per batch, by primary key, locking the rows on PostgreSQL so that two writers of an object take
turns), then stores what replaced them (``write``). Reads for enrichment are batched: one query per kind and
lookup field, however many objects a batch of events involves, for the current versions or for those valid
at given times. Every object read carries its identity field, also when it was stored without it.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, bindparam, cast, null, select, union_all
from sqlalchemy.dialects import postgresql, sqlite

from hookline.core.errors import NotFound
from hookline.core.models import JSON, ObjectVersion
from hookline.core.representations import with_identity
from hookline.core.snapshot import PARENT_FIELDS, Found, Need
from hookline.storage.database import Conn, Database, insert_rows
from hookline.storage.lists import one_of
from hookline.storage.records import Row
from hookline.storage.tables import object_versions, objects

# Values per IN list: well under the bound-parameter limits of both engines (SQLite 32766, asyncpg 32767).
CHUNK = 1000

Key = tuple[str, str]  # (kind, public_id)


@dataclass(frozen=True, slots=True)
class Stored:
    """An object's current version as stored: its data, since when it is valid, when it was written."""

    data: JSON
    valid_from: float
    updated: float


@dataclass(slots=True)
class Writes:
    """What a write stores: replaced versions, and current versions of objects stored before or new."""

    history: list[Row] = field(default_factory=list)  # object_versions rows
    changed: list[Row] = field(default_factory=list)  # objects rows whose key is stored already
    added: list[Row] = field(default_factory=list)  # objects rows of new keys

    def __bool__(self) -> bool:
        return bool(self.history or self.changed or self.added)


# Built once (the look-up runs for every ingest request). The kinds and the ids as two lists: both engines
# then probe the primary key for each (kind, id) pair, where a list of (kind, id) pairs has SQLite read the
# merchant's objects one by one, at three times the cost even with 1,000 of them (an other-kind object
# with a wanted id is read too, and left out). No ORDER BY, for the same reason. On PostgreSQL the rows read
# are locked: two writers of the same objects read them with the same plan, lock them in the same order and
# take turns (a deadlock, should one still happen, fails one of them with a retryable 503). Like every
# look-up by a list of keys, it needs the table's statistics to be read by primary key (docs/performance.md).
@functools.cache
def _current(dialect_name: str) -> Any:
    query = select(
        objects.c.kind, objects.c.public_id, objects.c.data, objects.c.valid_from, objects.c.updated
    ).where(
        objects.c.merchant_id == bindparam("merchant_id"),
        one_of(objects.c.kind, "kinds", dialect_name),
        one_of(objects.c.public_id, "ids", dialect_name),
    )
    return query.with_for_update() if dialect_name == "postgresql" else query


async def current(conn: Conn, merchant_id: str, keys: Iterable[Key]) -> dict[Key, Stored]:
    """The current versions of those of ``keys`` that are stored, locked until the transaction ends
    (PostgreSQL; SQLite has one writer at a time anyway)."""
    wanted = set(keys)
    kinds = sorted({kind for kind, _ in wanted})
    ids = sorted({public_id for _, public_id in wanted})
    query = _current(conn.dialect.name)
    found: dict[Key, Stored] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = {"merchant_id": merchant_id, "kinds": kinds, "ids": ids[start : start + CHUNK]}
        for kind, public_id, data, valid_from, updated in await conn.execute(query, chunk):
            if (kind, public_id) in wanted:
                found[(kind, public_id)] = Stored(with_identity(kind, public_id, data), valid_from, updated)
    return found


async def write(conn: Conn, writes: Writes) -> None:
    """Store ``writes`` in the caller's transaction, after ``current`` read (and locked) the keys.

    A key that was not stored is inserted, not upserted: should another transaction have inserted it since
    (two first writes of an object at once, on PostgreSQL), this one fails with a Conflict that
    ``events.is_race`` recognises, and running it again finds the other's version to build on.
    """
    await insert_rows(conn, object_versions, writes.history)
    if writes.changed:
        await conn.execute(_upsert(conn.dialect.name), writes.changed)
    await insert_rows(conn, objects, writes.added)


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
            "valid_from": statement.excluded.valid_from,
        },
    )


async def get(db: Database, merchant_id: str, kind: str, public_id: str) -> ObjectVersion:
    """The object's current version; NotFound when it is not stored."""
    query = select(objects).where(
        objects.c.merchant_id == merchant_id, objects.c.kind == kind, objects.c.public_id == public_id
    )
    async with db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"{kind} {public_id} not found")
    data = with_identity(kind, public_id, row["data"])
    return ObjectVersion(kind, public_id, data, row["valid_from"], updated=row["updated"])


async def version_at(db: Database, merchant_id: str, kind: str, public_id: str, at: float) -> ObjectVersion:
    """The version of the object valid at ``at``: its data, ``valid_from`` and ``valid_until`` (None: it
    is the current one); NotFound when the object was not stored then."""
    async with db.read() as conn:
        found = await _query(conn, merchant_id, kind, None, [public_id], (at, at))
    for _, _, data, valid_from, valid_until in found:
        if valid_from <= at < (math.inf if valid_until is None else valid_until):
            return ObjectVersion(
                kind, public_id, with_identity(kind, public_id, data), valid_from, valid_until
            )
    raise NotFound(f"{kind} {public_id} has no version at that time")


async def find(conn: Conn, merchant_id: str, needs: Iterable[Need]) -> dict[Need, Found]:
    """Every need answered (an empty answer when nothing matches), one query per (kind, via) group: the
    current versions, or (needs with a time) those valid then."""
    groups: dict[tuple[str, str | None, bool], set[Need]] = defaultdict(set)
    for need in needs:
        groups[(need.kind, need.via, need.at is not None)].add(need)
    answers: dict[Need, list[tuple[str, Any]]] = {}
    for (kind, via, timed), group in groups.items():
        by_value: dict[str, list[Need]] = defaultdict(list)
        for need in group:
            answers[need] = []
            by_value[need.value].append(need)
        values = sorted(by_value)
        times = [need.at for need in group if need.at is not None]
        span = (min(times), max(times)) if timed else None
        for start in range(0, len(values), CHUNK):
            chunk = values[start : start + CHUNK]
            for value, key, data, valid_from, valid_until in await _query(
                conn, merchant_id, kind, via, chunk, span
            ):
                hit = (key, with_identity(kind, key, data))
                until = math.inf if valid_until is None else valid_until
                # Current versions answer the needs without a time; each version, those of its span.
                for need in by_value[value]:
                    if need.at is None or valid_from <= need.at < until:
                        answers[need].append(hit)
    return {need: tuple(sorted(hits, key=lambda hit: hit[0])) for need, hits in answers.items()}


async def _query(
    conn: Conn,
    merchant_id: str,
    kind: str,
    via: str | None,
    values: list[str],
    span: tuple[float, float] | None,
) -> list[tuple[str, str, Any, float, float | None]]:
    """(looked-up value, id, data, valid from, valid until) of the objects of one kind matching one chunk
    of values: their current versions, or (``span``: the earliest and latest time asked about) every
    version valid at some time in it (current ones: valid until None)."""
    # By id (the primary key), or by the parent field (an item's order), whose id has a column and index.
    if via is not None and via != PARENT_FIELDS.get(kind):
        raise ValueError(f"objects of kind {kind!r} are not looked up by {via!r}")
    query = _lookup(conn.dialect.name, via is not None, span is not None)
    earliest, latest = span or (0.0, 0.0)
    params = {
        "merchant_id": merchant_id,
        "kind": kind,
        "values": values,
        "earliest": earliest,
        "latest": latest,
    }
    return [(str(r[0]), r[1], r[2], r[3], r[4]) for r in await conn.execute(query, params)]


@functools.cache
def _lookup(dialect_name: str, by_parent: bool, timed: bool) -> Any:
    """``_query``'s statement, built once per engine and kind of look-up (it runs for every ingest)."""
    column = objects.c.parent_id if by_parent else objects.c.public_id
    query = select(
        column.label("value"),
        objects.c.public_id,
        objects.c.data,
        objects.c.valid_from,
        cast(null(), Float).label("valid_until"),
    ).where(
        objects.c.merchant_id == bindparam("merchant_id"),
        objects.c.kind == bindparam("kind"),
        one_of(column, "values", dialect_name),
    )
    if not timed:
        return query
    older = object_versions.c.parent_id if by_parent else object_versions.c.public_id
    versions = select(
        older.label("value"),
        object_versions.c.public_id,
        object_versions.c.data,
        object_versions.c.valid_from,
        object_versions.c.valid_until,
    ).where(
        object_versions.c.merchant_id == bindparam("merchant_id"),
        object_versions.c.kind == bindparam("kind"),
        one_of(older, "values", dialect_name),
        object_versions.c.valid_from <= bindparam("latest"),
        object_versions.c.valid_until > bindparam("earliest"),
    )
    return union_all(query.where(objects.c.valid_from <= bindparam("latest")), versions)
