"""The delivery queue, which is the deliveries table: claim due rows in batches, record results in batches.

A claim moves ``next_attempt_at`` past a lease instead of taking a lock that outlives the statement: if the
worker dies mid-attempt, the delivery simply becomes due again when the lease runs out (at-least-once). On
PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim side by side without waiting on one
another; SQLite serialises writers, so the same statement is safe there without it.

A delivery of a route with per-key ordering is claimed only when it is the first open one of its key, and
its end makes the next one due (``storage.ordering``).
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, case, select, tuple_, update

from hookline.core import autohalt_policy, keypairs, redaction
from hookline.core import ordering as keyed
from hookline.core.models import DeliveryStatus, Job, NewDelivery, Result, Routed, RouteState, Signer
from hookline.core.retry import RetryPolicy
from hookline.storage import autohalt, bodies, ordering
from hookline.storage import routes as route_store
from hookline.storage.database import Conn, Database, execute_many, insert_rows
from hookline.storage.events import notify_workers
from hookline.storage.lists import none_of, one_of
from hookline.storage.tables import attempts, deliveries, routes


@functools.cache
def _claim_statement(dialect_name: str, skip_targets: bool, skip_routes: bool, only_route: bool) -> Any:
    """Built once for each engine and kind of claim (it runs many times a second; ``lists``)."""
    d = deliveries.c
    due = select(d.id).where(
        d.status == DeliveryStatus.PENDING, d.next_attempt_at <= bindparam("now"), ordering.first_of_its_key()
    )
    if skip_targets:
        due = due.where(none_of(d.target_id, "skip", dialect_name))
    if skip_routes:
        due = due.where(none_of(d.route_id, "skip_routes", dialect_name))
    if only_route:
        due = due.where(d.route_id == bindparam("route"))
    due = (
        due.order_by(d.next_attempt_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    return (
        update(deliveries)
        .where(d.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=bindparam("lease_until"))
        .returning(
            d.id,
            d.event_id,
            d.route_id,
            d.target_id,
            bodies.payload(),
            d.attempts,
            d.attempt_base,
            d.created,
            d.ordering_key,
            d.sequence,
        )
        .execution_options(synchronize_session=False)
    )


@functools.cache
def _settings(dialect_name: str) -> Any:
    """The claimed deliveries' routes with their targets; built once per engine."""
    return route_store.WITH_TARGET.where(one_of(routes.c.id, "route_ids", dialect_name))


async def claim(
    db: Database,
    now: float,
    limit: int,
    lease_s: float,
    skip_targets: Sequence[str] = (),
    *,
    skip_routes: Sequence[str] = (),
    route: str | None = None,
) -> list[Job]:
    """Up to ``limit`` due deliveries, oldest due first, leased to the caller for ``lease_s`` seconds.

    ``skip_targets`` / ``skip_routes``: targets the caller cannot send to now, routes another process sends
    (a listener's, ``storage.listeners``); their deliveries stay in the queue. ``route``: only that route's.
    """
    params: dict[str, Any] = {"now": now, "limit": limit, "lease_until": now + lease_s}
    if skip_targets:
        params["skip"] = list(skip_targets)
    if skip_routes:
        params["skip_routes"] = list(skip_routes)
    if route is not None:
        params["route"] = route
    # Each statement stands alone (``Database.each``): parking only saves work, the lease is one statement,
    # and the routes are read after it as they are then. Two round trips fewer than a transaction.
    async with db.each() as conn:
        statement = _claim_statement(
            conn.dialect.name, bool(skip_targets), bool(skip_routes), route is not None
        )
        # Numbered deliveries that wait behind an earlier one of their key are put aside first, so that
        # the claim below does not read them over and over (``storage.ordering.park``).
        await ordering.park(conn, now)
        # RETURNING comes back in no particular order (PostgreSQL): hand them out oldest first, so that a
        # resumed route's held deliveries leave in the order they were accepted.
        found = await conn.execute(statement, params)
        claimed = sorted(found.mappings(), key=lambda r: (r["created"], r["id"]))
        if not claimed:
            return []
        route_ids = sorted({row["route_id"] for row in claimed})
        settings = await conn.execute(_settings(conn.dialect.name), {"route_ids": route_ids})
        routed = {r.route.id: r for r in map(route_store.routed, settings)}
        await _not_sent(conn, claimed, routed, now)
        by_route = {route_id: _sending(r, now) for route_id, r in routed.items() if _sends(r)}
    lease = params["lease_until"]
    return [
        _job(row, bytes(row["payload"]), by_route[r], lease)
        for row in claimed
        if (r := row["route_id"]) in by_route
    ]


