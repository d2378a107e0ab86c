"""Background jobs (bulk resend, replay) and the delivery writes they and test events make.

A job is claimed with a lease, like a delivery: ``lease_until`` is both the deadline and the owner's token.
Every batch runs in one transaction that first renews the lease (only if it still holds the token it was
given), then does its work, then records the progress (``done`` and ``cursor``). So a batch either happens
with its progress or not at all; a process that dies loses at most the batch in flight, and whoever claims
the job after the lease runs out resumes from the committed cursor without redoing a finished batch. A
runner whose lease was taken over finds out at its next batch and stops (``LeaseLost``).

Each transaction that makes deliveries due also NOTIFYs the workers on PostgreSQL (sent at commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson
from sqlalchemy import ColumnElement, func, insert, select, tuple_, update

from hookline.core.errors import Conflict, NotFound
from hookline.core.models import BulkJob, DeliveryStatus, NewDelivery, Route, StoredEvent
from hookline.storage import bodies, ordering
from hookline.storage import events as event_store
from hookline.storage import routes as route_store
from hookline.storage.database import Conn, Database
from hookline.storage.records import Row
from hookline.storage.tables import deliveries, events, jobs

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
UNFINISHED = (QUEUED, RUNNING)
_OPEN = (DeliveryStatus.PENDING, DeliveryStatus.HELD)


class LeaseLost(Conflict):
    """The job's lease ran out and another runner took the job over."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A claimed job as it was when the lease was taken or last renewed; ``until`` is the owner's token."""

    job: BulkJob
    until: float


@dataclass(frozen=True, slots=True)
class Progress:
    """What one batch did, to be committed with it."""

    done: int  # rows handled by this batch
    cursor: dict[str, Any]  # where the next batch starts, plus running counters
    finished: bool
    total: int | None = None  # counted by the first batch


# ---------------------------------------------------------------------------------------------------------
# Jobs as the API sees them


async def create(db: Database, job: BulkJob) -> BulkJob:
    """Insert a queued job, unless the route already has an unfinished job of the same kind (Conflict)."""
    async with db.write() as conn:
        running = (
            await conn.execute(
                select(jobs.c.id).where(
                    jobs.c.merchant_id == job.merchant_id,
                    jobs.c.route_id == job.route_id,
                    jobs.c.kind == job.kind,
                    jobs.c.status.in_(UNFINISHED),
                )
            )
        ).scalar()
        if running is not None:
            raise Conflict(f"job {running} ({job.kind}) is still running for route {job.route_id}")
        await conn.execute(insert(jobs).values(**asdict(job)))
    return job


async def get(db: Database, merchant_id: str, job_id: str) -> BulkJob:
    async with db.read() as conn:
        row = (
            (await conn.execute(select(jobs).where(jobs.c.id == job_id, jobs.c.merchant_id == merchant_id)))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound(f"job {job_id} not found")
    return BulkJob.from_row(row)


async def page(
    db: Database, merchant_id: str, limit: int, before: str | None, route_id: str | None = None
) -> list[BulkJob]:
    """Newest first (ids are time-ordered); ``before`` is the last id of the previous page."""
    query = select(jobs).where(jobs.c.merchant_id == merchant_id)
    if route_id:
        query = query.where(jobs.c.route_id == route_id)
    if before:
        query = query.where(jobs.c.id < before)
    async with db.read() as conn:
        rows = await conn.execute(query.order_by(jobs.c.id.desc()).limit(limit))
        return [BulkJob.from_row(r) for r in rows.mappings()]


# ---------------------------------------------------------------------------------------------------------
# Claiming and finishing


def _claimable(now: float) -> ColumnElement[bool]:
    return jobs.c.status.in_(UNFINISHED) & (jobs.c.lease_until.is_(None) | (jobs.c.lease_until < now))


async def claim(db: Database, now: float, lease_s: float) -> Lease | None:
    """The oldest job that is queued, or running under an expired lease (its runner died), leased to us."""
    async with db.read() as conn:
        # A cheap read first: on SQLite every write transaction takes the database's one write lock.
        if (await conn.execute(select(jobs.c.id).where(_claimable(now)).limit(1))).first() is None:
            return None
    oldest = (
        select(jobs.c.id)
        .where(_claimable(now))
        .order_by(jobs.c.created, jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    until = now + lease_s
    async with db.write() as conn:
        row = (
            (
                await conn.execute(
                    update(jobs)
                    .where(jobs.c.id.in_(oldest.scalar_subquery()), _claimable(now))
                    .values(status=RUNNING, lease_until=until, updated=now)
                    .returning(*jobs.c)
                    .execution_options(synchronize_session=False)
                )
            )
            .mappings()
            .first()
        )
    return None if row is None else Lease(BulkJob.from_row(row), until)


async def _renew(conn: Conn, lease: Lease, now: float, lease_s: float) -> float:
    until = now + lease_s
    result = await conn.execute(
        update(jobs)
        .where(jobs.c.id == lease.job.id, jobs.c.status == RUNNING, jobs.c.lease_until == lease.until)
        .values(lease_until=until, updated=now)
    )
    if result.rowcount == 0:
        raise LeaseLost(f"job {lease.job.id} was taken over by another runner")
    return until


async def fail(db: Database, lease: Lease, error: str, now: float) -> None:
    """Mark a job failed (only while we still hold it); its committed progress stays."""
    async with db.write() as conn:
        await conn.execute(
            update(jobs)
            .where(jobs.c.id == lease.job.id, jobs.c.lease_until == lease.until)
            .values(status=FAILED, error=error[:2000], lease_until=None, updated=now)
        )


async def _progress(conn: Conn, lease: Lease, until: float, p: Progress, now: float) -> Lease | None:
    done = lease.job.done + p.done
    values: Row = {"done": done, "cursor": orjson.dumps(p.cursor).decode(), "updated": now}
    if lease.job.total is None and p.total is not None:
        values["total"] = p.total
    if p.finished:
        # The count taken at the start is an estimate (rows can change status meanwhile): once finished,
        # the total is what the job actually handled, so done == total.
        values.update(status=DONE, total=done, lease_until=None)
    await conn.execute(update(jobs).where(jobs.c.id == lease.job.id).values(**values))
    if p.finished:
        return None
    return Lease(replace(lease.job, **values, lease_until=until), until)


async def release(db: Database, lease: Lease, now: float) -> None:
    """Give a job back unfinished (a graceful stop): claimable at once, resumed from its cursor."""
    async with db.write() as conn:
        await conn.execute(
            update(jobs)
            .where(jobs.c.id == lease.job.id, jobs.c.lease_until == lease.until)
            .values(lease_until=None, updated=now)
        )


# ---------------------------------------------------------------------------------------------------------
# The route a batch works for, checked inside the batch's transaction (``routes.deliverable``)


def _for_route(row: NewDelivery, route: Route) -> NewDelivery:
    """A new delivery as the route stands in this transaction: its target, held if the route is halted.
    One made failed (its body could not be built) stays failed."""
    status = route.due_status if row.status == DeliveryStatus.PENDING else row.status
    return replace(row, status=status, target_id=route.target_id)


# ---------------------------------------------------------------------------------------------------------
# Bulk resend: finished deliveries of a route, by id


@dataclass(frozen=True, slots=True)
class ResendScope:
    merchant_id: str
    route_id: str
    statuses: tuple[str, ...]
    since: float | None
    until: float


def _resend_where(scope: ResendScope) -> list[ColumnElement[bool]]:
    d = deliveries.c
    where = [
        d.merchant_id == scope.merchant_id,
        d.route_id == scope.route_id,
        d.status.in_(scope.statuses),
        d.is_test.is_(False),
        d.created < scope.until,
        # Failed without an attempt = the route's transformation could not make the body; its stored
        # payload is the untransformed envelope and must never be sent. Replay rebuilds it instead.
        ~((d.status == DeliveryStatus.FAILED) & (d.attempts == 0)),
    ]
    if scope.since is not None:
        where.append(d.created >= scope.since)
    return where


async def count_resend(db: Database, scope: ResendScope) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(deliveries).where(*_resend_where(scope))
        return int((await conn.execute(query)).scalar_one())


async def resend_batch(
    db: Database, lease: Lease, scope: ResendScope, limit: int, now: float, lease_s: float, total: int | None
) -> Lease | None:
    """Make the next ``limit`` matching deliveries (by id) due again with a fresh attempt budget.

    On a halted route they become held instead, released when it resumes. Returns the renewed lease, or
    None when the job is finished.
    """
    after = lease.job.position.get("after")
    where = _resend_where(scope)
    if after:
        where.append(deliveries.c.id > after)
    async with db.write() as conn:
        until = await _renew(conn, lease, now, lease_s)
        route = await route_store.deliverable(conn, scope.merchant_id, scope.route_id)
        ids = list(
            (
                await conn.execute(
                    select(deliveries.c.id).where(*where).order_by(deliveries.c.id).limit(limit)
                )
            ).scalars()
        )
        changed = 0
        if ids:
            result = await conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids), deliveries.c.status.in_(scope.statuses))
                .values(
                    status=route.due_status,
                    next_attempt_at=now,
                    completed=None,
                    attempt_base=deliveries.c.attempts,
                    sequence=None,  # resent out of band: outside its key's order (docs/ordering.md)
                )
            )
            changed = result.rowcount
            await event_store.notify_workers(conn)
        cursor = {"after": ids[-1] if ids else after}
        progress = Progress(changed, cursor, finished=len(ids) < limit, total=total)
        return await _progress(conn, lease, until, progress, now)


# ---------------------------------------------------------------------------------------------------------
# Replay: stored events of a window, by (received, id)


@dataclass(frozen=True, slots=True)
class ReplayScope:
    merchant_id: str
    route_id: str
    types: tuple[str, ...]
    since: float
    until: float


def _replay_where(scope: ReplayScope) -> list[ColumnElement[bool]]:
    e = events.c
    return [
        e.merchant_id == scope.merchant_id,
        e.received >= scope.since,
        e.received < scope.until,
        e.type.in_(scope.types),
    ]


async def count_replay(db: Database, scope: ReplayScope) -> int:
    async with db.read() as conn:
        query = select(func.count()).select_from(events).where(*_replay_where(scope))
        return int((await conn.execute(query)).scalar_one())


async def replay_candidates(
    db: Database, scope: ReplayScope, after: Sequence[Any] | None, limit: int
) -> list[StoredEvent]:
    """The next ``limit`` events of the window after the (received, id) ``after``, oldest first."""
    where = _replay_where(scope)
    if after:
        received, event_id = after
        where.append(tuple_(events.c.received, events.c.id) > tuple_(received, event_id))
    query = select(events).where(*where).order_by(events.c.received, events.c.id).limit(limit)
    async with db.read() as conn:
        return [StoredEvent.from_row(r) for r in (await conn.execute(query)).mappings()]


async def replay_batch(
    db: Database,
    lease: Lease,
    scope: ReplayScope,
    rows: list[NewDelivery],
    progress: Progress,
    now: float,
    lease_s: float,
) -> tuple[Lease | None, int]:
    """Insert the new deliveries ``rows`` of one batch, with its progress; returns (lease, created).

    An event that has an open (pending or held) delivery on the route already gets no second one: it will
    be delivered anyway. The route's state is read here, in the transaction: a halted route's deliveries are
    held.
    """
    async with db.write() as conn:
        until = await _renew(conn, lease, now, lease_s)
        route = await route_store.deliverable(conn, scope.merchant_id, scope.route_id)
        open_ids: set[str] = set()
        if rows:
            open_ids = set(
                (
                    await conn.execute(
                        select(deliveries.c.event_id).where(
                            deliveries.c.merchant_id == scope.merchant_id,
                            deliveries.c.route_id == scope.route_id,
                            deliveries.c.event_id.in_([r.event_id for r in rows]),
                            deliveries.c.status.in_(_OPEN),
                        )
                    )
                ).scalars()
            )
        fresh = [_for_route(r, route) for r in rows if r.event_id not in open_ids]
        if fresh:
            await ordering.number(conn, fresh)  # new numbers, in the order of the events
            await bodies.store(conn, fresh)
            await event_store.notify_workers(conn)
        skipped = progress.cursor.get("skipped", 0) + len(rows) - len(fresh)
        progress = replace(progress, cursor={**progress.cursor, "skipped": skipped})
        return await _progress(conn, lease, until, progress, now), len(fresh)


# ---------------------------------------------------------------------------------------------------------
# Test events


async def add_test_deliveries(
    db: Database, merchant_id: str, route_id: str, rows: list[NewDelivery]
) -> list[NewDelivery]:
    """Insert test deliveries for a route (held if it is halted); Invalid if it cannot receive them."""
    async with db.write() as conn:
        route = await route_store.deliverable(conn, merchant_id, route_id)
        made = [_for_route(r, route) for r in rows]
        await bodies.store(conn, made)
        await event_store.notify_workers(conn)
    return made
