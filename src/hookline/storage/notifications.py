"""Merchant notifications in the database: each merchant's channels, and the outbox of notices.

A notice is written to the outbox in the caller's transaction, one row per channel (all the addresses in
one e-mail; the Slack URL in another row), resolved from the merchant's settings at that moment. A halt
and its notice therefore commit together (``storage.autohalt``), and a crash afterwards leaves a due row
that a worker process sends later. A row is claimed as a delivery is: ``next_attempt_at`` moves to the end
of the claimer's lease, which is also its token when it records the outcome, so a row whose sender died is
due again once that lease runs out (at least once, never silently dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from hookline.core import ids, notices
from hookline.core.models import RouteState
from hookline.storage.database import Conn, Database
from hookline.storage.records import Row
from hookline.storage.tables import notification_settings, notifications, routes, targets

PENDING, SENT, FAILED = "pending", "sent", "failed"
EMAIL, SLACK = "email", "slack"

_s = notification_settings.c
_n = notifications.c


@dataclass(frozen=True, slots=True)
class Channels:
    """A merchant's notification settings (the API's resource)."""

    emails: tuple[str, ...] = ()
    slack_webhook_url: str | None = None
    on: tuple[str, ...] = notices.KINDS


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed outbox row; ``lease`` is the token its outcome is recorded with."""

    id: str
    merchant_id: str
    kind: str
    channel: str
    destination: Any
    subject: str
    body: str
    attempts: int
    lease: float


def _channels(row: Any) -> Channels:
    if row is None:
        return Channels()
    return Channels(tuple(row.emails), row.slack_webhook_url, tuple(row.kinds))


async def channels(db: Database, merchant_id: str) -> Channels:
    """The merchant's settings; the defaults (no channel, both kinds) when it never set any."""
    async with db.read() as conn:
        return await _read(conn, merchant_id)


async def _read(conn: Conn, merchant_id: str) -> Channels:
    found = await conn.execute(select(notification_settings).where(_s.merchant_id == merchant_id))
    return _channels(found.first())


async def save(db: Database, merchant_id: str, settings: Channels, now: float) -> Channels:
    """Replace the merchant's settings."""
    async with db.write() as conn:
        await conn.execute(delete(notification_settings).where(_s.merchant_id == merchant_id))
        await conn.execute(
            insert(notification_settings).values(
                merchant_id=merchant_id,
                emails=list(settings.emails),
                slack_webhook_url=settings.slack_webhook_url,
                kinds=list(settings.on),
                updated=now,
            )
        )
        return await _read(conn, merchant_id)


async def enqueue(
    conn: Conn, merchant_id: str, kind: str, route_id: str | None, message: notices.Message, now: float
) -> int:
    """Write the notice to the outbox, one row per channel the merchant has for ``kind``; how many."""
    settings = await _read(conn, merchant_id)
    if kind not in settings.on:
        return 0
    targets_: list[tuple[str, Any]] = []
    if settings.emails:
        targets_.append((EMAIL, list(settings.emails)))
    if settings.slack_webhook_url:
        targets_.append((SLACK, {"url": settings.slack_webhook_url}))
    rows = [
        {
            "id": ids.new("ntf", now=now),
            "merchant_id": merchant_id,
            "kind": kind,
            "route_id": route_id,
            "channel": channel,
            "destination": destination,
            "subject": message.subject,
            "body": message.body,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created": now,
        }
        for channel, destination in targets_
    ]
    if rows:
        await conn.execute(insert(notifications), rows)
    return len(rows)


async def route_of(conn: Conn, route_id: str) -> tuple[str, notices.Route] | None:
    """The route's merchant and how a notice names it; None when it is gone."""
    found = (
        await conn.execute(
            select(routes.c.id, routes.c.merchant_id, routes.c.name, targets.c.url)
            .join(targets, targets.c.id == routes.c.target_id)
            .where(routes.c.id == route_id, routes.c.deleted.is_(None))
        )
    ).first()
    if found is None:
        return None
    return found.merchant_id, notices.Route(found.id, found.name, found.url)