def _sends(routed: Routed) -> bool:
    """Whether deliveries of this route go out now: the route is active, not deleted, its target enabled."""
    route, target = routed.route, routed.target
    return route.deleted is None and target.enabled and route.state == RouteState.ACTIVE


async def _not_sent(conn: Conn, claimed: Sequence[Any], routed: Mapping[str, Routed], now: float) -> None:
    """Claimed deliveries whose route cannot send now stay unsent: held on a halted route, canceled on a
    disabled or deleted one or to a disabled target.

    Changing a route's state or a target's ``enabled`` takes its open deliveries along in the same
    transaction, but on PostgreSQL an ingest that read the route before that change committed can store a
    pending delivery just after it: the claim is where such a delivery is caught, so that a disabled
    endpoint receives nothing and a halted one nothing until it is resumed.
    """
    held: list[str] = []
    canceled: list[str] = []
    for row in claimed:
        found = routed.get(row["route_id"])
        if found is None or _sends(found):
            continue
        halted = found.route.state == RouteState.HALTED and found.route.deleted is None
        (held if halted and found.target.enabled else canceled).append(row["id"])
    d = deliveries.c
    if held:
        await route_store.hold_pending(conn, d.id.in_(held))
    if canceled:
        await route_store.cancel_open(conn, d.id.in_(canceled), now)


@dataclass(frozen=True, slots=True)
class _Sending:
    """What a route's deliveries share: worked out once per route and claim, not once per delivery."""

    url: str
    keys: tuple[bytes, ...]
    signers: tuple[Signer, ...]
    timeout_s: float
    headers: tuple[tuple[str, str], ...]
    retry: RetryPolicy
    destination: tuple[tuple[str, Any], ...]
    auth: str | None  # sealed endpoint credentials, opened by the worker only


def fresh_job(delivery: NewDelivery, routed: Routed, leased_until: float, now: float) -> Job:
    """The job of a delivery just stored already leased (``models.Dispatch``), to ``routed``'s target."""
    return _job(bodies.row(delivery, delivery.id), delivery.payload, _sending(routed, now), leased_until)


def _sending(routed: Routed, now: float) -> _Sending:
    """Keys newest first: the expiring ones while the rotation window lasts."""
    route, target = routed.route, routed.target
    keys = [target.signing_key.encode()]
    private = [target.ed25519_private_key]
    if target.expiring_signing_key and target.in_rotation(now):
        keys.append(target.expiring_signing_key.encode())
        private.append(target.expiring_ed25519_private_key)
    return _Sending(
        url=target.url,
        keys=tuple(keys),
        # None: a target created by a process still running the code before migration 0007 (a rolling
        # upgrade) has no key pair until its next rotation, nor had the expiring key of a window open at
        # that migration. Such a target is sent without ``v1a``, as before.
        signers=tuple(keypairs.signer(key) for key in private if key),
        timeout_s=route.timeout_s,
        headers=tuple(sorted(route.headers.items())),
        retry=route.retry,
        destination=tuple(sorted((target.destination or {}).items())),
        auth=(target.auth or {}).get("sealed"),
    )


