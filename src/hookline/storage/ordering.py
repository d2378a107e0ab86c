"""The deliveries of ordered routes: numbered 1, 2, 3 ... per route and key (in acceptance order, no gaps),
and claimed one at a time per key, lowest number first.

Numbering. The last number of each (route, key) is a row of ``ordering_sequences``, bumped with one upsert
per key in the transaction that inserts the deliveries. On PostgreSQL the upsert locks that row until the
commit, so a second transaction numbering the same key waits and continues after the first one's numbers; it
commits after it too, so the numbers follow the order in which the events were accepted. A transaction that
rolls back gives its numbers back. Keys are bumped in sorted order (one statement per 500 keys), so two
batches never wait on each other in a cycle.

Claiming. A numbered delivery is claimable only while no open (pending or held) delivery of its route and key
has a lower number (``first_of_its_key``, part of the claim in ``storage.queue``). A claimed delivery stays
pending under its lease, so the next one cannot be claimed meanwhile by any worker.

Parking. A delivery waiting behind an earlier one is still due by its time; so that claims do not read
such deliveries over and over (a key whose first delivery waits hours for its retries may have thousands
behind it), a claim first moves the waiting ones it finds ``PARK_S`` into the future (``park``), and the
end of a numbered delivery makes the next one of its key due at once (``release_next``, in the transaction
that records the end, which first waits for any ingest still numbering that key). Parking only saves work:
should a release be missed, the parked delivery is looked at again ``PARK_S`` later. Whether a delivery may
go is decided by the claim alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    ScalarSelect,
    Select,
    bindparam,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from hookline.core.models import DeliveryStatus, NewDelivery
from hookline.storage.database import Conn, execute_many, inline
from hookline.storage.records import Row
from hookline.storage.tables import deliveries, open_ordered, ordering_sequences

PARK_S = 60.0  # how long a waiting delivery is put aside before a claim looks at it again
PARK_BATCH = 5000  # waiting deliveries put aside per claim

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


# SQLite's: one key per run of the statement, compiled once and run on the driver (``database.inline``):
# SQLAlchemy compiling a multi-row upsert anew for each batch cost more than SQLite running it.
_BUMP_ONE = (
    sqlite.insert(ordering_sequences)
    .values(route_id=bindparam("route_id"), ordering_key=bindparam("ordering_key"), last=bindparam("last"))
    .on_conflict_do_update(
        index_elements=[ordering_sequences.c.route_id, ordering_sequences.c.ordering_key],
        set_={"last": ordering_sequences.c.last + literal_column("excluded.last")},
    )
    .returning(ordering_sequences.c.route_id, ordering_sequences.c.ordering_key, ordering_sequences.c.last)
)


async def _bumped(conn: Conn, counts: list[Row]) -> list[tuple[Any, ...]]:
    """(route, key, new last number) of each count added."""
    sync = inline(conn)
    if sync is not None:
        return sync.execute_each(_BUMP_ONE, counts)
    return [tuple(found) for found in (await conn.execute(_bump(conn.dialect.name, counts))).all()]


async def number(conn: Conn, rows: Sequence[NewDelivery]) -> None:
    """Give each new delivery with an ``ordering_key`` its ``sequence``, in the order of ``rows`` (the order
    their events were accepted), in the caller's transaction. A delivery that will never be sent (made
    failed: its route's transformation could not build a body) takes no number, so that the numbers a
    receiver sees have no gaps; it keeps its key."""
    by_key: dict[tuple[str, str], list[NewDelivery]] = {}
    for row in rows:
        if row.ordering_key is not None and row.status != DeliveryStatus.FAILED:
            by_key.setdefault((row.route_id, row.ordering_key), []).append(row)
    keys = sorted(by_key)
    for start in range(0, len(keys), _CHUNK):
        counts = [
            {"route_id": r, "ordering_key": k, "last": len(by_key[(r, k)])}
            for r, k in keys[start : start + _CHUNK]
        ]
        for route_id, key, last in await _bumped(conn, counts):
            mine = by_key[(route_id, key)]
            for offset, row in enumerate(mine):
                row.sequence = int(last) - len(mine) + 1 + offset


# Whether a (route, key) has an open numbered delivery: the ordering index's predicate word for word.
_OPEN_ONE = text(
    "SELECT 1 FROM deliveries WHERE route_id = :route_id AND ordering_key = :ordering_key AND "
    + open_ordered()
    + " LIMIT 1"
)


async def free_firsts(conn: Conn, rows: Sequence[NewDelivery]) -> list[NewDelivery]:
    """Of new numbered deliveries (``number``ed, not yet inserted), the ones that may go at once: the lowest
    numbered pending one of each route and key, where no delivery of that key is open before it (in flight,
    due for a retry, or held). Run after ``number``: on PostgreSQL its upsert holds the keys' rows, so
    another transaction numbering them has committed before (or waits until) this one looks."""
    firsts: dict[tuple[str, str], NewDelivery] = {}
    for row in rows:
        if row.sequence is None or row.ordering_key is None:
            continue
        key = (row.route_id, row.ordering_key)
        first = firsts.get(key)
        if first is None or row.sequence < (first.sequence or 0):
            firsts[key] = row
    pending = {key: row for key, row in firsts.items() if row.status == DeliveryStatus.PENDING}
    if not pending:
        return []
    sync = inline(conn)
    if sync is not None:  # a look-up per key in the index, on the driver: a few µs each
        params = [{"route_id": r, "ordering_key": k} for r, k in pending]
        busy = {key for key, p in zip(pending, params, strict=True) if sync.execute_each(_OPEN_ONE, [p])}
    else:
        d = deliveries.c
        query = select(d.route_id, d.ordering_key).where(
            tuple_(d.route_id, d.ordering_key).in_(list(pending)), text(open_ordered())
        )
        busy = {(r, k) for r, k in (await conn.execute(query)).all()}
    return [row for key, row in pending.items() if key not in busy]


def _earlier() -> Select[Any]:
    """An open delivery of the same route and key with a lower number than the ``deliveries`` row at hand.

    It repeats the ordering index's predicate word for word, so both engines read only that small index
    (open numbered deliveries).
    """
    d = deliveries.c
    prior = aliased(deliveries, name="prior")
    return (
        select(literal_column("1"))
        .select_from(prior)
        .where(
            prior.c.route_id == d.route_id,
            prior.c.ordering_key == d.ordering_key,
            prior.c.sequence < d.sequence,
            text(open_ordered("prior")),
        )
    )


def _lowest_open() -> ScalarSelect[Any]:
    """The lowest number among the open deliveries of the ``deliveries`` row's route and key.

    An aggregate, so that PostgreSQL runs it as a look-up per row in the index rather than joining all open
    numbered deliveries with all due ones (which an ``EXISTS`` becomes there).
    """
    d = deliveries.c
    prior = aliased(deliveries, name="prior")
    return (
        select(func.min(prior.c.sequence))
        .where(
            prior.c.route_id == d.route_id,
            prior.c.ordering_key == d.ordering_key,
            text(open_ordered("prior")),
        )
        .scalar_subquery()
    )


def first_of_its_key() -> ColumnElement[bool]:
    """Unnumbered (unordered), or the lowest-numbered open delivery of its route and key: a numbered
    delivery waits while one before it is pending (in flight, or due for a retry) or held. Unordered
    deliveries never reach the look-up."""
    return or_(deliveries.c.sequence.is_(None), ~_earlier().exists())


def _park_statement() -> Any:
    d = deliveries.c
    waiting = (
        select(d.id)
        .where(
            d.status == DeliveryStatus.PENDING,
            d.sequence.is_not(None),
            d.next_attempt_at <= bindparam("now"),
            d.sequence > _lowest_open(),
        )
        .order_by(d.next_attempt_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        update(deliveries)
        .where(d.id.in_(waiting.scalar_subquery()))
        .values(next_attempt_at=bindparam("until"))
        .execution_options(synchronize_session=False)
    )


def _release_statement() -> Any:
    """The lowest-numbered open delivery of a key due now, if it is numbered after the delivery that just
    ended and that end is the one stored (not a late duplicate of an attempt another worker recorded).

    Whether or not it looks put aside: a claim may be putting it aside right now (on PostgreSQL, its lock
    is then waited for, and the row it wrote updated). It cannot be leased: nobody could claim it while the
    delivery that just ended was open.
    """
    d = deliveries.c
    head = aliased(deliveries, name="head")
    ended = aliased(deliveries, name="ended")
    first = (
        select(head.c.id)
        .where(
            head.c.route_id == bindparam("n_route"),
            head.c.ordering_key == bindparam("n_key"),
            text(open_ordered("head")),
        )
        .order_by(head.c.sequence)
        .limit(1)
        .scalar_subquery()
    )
    stored = select(ended.c.id).where(
        ended.c.id == bindparam("n_ended"), ended.c.completed == bindparam("n_completed")
    )
    return (
        update(deliveries)
        .where(
            d.id == first,
            d.sequence > bindparam("n_sequence"),
            d.status == DeliveryStatus.PENDING,
            stored.exists(),
        )
        .values(next_attempt_at=bindparam("n_now"))
        .execution_options(synchronize_session=False)
    )


def _unpark_statement() -> Any:
    """The deliveries just put aside (at ``until``) that wait for nothing after all."""
    d = deliveries.c
    return (
        update(deliveries)
        .where(
            d.status == DeliveryStatus.PENDING,
            d.sequence.is_not(None),
            d.next_attempt_at == bindparam("until"),
            d.sequence <= _lowest_open(),
        )
        .values(next_attempt_at=bindparam("now"))
        .execution_options(synchronize_session=False)
    )


# Built once: they run with every claim and every recorded end of a numbered delivery.
_PARK = _park_statement()
_UNPARK = _unpark_statement()
_RELEASE = _release_statement()
_LOCK_KEYS = (  # the numbering rows of (route, key) pairs, locked in sorted order (``release_next``)
    select(ordering_sequences.c.last)
    .where(
        tuple_(ordering_sequences.c.route_id, ordering_sequences.c.ordering_key).in_(
            bindparam("keys", expanding=True)
        )
    )
    .order_by(ordering_sequences.c.route_id, ordering_sequences.c.ordering_key)
    .with_for_update()
)


async def forget(conn: Conn, route_id: str) -> None:
    """Drop the numbers given on a deleted route (in the caller's transaction)."""
    await conn.execute(delete(ordering_sequences).where(ordering_sequences.c.route_id == route_id))


async def park(conn: Conn, now: float) -> None:
    """Put aside (``PARK_S``) the due numbered deliveries that wait behind an earlier one of their key,
    on the caller's connection (the claim's). Reads only the index of due numbered deliveries.

    On PostgreSQL the end of the delivery ahead may commit while the statement runs, after it saw that
    delivery open: its release (``release_next``) is then overwritten by the park. A second statement, which
    sees every commit made before it began, brings such deliveries back at once.
    """
    until = now + PARK_S
    parked = await conn.execute(_PARK, {"now": now, "limit": PARK_BATCH, "until": until})
    if parked.rowcount:
        await conn.execute(_UNPARK, {"now": now, "until": until})


async def release_next(conn: Conn, ended: Sequence[Row]) -> None:
    """Make the next delivery of each key due now, after its numbered deliveries ``ended`` (each
    ``{n_route, n_key, n_sequence, n_ended, n_completed, n_now}``), in the caller's transaction (the one
    that stored those ends).

    On PostgreSQL the keys' numbering rows are locked first (in sorted order, as ``number`` does). An
    ingest that numbered a next delivery of one of these keys and has not committed yet holds that row:
    without the lock, the release would not see the new delivery, and a claim that saw it committed
    before this end did could put it aside (``park``) with nobody left to release it. With it, either the
    ingest commits first and the release (a statement after the lock, so seeing that commit) finds the new
    delivery, or this end commits first and the ingest, numbering after it, sees the key free.
    """
    if conn.dialect.name == "postgresql":
        keys = sorted({(row["n_route"], row["n_key"]) for row in ended})
        await conn.execute(_LOCK_KEYS, {"keys": keys})
    await execute_many(conn, _RELEASE, ended)
