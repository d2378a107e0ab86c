"""Auto-halt: a route whose target keeps failing is halted, its deliveries held, and the merchant told.

Peers disable endpoints after days of failures and lose or cancel what was queued, or never fire at all.
Here a route is halted after N consecutive failed attempts (no 2xx in between)
that span at least T seconds; its pending deliveries are held with their attempt budget untouched and go out
oldest first on resume. Both conditions matter: N alone halts a busy route on a one-minute blip, T alone
halts a quiet route on its second failure.

Everything happens in the transaction that records the attempts (``queue.record``), so the streak can never
disagree with the attempts that made it, and the halt, the held deliveries and the ``hookline.route.halted``
notice commit together or not at all: a crash cannot halt a route without telling the merchant. The
e-mail and Slack notice of ``storage.notifications`` is written to its outbox in the same transaction.

The notice is an event of the merchant's, inserted here with its deliveries rather than through the service
layer's ingest (the worker may not import the service). It goes to the merchant's routes that subscribe to
it by name (``hookline.*`` or the exact type), never to the halted route itself, so a halted route cannot
feed itself notices. Its body is the plain envelope: route settings that shape bodies are written for
commerce events, and a notice must not be lost to a transformation that does not expect it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from hookline import catalog, fanout, ids, notices, payloads
from hookline.models import DeliveryStatus, Event, Outcome, Result, RouteState
from hookline.storage import events as event_store
from hookline.storage import notifications as notification_store
from hookline.storage import routes as route_store
from hookline.storage.database import Conn, Database
from hookline.storage.records import Row
from hookline.storage.tables import deliveries, events, routes, targets


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's defaults, for routes whose own settings are null. ``failures=0`` never halts."""

    failures: int = 20
    window_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class Streak:
    """What one batch of results did to one route's run of failures, in the order the attempts ended.

    ``reset``: a success came in the batch, so the streak restarts from the failures after the last one.
    """

    route_id: str
    reset: bool
    failures: int
    first_at: float | None  # when the first of those failures started
    last_at: float | None  # when the last one ended
    last_error: str | None


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


def streaks(results: Sequence[Result]) -> list[Streak]:
    """Per route (sorted by id: the lock order), the effect of the batch on its failure streak."""
    by_route: defaultdict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_route[result.job.route_id].append(result)
    found = []
    for route_id in sorted(by_route):
        tail: list[Result] = []
        reset = False
        for result in sorted(by_route[route_id], key=_ended):
            if not result.outcome.about_target:
                continue  # the egress proxy failed, not the target: neither a failure nor a success of it
            if result.status == DeliveryStatus.SUCCESS:
                reset, tail = True, []
            else:
                tail.append(result)
        found.append(
            Streak(
                route_id,
                reset,
                len(tail),
                tail[0].outcome.started if tail else None,
                _ended(tail[-1]) if tail else None,
                describe(tail[-1].outcome) if tail else None,
            )
        )
    return found


def _ended(result: Result) -> float:
    return result.outcome.started + result.outcome.duration_ms / 1000


def describe(outcome: Outcome) -> str:
    """A failed attempt in a few words: ``HTTP 503``, or the sender's reason for no answer."""
    if outcome.status is not None and outcome.error_detail is None:
        return f"HTTP {outcome.status}"
    return outcome.error_detail or (outcome.error.value if outcome.error else "no 2xx answer")


async def track(conn: Conn, results: Sequence[Result], policy: Policy, now: float) -> list[Halted]:
    """Update the failure streaks of the routes in ``results`` and halt those that crossed their threshold.

    Called first in the recording transaction: route rows are locked before delivery rows, as a route
    change over the API does, so concurrent workers and API calls cannot deadlock.
    """
    changes = streaks(results)
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
    if streak.failures == 0 or row.state != RouteState.ACTIVE or row.deleted is not None:
        return False
    limit = policy.failures if row.auto_halt_failures is None else row.auto_halt_failures
    window: float = policy.window_s if row.auto_halt_window_s is None else row.auto_halt_window_s
    if limit <= 0 or row.failure_streak < limit or row.failing_since is None or streak.last_at is None:
        return False
    span: float = streak.last_at - row.failing_since
    return span >= window


async def _halt(conn: Conn, row: Any, streak: Streak, now: float) -> Halted:
    reason = (
        f"{row.failure_streak} consecutive failed attempts since {_iso(row.failing_since)}; "
        f"last error: {streak.last_error}"
    )
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


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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


def subscribes(patterns: Sequence[str], event_type: str) -> bool:
    """Whether a route asked for this notice by name: ``*`` alone is not enough (see ``catalog``)."""
    family = event_type.split(".", 1)[0]
    return event_type in patterns or f"{family}.*" in patterns


async def notify(
    conn: Conn, merchant_id: str, event_type: str, obj: Row, now: float, *, exclude: str | None
) -> Notice:
    """Insert a ``hookline.*`` event and its deliveries in the caller's transaction.

    The event is kept even when no route subscribes: it is the merchant's record, listed with the others.
    """
    event = Event(ids.new("evt", now=now), merchant_id, event_type, int(now), obj, None)
    built: fanout.Body = (payloads.render(payloads.envelope(event)), None)  # unshaped: see the module's doc
    raw = {"id": event.id, "type": event.type, "created": event.created, "data": {"object": obj}}
    await conn.execute(insert(events).values(**event_store.row(event, raw, now)))
    rows = [
        fanout.delivery(ids.new("dlv", now=now), event, route, built, now)
        for route in await _receivers(conn, merchant_id)
        if route["id"] != exclude and subscribes(route["event_types"], event_type)
    ]
    if rows:
        await conn.execute(insert(deliveries), rows)
        await event_store.notify_workers(conn)
    return Notice(event.id, [r["id"] for r in rows])


async def _receivers(conn: Conn, merchant_id: str) -> list[Row]:
    """The merchant's routes that can take an event now (as ingest picks them)."""
    query = (
        select(routes.c.id, routes.c.target_id, routes.c.state, routes.c.event_types)
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
    return [dict(r) for r in (await conn.execute(query)).mappings()]