def _job(row: Any, payload: bytes, sending: _Sending, leased_until: float) -> Job:
    return Job(
        delivery_id=row["id"],
        event_id=row["event_id"],
        route_id=row["route_id"],
        target_id=row["target_id"],
        url=sending.url,
        payload=payload,
        attempts=row["attempts"],
        budget_used=row["attempts"] - row["attempt_base"],
        keys=sending.keys,
        timeout_s=sending.timeout_s,
        # An ordered delivery's key and number come last: a route's own headers cannot hide them.
        headers=sending.headers + keyed.headers(row.get("ordering_key"), row.get("sequence")),
        retry=sending.retry,
        leased_until=leased_until,
        signers=sending.signers,
        destination=sending.destination,
        auth=sending.auth,
        ordering_key=row.get("ordering_key"),
        sequence=row.get("sequence"),
    )


# A handed-back delivery is due again at ``at``, unless its lease is no longer the one this claim took.
_RELEASE = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("b_id"),
        deliveries.c.status == DeliveryStatus.PENDING,
        deliveries.c.next_attempt_at == bindparam("b_leased"),
    )
    .values(next_attempt_at=bindparam("b_at"))
    .execution_options(synchronize_session=False)
)


async def release(db: Database, jobs: Sequence[tuple[Job, float]]) -> None:
    """Give claimed deliveries back, each due at its time, without counting an attempt.

    Only while the claim's lease holds: a delivery whose lease ran out may have been claimed (and sent) by
    another worker since, and handing it back then would send it once more.
    """
    if not jobs:
        return
    rows = [{"b_id": job.delivery_id, "b_leased": job.leased_until, "b_at": at} for job, at in jobs]
    async with db.write() as conn:
        await execute_many(conn, _RELEASE, rows)


async def extend(db: Database, jobs: Sequence[Job], until: float) -> dict[str, float]:
    """Extend the leases of claimed deliveries to ``until``; the ones extended, with their new lease.

    Only where the claim's lease still holds (``next_attempt_at`` is still ``job.leased_until``, even if it
    passed): a delivery another worker has claimed since is theirs. Used while a worker waits to record the
    outcomes of these deliveries, so that nobody sends them again meanwhile.
    """
    if not jobs:
        return {}
    d = deliveries.c
    held = [(job.delivery_id, job.leased_until) for job in jobs]
    async with db.write() as conn:
        found = await conn.execute(
            update(deliveries)
            .where(
                tuple_(d.id, d.next_attempt_at).in_(held),
                (d.status == DeliveryStatus.PENDING) | (d.status == DeliveryStatus.HELD),
            )
            .values(next_attempt_at=until)
            .returning(d.id)
            .execution_options(synchronize_session=False)
        )
        return dict.fromkeys(found.scalars(), until)


_KEEP_HELD = case(
    (
        (deliveries.c.status == DeliveryStatus.HELD) & (bindparam("b_status") == DeliveryStatus.PENDING),
        DeliveryStatus.HELD,
    ),
    else_=bindparam("b_status"),
)
# The new state of one attempted delivery (one row of ``record``'s executemany).
_CHANGE = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("b_id"),
        deliveries.c.attempts == bindparam("b_prev"),
        # Spelled out: an IN list would need an expanding parameter, which executemany refuses.
        (deliveries.c.status == DeliveryStatus.PENDING) | (deliveries.c.status == DeliveryStatus.HELD),
    )
    .values(
        status=_KEEP_HELD,
        attempts=bindparam("b_number"),
        next_attempt_at=bindparam("b_next"),
        completed=bindparam("b_completed"),
        last_response_status=bindparam("b_response_status"),
        last_error=bindparam("b_error"),
    )
    .execution_options(synchronize_session=False)
)


