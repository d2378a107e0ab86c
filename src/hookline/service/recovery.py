"""Recovery after an outage: resend a route's finished deliveries, or replay its events, as background jobs.

Both can touch many thousands of rows, so the API only records a job (202) and the bulk runner next to the
worker carries it out in bounded batches (``BATCH`` rows per transaction), each committed with its progress.

Scope. A job covers what existed when it was asked for: ``until`` defaults to (and is capped at) the time of
the request, so deliveries and events that arrive while it runs, which take the normal path anyway, are not
swept in. ``since`` is inclusive, ``until`` exclusive.

- resend: deliveries of the route whose status is one of ``status`` (default failed and canceled) and that
  were created in the window become pending again with a fresh attempt budget (``attempt_base``), exactly as
  the single resend does. Test deliveries are left out. On a halted route they become held instead.
- replay: events of the merchant received in the window whose type the route subscribes to (at the time of
  each batch) get a NEW delivery on the route, with the same event id and a body built from the stored event
  with the route's current settings (snapshot columns, field selection, transformation; a body the
  transformation cannot make gives a failed delivery with the reason, as at ingest). The snapshot shows
  the objects as they were when each event was accepted (their versions then), unless the job asks for
  them as they are now (``point_in_time`` false). An event that already has an open (pending or held)
  delivery on the route gets no second one (counted in ``skipped``); one whose deliveries are finished
  (success, failed, canceled) or that never had one (the route did not exist or was disabled then) gets a
  new delivery: that is the point of a replay.

One unfinished job per route and kind: a second request while one runs is a conflict (409), so a double
click does not replay twice.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from hookline.core import catalog, fanout, ids, routing, snapshot, transform
from hookline.core.errors import Invalid
from hookline.core.models import JSON, BulkJob, DeliveryStatus, Event, Route, RouteState
from hookline.service import objects
from hookline.service.context import Context
from hookline.storage import bulk_jobs, records
from hookline.storage.bulk_jobs import Lease, Progress, ReplayScope, ResendScope

RESEND, REPLAY = "resend", "replay"
BATCH = 500
RESENDABLE = (DeliveryStatus.FAILED, DeliveryStatus.CANCELED, DeliveryStatus.SUCCESS)
DEFAULT_RESEND = (DeliveryStatus.FAILED.value, DeliveryStatus.CANCELED.value)


def subscribed_types(patterns: list[str], *, entitlements: bool) -> list[str]:
    """The concrete event types a route receives. hookline's own notices (``hookline.*``) go only to routes
    that name them, not to ``*`` routes (see ``catalog``), so a replay or a test sends them no others."""
    return [
        name
        for name in routing.expand(patterns, entitlements=entitlements)
        if not catalog.is_operational(name)
        or name in patterns
        or f"{catalog.OPERATIONAL_FAMILY}.*" in patterns
    ]


async def usable_route(ctx: Context, merchant_id: str, route_id: str) -> Route:
    """The route, if deliveries can be made for it now: 404 when missing or foreign, 400 when disabled."""
    route = await records.get(ctx.db, records.ROUTES, merchant_id, route_id)
    if route.state == RouteState.DISABLED:
        raise Invalid(f"route {route_id} is disabled", fields={"route": "disabled"})
    target = await records.get(ctx.db, records.TARGETS, merchant_id, route.target_id)
    if not target.enabled:
        raise Invalid(f"the target of route {route_id} is disabled", fields={"target": "disabled"})
    return route


def _window(since: float | None, until: float | None, now: float) -> tuple[float | None, float]:
    end = now if until is None else min(until, now)
    if since is not None and since >= end:
        raise Invalid(
            "since must be before until (and before now)", fields={"since": "not before until or now"}
        )
    return since, end


def _statuses(wanted: list[str] | None) -> list[str]:
    if not wanted:
        return list(DEFAULT_RESEND)
    bad = [s for s in wanted if s not in RESENDABLE]
    if bad:
        raise Invalid(
            f"only finished deliveries can be resent, not {', '.join(bad)}",
            fields={"status": "one or more of " + ", ".join(RESENDABLE)},
        )
    return list(dict.fromkeys(wanted))


async def _start(ctx: Context, merchant_id: str, route_id: str, kind: str, params: dict[str, Any]) -> BulkJob:
    now = ctx.clock()
    job = BulkJob(
        id=ids.new("job", now=now),
        merchant_id=merchant_id,
        route_id=route_id,
        kind=kind,
        params=params,
        status=bulk_jobs.QUEUED,
        created=now,
        updated=now,
    )
    return await bulk_jobs.create(ctx.db, job)


async def _resend_params(
    ctx: Context,
    merchant_id: str,
    route_id: str,
    status: list[str] | None,
    since: float | None,
    until: float | None,
) -> dict[str, Any]:
    await usable_route(ctx, merchant_id, route_id)
    statuses = _statuses(status)
    start, end = _window(since, until, ctx.clock())
    return {"status": statuses, "since": start, "until": end}


async def start_resend(
    ctx: Context,
    merchant_id: str,
    route_id: str,
    status: list[str] | None = None,
    since: float | None = None,
    until: float | None = None,
) -> BulkJob:
    """Record a bulk resend job for the route (202: the bulk runner does it)."""
    params = await _resend_params(ctx, merchant_id, route_id, status, since, until)
    return await _start(ctx, merchant_id, route_id, RESEND, params)


async def count_resend(
    ctx: Context,
    merchant_id: str,
    route_id: str,
    status: list[str] | None = None,
    since: float | None = None,
    until: float | None = None,
) -> int:
    """How many deliveries ``start_resend`` with the same arguments would resend now (a dry run: the same
    checks, nothing recorded or changed)."""
    params = await _resend_params(ctx, merchant_id, route_id, status, since, until)
    scope = ResendScope(
        merchant_id=merchant_id,
        route_id=route_id,
        statuses=tuple(params["status"]),
        since=params["since"],
        until=params["until"],
    )
    return await bulk_jobs.count_resend(ctx.db, scope)


async def start_replay(
    ctx: Context,
    merchant_id: str,
    route_id: str,
    since: float,
    until: float | None = None,
    *,
    point_in_time: bool = True,
) -> BulkJob:
    """Record a replay job for the route (202: the bulk runner does it)."""
    await usable_route(ctx, merchant_id, route_id)
    start, end = _window(since, until, ctx.clock())
    params = {"since": start, "until": end, "point_in_time": point_in_time}
    return await _start(ctx, merchant_id, route_id, REPLAY, params)


async def count_replay(
    ctx: Context, merchant_id: str, route_id: str, since: float, until: float | None = None
) -> int:
    """How many events ``start_replay`` with the same window would go through now (a dry run: nothing
    recorded or changed). An event that still has an open delivery on the route is counted, and skipped
    when the replay runs, as the job's progress counts it."""
    route = await usable_route(ctx, merchant_id, route_id)
    _, end = _window(since, until, ctx.clock())
    types = tuple(subscribed_types(route.event_types, entitlements=ctx.entitlements))
    scope = ReplayScope(merchant_id=merchant_id, route_id=route_id, types=types, since=since, until=end)
    return await bulk_jobs.count_replay(ctx.db, scope)