async def enqueue_failing(
    db: Database, route_id: str, failed: int, total: int, window_s: float, every_s: float, now: float
) -> int:
    """Tell the route's merchant it is failing, unless it was told so in the last ``every_s`` seconds, or
    the route is no longer active.

    The route's row is locked first, so two worker processes that both see the rate cross cannot both
    write the notice.
    """
    async with db.write() as conn:
        await conn.execute(
            select(routes.c.id).where(routes.c.id == route_id).with_for_update()  # the lock, on PostgreSQL
        )
        found = await route_of(conn, route_id)
        state = (await conn.execute(select(routes.c.state).where(routes.c.id == route_id))).scalar()
        if found is None or state != RouteState.ACTIVE:
            return 0  # gone, disabled, or halted: the halt's own notice says more than this one
        recent = await conn.execute(
            select(_n.id)
            .where(_n.route_id == route_id, _n.kind == notices.ROUTE_FAILING, _n.created > now - every_s)
            .limit(1)
        )
        if recent.first() is not None:
            return 0
        merchant_id, route = found
        message = notices.failing(route, failed, total, window_s, now)
        return await enqueue(conn, merchant_id, notices.ROUTE_FAILING, route_id, message, now)


def _due(now: float) -> Any:
    return (_n.status == PENDING) & (_n.next_attempt_at <= now)


async def claim(db: Database, now: float, lease_s: float, limit: int) -> list[Outgoing]:
    """Due outbox rows, leased to this process until ``now + lease_s``."""
    async with db.read() as conn:
        # A cheap read first: on SQLite every write transaction takes the database's one write lock.
        if (await conn.execute(select(_n.id).where(_due(now)).limit(1))).first() is None:
            return []
    chosen = (
        select(_n.id)
        .where(_due(now))
        .order_by(_n.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    lease = now + lease_s
    async with db.write() as conn:
        claimed = await conn.execute(
            update(notifications)
            .where(_n.id.in_(chosen.scalar_subquery()), _due(now))
            .values(next_attempt_at=lease)
            .returning(*notifications.c)
            .execution_options(synchronize_session=False)
        )
        rows = claimed.mappings().all()
    return [
        Outgoing(
            r["id"],
            r["merchant_id"],
            r["kind"],
            r["channel"],
            r["destination"],
            r["subject"],
            r["body"],
            r["attempts"],
            lease,
        )
        for r in rows
    ]


async def record(db: Database, item: Outgoing, now: float, error: str | None, retry_at: float | None) -> bool:
    """The outcome of one try: sent (``error`` None), due again at ``retry_at``, or given up (None).

    False when the lease was lost (another process claimed the row after it ran out): nothing is changed.
    """
    if error is None:
        values: Row = {"status": SENT, "sent": now, "last_error": None, "next_attempt_at": None}
    elif retry_at is not None:
        values = {"next_attempt_at": retry_at, "last_error": error}
    else:
        values = {"status": FAILED, "next_attempt_at": None, "last_error": error}
    async with db.write() as conn:
        done = await conn.execute(
            update(notifications)
            .where(_n.id == item.id, _n.status == PENDING, _n.next_attempt_at == item.lease)
            .values(attempts=_n.attempts + 1, **values)
        )
    return bool(done.rowcount)


async def outbox(db: Database, merchant_id: str, limit: int = 50) -> Sequence[Row]:
    """The merchant's latest notices, newest first (for the dashboard and tests)."""
    async with db.read() as conn:
        found = await conn.execute(
            select(notifications).where(_n.merchant_id == merchant_id).order_by(_n.id.desc()).limit(limit)
        )
        return [dict(r) for r in found.mappings()]


async def purge(db: Database, cutoff: float, limit: int = 1000) -> int:
    """Delete up to ``limit`` notices that finished (sent, or given up) before ``cutoff``; how many."""
    finished = (_n.status != PENDING) & (_n.created < cutoff) & (func.coalesce(_n.sent, _n.created) < cutoff)
    async with db.write() as conn:
        chosen = (await conn.execute(select(_n.id).where(finished).limit(limit))).scalars().all()
        if not chosen:
            return 0
        done = await conn.execute(delete(notifications).where(_n.id.in_(chosen), finished))
    return int(done.rowcount)
