"""Auto-halt's storage: the failure streaks kept in the route rows, the halt, and its notices.

What halts a route is decided in ``hookline.core.autohalt_policy``; this module keeps the streaks and acts on
its answers. Everything happens in the transaction that records the attempts (``queue.record``), so the
streak can never disagree with the attempts that made it, and the halt, the held deliveries (their attempt
budget untouched, sent oldest first on resume) and the ``hookline.route.halted`` notice commit together or
not at all: a crash cannot halt a route without telling the merchant. The e-mail and Slack notice of
``storage.notifications`` is written to its outbox in the same transaction.

The notice is an event of the merchant's, written here in the recording transaction (the worker may not
import the service); its deliveries are planned by ``fanout.notice``, as every path plans them: it goes to
the merchant's routes that subscribe to it by name (``hookline.*`` or the exact type), never to the halted
route itself, with the plain envelope as its body.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from hookline.core import autohalt_policy, catalog, fanout, ids, notices
from hookline.core.autohalt_policy import Policy, Streak
from hookline.core.models import Event, Result, Route, RouteState
from hookline.storage import bodies
from hookline.storage import events as event_store
from hookline.storage import notifications as notification_store
from hookline.storage import routes as route_store
from hookline.storage.database import Conn, Database
from hookline.storage.records import Row
from hookline.storage.tables import events, routes, targets


@dataclass(frozen=True, slots=True)
class Notice:
    """A ``hookline.*`` event stored for a merchant, and the deliveries it fanned out to."""

    event_id: str
    delivery_ids: list[str]


@dataclass(frozen=True, slots=True)
class Halted:
    merchant_id: str
    route_id: str
    reason: str
    notice: Notice


async def track(conn: Conn, results: Sequence[Result], policy: Policy, now: float) -> list[Halted]:
    """Update the failure streaks of the routes in ``results`` and halt those that crossed their threshold.

    Called first in the recording transaction: route rows are locked before delivery rows, as a route
    change over the API does, so concurrent workers and API calls cannot deadlock.
    """
    changes = autohalt_policy.streaks(results)
    if not changes:
        return []
    # Only successes for a route whose streak is 0 already: no write (and no row lock) on the hot path.
    quiet = [s.route_id for s in changes if s.failures == 0]
    failing: set[str] = set()
    if quiet:
        found = await conn.execute(
            select(routes.c.id).where(routes.c.id.in_(quiet), routes.c.failure_streak != 0)
        )
        failing = set(found.scalars())
    halted: list[Halted] = []
    for streak in changes:
        if streak.failures == 0 and streak.route_id not in failing:
            continue
        row = await _count(conn, streak)
        if row is not None and _crossed(row, streak, policy):
            halted.append(await _halt(conn, row, streak, now))
    return halted


async def _count(conn: Conn, streak: Streak) -> Any:
    r = routes.c
    if streak.reset:
        values: dict[str, Any] = {"failure_streak": streak.failures, "failing_since": streak.first_at}
    else:
        values = {
            "failure_streak": r.failure_streak + streak.failures,
            "failing_since": func.coalesce(r.failing_since, streak.first_at),
        }
    result = await conn.execute(
        update(routes)
        .where(r.id == streak.route_id)
        .values(**values)
        .returning(
            r.id,
            r.merchant_id,
            r.name,
            r.target_id,
            r.state,
            r.deleted,
            r.failure_streak,
            r.failing_since,
            r.auto_halt_failures,
            r.auto_halt_window_s,
        )
    )
    return result.first()


def _crossed(row: Any, streak: Streak, policy: Policy) -> bool:
    return autohalt_policy.crossed(
        streak,
        policy.of_route(row.auto_halt_failures, row.auto_halt_window_s),
        state=row.state,
        deleted=row.deleted is not None,
        failure_streak=row.failure_streak,
        failing_since=row.failing_since,
    )


async def _halt(conn: Conn, row: Any, streak: Streak, now: float) -> Halted:
    reason = autohalt_policy.reason(row.failure_streak, row.failing_since, streak.last_error)
    await conn.execute(
        update(routes)
        .where(routes.c.id == row.id)
        .values(state=RouteState.HALTED, halted_at=now, halted_reason=reason, updated=now)
    )
    await route_store.move_deliveries(conn, row.id, RouteState.HALTED, now)
    subject = await _subject(conn, row.id)
    notice = await notify(
        conn,
        row.merchant_id,
        catalog.ROUTE_HALTED,
        {**subject, "halted_at": int(now), "reason": reason, "automatic": True},
        now,
        exclude=row.id,
    )
    # The merchant's e-mail and Slack notice, in this transaction too (docs/notifications.md).
    route = notices.Route(row.id, row.name, subject["target_url"])
    await notification_store.enqueue(
        conn, row.merchant_id, notices.ROUTE_HALTED, row.id, notices.halted(route, reason, now), now
    )
    return Halted(row.merchant_id, row.id, reason, notice)


async def _subject(conn: Conn, route_id: str) -> Row:
    """The route as a notice's ``data.object`` describes it."""
    found = (
        await conn.execute(
            select(routes.c.id, routes.c.merchant_id, routes.c.name, targets.c.url)
            .join(targets, targets.c.id == routes.c.target_id)
            .where(routes.c.id == route_id)
        )
    ).one()
    return {
        "type": "route",
        "merchant": found.merchant_id,
        "route_id": found.id,
        "name": found.name,
        "target_url": found.url,
    }


async def announce(
    db: Database, merchant_id: str, route_id: str, event_type: str, extra: Row, now: float
) -> Notice:
    """Store a notice about a route in a transaction of its own (a state change made over the API).

    A halt notice skips the route it is about; a resumed route may hear of its own resumption.
    """
    async with db.write() as conn:
        subject = await _subject(conn, route_id)
        exclude = route_id if event_type == catalog.ROUTE_HALTED else None
        return await notify(conn, merchant_id, event_type, {**subject, **extra}, now, exclude=exclude)


async def notify(
    conn: Conn, merchant_id: str, event_type: str, obj: Row, now: float, *, exclude: str | None
) -> Notice:
    """Insert a ``hookline.*`` event and the deliveries ``fanout.notice`` plans for it, in the caller's
    transaction.

    The event is kept even when no route subscribes: it is the merchant's record, listed with the others.
    """
    event = Event(ids.new("evt", now=now), merchant_id, event_type, int(now), obj, None)
    raw = {"id": event.id, "type": event.type, "created": event.created, "data": {"object": obj}}
    await conn.execute(insert(events).values(**event_store.new(event, raw, now).row()))
    new_id = functools.partial(ids.new, "dlv", now=now)
    rows = fanout.notice(event, await _receivers(conn, merchant_id), new_id, now, exclude=exclude)
    if rows:
        await bodies.store(conn, rows)
        await event_store.notify_workers(conn)
    return Notice(event.id, [r.id for r in rows])


async def _receivers(conn: Conn, merchant_id: str) -> list[Route]:
    """The merchant's routes that can take an event now (as ingest picks them)."""
    query = (
        select(routes)
        .join(targets, targets.c.id == routes.c.target_id)
        .where(
            routes.c.merchant_id == merchant_id,
            routes.c.deleted.is_(None),
            routes.c.state.in_((RouteState.ACTIVE, RouteState.HALTED)),
            targets.c.enabled.is_(True),
            targets.c.deleted.is_(None),
        )
        .order_by(routes.c.id)
    )
    return [Route.from_row(r) for r in (await conn.execute(query)).mappings()]