async def get(ctx: Context, merchant_id: str, job_id: str) -> BulkJob:
    return await bulk_jobs.get(ctx.db, merchant_id, job_id)


async def page(
    ctx: Context, merchant_id: str, limit: int, cursor: str | None, route_id: str | None = None
) -> list[BulkJob]:
    return await bulk_jobs.page(ctx.db, merchant_id, limit, cursor, route_id)


# ---------------------------------------------------------------------------------------------------------
# Carrying a job out, one batch at a time (called by the bulk runner)


async def run_batch(ctx: Context, lease: Lease, limit: int, lease_s: float) -> Lease | None:
    """Do the next batch of a claimed job and commit it with its progress.

    Returns the renewed lease, or None once the job is finished. Raises ``bulk_jobs.LeaseLost`` when another
    runner took the job over, and a HooklineError (Invalid: the route was disabled or deleted) when the job
    cannot go on.
    """
    job = lease.job
    if job.kind == RESEND:
        return await _resend_batch(ctx, lease, limit, lease_s)
    if job.kind == REPLAY:
        return await _replay_batch(ctx, lease, limit, lease_s)
    raise Invalid(f"unknown job kind {job.kind!r}")


async def _resend_batch(ctx: Context, lease: Lease, limit: int, lease_s: float) -> Lease | None:
    job = lease.job
    params = job.params
    scope = ResendScope(
        merchant_id=job.merchant_id,
        route_id=job.route_id,
        statuses=tuple(params["status"]),
        since=params["since"],
        until=params["until"],
    )
    total = await bulk_jobs.count_resend(ctx.db, scope) if job.total is None else None
    after = await bulk_jobs.resend_batch(ctx.db, lease, scope, limit, ctx.clock(), lease_s, total)
    ctx.wakeup.ring()
    return after


