"""Aggregates over deliveries for the metrics views: counters, time buckets, latency samples, queue depth.

Every per-route or per-merchant query is bounded below by a creation time and narrowed by id first: ids are
time-ordered (the creation millisecond leads, ULID-style, see ``core.ids``), so ``id >= floor_id(since)``
turns the ``(route_id, id)`` and ``(merchant_id, id)`` indexes into a range scan over the window only,
and the exact ``created >= since`` then trims the edge. The upper end (``until``) is checked on ``created``
alone: it is usually "now", and a row whose id was minted later than its ``created`` (backfilled history)
must not fall out of a window it belongs to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    FunctionElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Float

from hookline.core import ids
from hookline.core.models import DeliveryStatus
from hookline.storage.database import Database
from hookline.storage.tables import attempts, deliveries

_d = deliveries.c
_a = attempts.c

# An attempt that was not an acknowledgement (the worker's rule: an error, or no 2xx).
_FAILED_ATTEMPT = or_(
    _a.error_kind.is_not(None),
    _a.response_status.is_(None),
    _a.response_status < 200,
    _a.response_status >= 300,
)
# Ordergroove's "successful retries": successful deliveries delivered after at least one failed attempt. A
# count of attempts cannot tell (a manual resend of a delivery that had succeeded makes a second attempt
# without any failure), so the delivery's recorded attempts are asked, through their index and only for
# the successes with more than one attempt.
_SUCCESS_AFTER_FAILURE = and_(
    _d.status == DeliveryStatus.SUCCESS,
    _d.attempts > 1,
    exists().where(_a.delivery_id == _d.id, _FAILED_ATTEMPT),
)

# The counters of one set of deliveries, each a conditional count in the same single pass.
COUNTERS: dict[str, ColumnElement[bool]] = {
    "failed": _d.status == DeliveryStatus.FAILED,
    "successful": _d.status == DeliveryStatus.SUCCESS,
    "successful_retries": _SUCCESS_AFTER_FAILURE,
    "pending": _d.status == DeliveryStatus.PENDING,
    "held": _d.status == DeliveryStatus.HELD,
}
# The per-bucket counts of a time series: ``retried`` is ``successful_retries`` (a subset of ``success``), so
# the buckets of a 30-day series add up to the counters.
BUCKET_COUNTERS: dict[str, ColumnElement[bool]] = {
    "success": COUNTERS["successful"],
    "failed": COUNTERS["failed"],
    "retried": COUNTERS["successful_retries"],
    "pending": COUNTERS["pending"],
    "held": COUNTERS["held"],
}


class bucket_index(FunctionElement[float]):
    """``floor(x)`` for the non-negative ``created / width`` of a time bucket.

    PostgreSQL has ``floor``; SQLite has it only when the library was built with its math functions (an
    option, on by default only since 3.35), so there we truncate with ``CAST(… AS INTEGER)``, which is the
    same for non-negative values. (A cast on PostgreSQL would round, not truncate.)
    """

    type = Float()
    name = "bucket_index"
    inherit_cache = True


@compiles(bucket_index)
def _floor(element: bucket_index, compiler: SQLCompiler, **kw: Any) -> str:
    return f"floor({compiler.process(element.clauses, **kw)})"


@compiles(bucket_index, "sqlite")
def _truncate(element: bucket_index, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


def floor_id(ts: float, prefix: str = "dlv") -> str:
    """The smallest id minted at ``ts`` (its millisecond, no random bits): later ids sort above it."""
    return ids.new(prefix, now=ts)[:-16] + "0" * 16


def _counts(conditions: dict[str, ColumnElement[bool]]) -> list[ColumnElement[int]]:
    # COUNT of a CASE without ELSE counts the rows that match; 0, never NULL, on an empty set.
    return [func.count(case((cond, literal_column("1")))).label(name) for name, cond in conditions.items()]


def _window(merchant_id: str, route_id: str | None, since: float) -> list[ColumnElement[bool]]:
    where = [_d.merchant_id == merchant_id, _d.id >= floor_id(since), _d.created >= since]
    if route_id is not None:
        where.append(_d.route_id == route_id)
    return where


async def counts(db: Database, merchant_id: str, since: float, route_id: str | None = None) -> dict[str, int]:
    """The counters of a merchant's (or one route's) deliveries created at or after ``since``."""
    query = select(*_counts(COUNTERS)).where(*_window(merchant_id, route_id, since))
    async with db.read() as conn:
        row = (await conn.execute(query)).mappings().one()
    return {name: int(row[name]) for name in COUNTERS}


async def counts_by_route(db: Database, merchant_id: str, since: float) -> dict[str, dict[str, int]]:
    """The counters per route of a merchant's deliveries since ``since``: one grouped pass."""
    query = (
        select(_d.route_id, *_counts(COUNTERS))
        .where(*_window(merchant_id, None, since))
        .group_by(_d.route_id)
        .order_by(_d.route_id)
    )
    async with db.read() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return {row["route_id"]: {name: int(row[name]) for name in COUNTERS} for row in rows}


async def series(
    db: Database, merchant_id: str, route_id: str, width_s: int, since: float, until: float
) -> dict[int, dict[str, int]]:
    """Counts per time bucket of ``width_s`` seconds, keyed by bucket index (start = index * width).

    Only buckets with deliveries are returned; the caller fills the gaps. The width is inlined (it comes
    from a fixed set) so that PostgreSQL sees the same expression in SELECT and GROUP BY.
    """
    index = bucket_index(_d.created / literal_column(repr(float(width_s)), Float))
    query = (
        select(index.label("bucket"), *_counts(BUCKET_COUNTERS))
        .where(*_window(merchant_id, route_id, since), _d.created < until)
        .group_by(index)
    )
    async with db.read() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return {int(row["bucket"]): {name: int(row[name]) for name in BUCKET_COUNTERS} for row in rows}


async def delivery_latencies(
    db: Database, merchant_id: str, route_id: str, since: float, until: float, limit: int
) -> list[float]:
    """Ingest → success in milliseconds of the newest ``limit`` successful deliveries in the window."""
    query = (
        select(((_d.completed - _d.created) * 1000.0).label("ms"))
        .where(
            *_window(merchant_id, route_id, since),
            _d.created < until,
            _d.status == DeliveryStatus.SUCCESS,
            _d.completed.is_not(None),
        )
        .order_by(_d.id.desc())
        .limit(limit)
    )
    return await _floats(db, query)


async def attempt_durations(
    db: Database, merchant_id: str, route_id: str, since: float, until: float, limit: int
) -> list[float]:
    """``duration_ms`` of the attempts of the newest deliveries in the window, at most ``limit`` of them."""
    query = (
        select(attempts.c.duration_ms)
        .select_from(deliveries.join(attempts, attempts.c.delivery_id == _d.id))
        .where(*_window(merchant_id, route_id, since), _d.created < until)
        .order_by(_d.id.desc())
        .limit(limit)
    )
    return await _floats(db, query)


async def _floats(db: Database, query: Select[Any]) -> list[float]:
    async with db.read() as conn:
        return [float(value) for value in (await conn.execute(query)).scalars() if value is not None]


async def queue_depth(db: Database) -> dict[str, int]:
    """Pending and held deliveries of every merchant, with one grouped count."""
    waiting = (DeliveryStatus.PENDING, DeliveryStatus.HELD)
    query = select(_d.status, func.count()).where(_d.status.in_(waiting)).group_by(_d.status)
    async with db.read() as conn:
        found = {status: int(n) for status, n in (await conn.execute(query)).all()}
    return {status.value: found.get(status.value, 0) for status in waiting}