async def record(
    db: Database,
    results: Sequence[Result],
    *,
    policy: autohalt_policy.Policy | None = None,
    now: float | None = None,
    again: bool = False,
    clean: bool = False,
) -> list[autohalt.Halted]:
    """Store a batch of attempts and the new state of their deliveries, in one transaction.

    A delivery is only updated if nobody else attempted it meanwhile (same attempt count) and it is still
    open: a route disabled mid-flight stays canceled, and a halted one stays held unless this attempt
    succeeded. The same transaction keeps the routes' failure streaks and halts the routes that crossed
    their auto-halt threshold (``policy``: the operator's defaults); those are returned.

    ``again``: an earlier call with these results failed, perhaps after its commit (the answer to a commit can
    be lost with the connection): the results already stored are left out, so no attempt is stored twice.
    ``clean``: an earlier call failed on the values themselves: text the database cannot store (a NUL, an
    unpaired surrogate from a target's bytes) is replaced, so that the outcome is stored all the same.
    """
    if not results:
        return []
    async with db.write() as conn:
        if again:
            results = await _not_stored(conn, results)
            if not results:
                return []
        # Routes first (the lock order of a route change); a halt holds the pending deliveries, which the
        # update below then keeps held.
        halted = await autohalt.track(
            conn, results, policy or autohalt_policy.Policy(), time.time() if now is None else now
        )
        await insert_rows(conn, attempts, [_attempt_row(r, clean) for r in results])
        await execute_many(conn, _CHANGE, [_delivery_params(r, clean) for r in results])
        ended = [r for r in results if _releases(r)]
        if ended:
            await ordering.release_next(conn, [_next_params(r) for r in ended])
            await notify_workers(conn)  # the next delivery of a key is due: other workers need not poll
    return halted


async def _not_stored(conn: Conn, results: Sequence[Result]) -> list[Result]:
    """The results whose attempt is not stored yet (an attempt is its delivery, number and start)."""
    a = attempts.c
    found = await conn.execute(
        select(a.delivery_id, a.number, a.started).where(
            a.delivery_id.in_(sorted({r.job.delivery_id for r in results}))
        )
    )
    stored = {(row.delivery_id, row.number, row.started) for row in found}
    return [r for r in results if (r.job.delivery_id, r.number, r.outcome.started) not in stored]


def releases(results: Sequence[Result]) -> bool:
    """Whether some of ``results`` end a numbered delivery, which makes the next one of its key due."""
    return any(_releases(r) for r in results)


def _releases(r: Result) -> bool:
    return r.job.sequence is not None and r.status != DeliveryStatus.PENDING


def _next_params(r: Result) -> dict[str, Any]:
    return {
        "n_route": r.job.route_id,
        "n_key": r.job.ordering_key,
        "n_sequence": r.job.sequence,
        "n_ended": r.job.delivery_id,
        "n_completed": r.completed,
        "n_now": r.completed,
    }


def _attempt_row(r: Result, clean: bool) -> dict[str, Any]:
    o = r.outcome
    sent = redaction.recorded(o.request_headers)
    row = {
        "id": "att_" + secrets.token_hex(10),
        "delivery_id": r.job.delivery_id,
        "number": r.number,
        "started": o.started,
        "duration_ms": o.duration_ms,
        "request_headers": sent,
        "response_status": o.status,
        "response_headers": o.response_headers,
        "response_body": o.response_body,
        "error_kind": o.error,
        "error": o.error_detail,
    }
    if clean:
        row["request_headers"] = {_storable(k): _storable(v) for k, v in sent.items()}
        row["response_headers"] = {_storable(k): _storable(v) for k, v in o.response_headers.items()}
        row["response_body"] = _storable(o.response_body)
        row["error"] = _storable(o.error_detail)
    return row


def _storable(text: Any) -> Any:
    """``text`` as any database stores it: NUL and unpaired surrogates (undecodable bytes) replaced."""
    if not isinstance(text, str):
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\x00", "\ufffd")


def _delivery_params(r: Result, clean: bool) -> dict[str, Any]:
    return {
        "b_id": r.job.delivery_id,
        "b_prev": r.job.attempts,
        "b_status": r.status.value,
        "b_number": r.number,
        "b_next": r.next_attempt_at,
        "b_completed": r.completed,
        "b_response_status": r.outcome.status,
        "b_error": _storable(r.outcome.error_detail) if clean else r.outcome.error_detail,
    }