async def _replay_batch(ctx: Context, lease: Lease, limit: int, lease_s: float) -> Lease | None:
    job = lease.job
    route = await records.get(ctx.db, records.ROUTES, job.merchant_id, job.route_id)
    scope = ReplayScope(
        merchant_id=job.merchant_id,
        route_id=job.route_id,
        types=tuple(subscribed_types(route.event_types, entitlements=ctx.entitlements)),
        since=job.params["since"],
        until=job.params["until"],
    )
    total = await bulk_jobs.count_replay(ctx.db, scope) if job.total is None else None
    cursor = job.position
    found = await bulk_jobs.replay_candidates(ctx.db, scope, cursor.get("after"), limit)
    now = ctx.clock()
    replayed = [e.event for e in found]
    # Jobs recorded before replays were point in time have no such parameter: they are.
    as_of = [e.received if job.params.get("point_in_time", True) else None for e in found]
    bodies = await bodies_for(ctx, job.merchant_id, replayed, route, as_of)
    # The bodies may be of the first events only (the batch's shaping budget ran out): the rest are next.
    finished = len(found) < limit and len(bodies) == len(found)
    found = found[: len(bodies)]
    new_id = functools.partial(ids.new, "dlv", now=now)
    rows = [
        d
        for e, body in zip(replayed, bodies, strict=False)
        for d in fanout.plan(e, [route], fanout.built(body), new_id, now)
    ]
    progress = Progress(
        done=len(found),
        cursor={
            "after": [found[-1].received, found[-1].event.id] if found else cursor.get("after"),
            "skipped": cursor.get("skipped", 0),
        },
        finished=finished,
        total=total,
    )
    after, _ = await bulk_jobs.replay_batch(ctx.db, lease, scope, rows, progress, now, lease_s)
    ctx.wakeup.ring()
    return after


async def bodies_for(
    ctx: Context, merchant_id: str, batch: list[Event], route: fanout.Shaping, as_of: Sequence[float | None]
) -> list[fanout.Body]:
    """Each event's body for ``route`` with the route's current settings: snapshot, field selection and
    transformation; (payload, None), or (the untransformed envelope, why the transformation failed).

    The snapshot shows the objects as they were at each event's ``as_of`` time (its acceptance: the
    versions then), or as they are now where that is None.

    Shaped as ingestion shapes (``service/shaping.py``), but as background work: it waits for the
    merchant's share rather than being refused, and when the batch's budget runs out the bodies are those
    of the first events only (the others are the next batch's); an event that alone needs more than an
    event's share gets a failed body, as a failed transformation does.
    """
    families = [e.type.partition(".")[0] for e in batch]
    requests = [
        objects.request(e, snapshot.kinds_for(fanout.columns(route, family)), seq, at)
        for seq, (e, family, at) in enumerate(zip(batch, families, as_of, strict=True))
    ]
    found = await objects.involved(ctx, merchant_id, requests, snapshot.Pending())
    snapshots = [
        snapshot.assemble(f, fanout.columns(route, family)) for f, family in zip(found, families, strict=True)
    ]
    shape = functools.partial(_bodies, batch, snapshots, route)
    return await ctx.shaping.run(merchant_id, shape, transforms=bool(route.transform), background=True)


def _bodies(
    batch: list[Event], snapshots: list[JSON], route: fanout.Shaping, budget: transform.Budget
) -> list[fanout.Body]:
    bodies: list[fanout.Body] = []
    for event, snap in zip(batch, snapshots, strict=True):
        budget.next_event()
        try:
            bodies.append(fanout.body(event, snap, route, budget))
        except transform.OverBudget as exc:
            if not exc.event and bodies:
                break
            bodies.append(fanout.failed(event, snap, str(exc)))
    return bodies
