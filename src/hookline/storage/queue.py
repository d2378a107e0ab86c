"""The delivery queue, which is the deliveries table: claim due rows in batches, record results in batches.

A claim moves ``next_attempt_at`` past a lease instead of taking a lock that outlives the statement: if the
worker dies mid-attempt, the delivery simply becomes due again when the lease runs out (at-least-once). On
PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim side by side without waiting on one
another; SQLite serialises writers, so the same statement is safe there without it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update

from hookline.models import DeliveryStatus, Job, Result
from hookline.retry import RetryPolicy
from hookline.storage import autohalt
from hookline.storage.database import Database
from hookline.storage.tables import attempts, deliveries, routes, targets


async def claim(db: Database, now: float, limit: int, lease_s: float) -> list[Job]:
    """Up to ``limit`` due deliveries, oldest due first, leased to the caller for ``lease_s`` seconds."""
    d = deliveries.c
    due = (
        select(d.id)
        .where(d.status == DeliveryStatus.PENDING, d.next_attempt_at <= now)
        .order_by(d.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim_stmt = (
        update(deliveries)
        .where(d.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + lease_s)
        .returning(
            d.id, d.event_id, d.route_id, d.target_id, d.payload, d.attempts, d.attempt_base, d.created
        )
        .execution_options(synchronize_session=False)
    )
    async with db.write() as conn:
        # RETURNING comes back in no particular order (PostgreSQL): hand them out oldest first, so that a
        # resumed route's held deliveries leave in the order they were accepted.
        claimed = sorted((await conn.execute(claim_stmt)).mappings(), key=lambda r: (r["created"], r["id"]))
        if not claimed:
            return []
        settings = await conn.execute(
            select(
                routes.c.id,
                routes.c.timeout_s,
                routes.c.headers,
                routes.c.retry_initial_interval_s,
                routes.c.retry_max_interval_s,
                routes.c.retry_max_attempts,
                targets.c.url,
                targets.c.signing_key,
                targets.c.expiring_signing_key,
                targets.c.signing_key_expiry,
            )
            .join(targets, targets.c.id == routes.c.target_id)
            .where(routes.c.id.in_({row["route_id"] for row in claimed}))
        )
        by_route = {row["id"]: row for row in settings.mappings()}
    return [_job(row, by_route[row["route_id"]], now) for row in claimed if row["route_id"] in by_route]


def _job(row: Any, route: Any, now: float) -> Job:
    keys = [route["signing_key"].encode()]
    if route["expiring_signing_key"] and (route["signing_key_expiry"] or 0) > now:
        keys.append(route["expiring_signing_key"].encode())
    return Job(
        delivery_id=row["id"],
        event_id=row["event_id"],
        route_id=row["route_id"],
        target_id=row["target_id"],
        url=route["url"],
        payload=bytes(row["payload"]),
        attempts=row["attempts"],
        budget_used=row["attempts"] - row["attempt_base"],
        keys=tuple(keys),
        timeout_s=route["timeout_s"],
        headers=tuple(sorted((route["headers"] or {}).items())),
        retry=RetryPolicy(
            initial_interval_s=route["retry_initial_interval_s"],
            max_interval_s=route["retry_max_interval_s"],
            max_attempts=route["retry_max_attempts"],
        ),
    )


async def release(db: Database, delivery_ids: Sequence[str], at: float) -> None:
    """Give claimed deliveries back, due at ``at``, without counting an attempt."""
    if not delivery_ids:
        return
    async with db.write() as conn:
        await conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(list(delivery_ids)), deliveries.c.status == DeliveryStatus.PENDING)
            .values(next_attempt_at=at)
        )


async def record(
    db: Database,
    results: Sequence[Result],
    *,
    policy: autohalt.Policy | None = None,
    now: float | None = None,
) -> list[autohalt.Halted]:
    """Store a batch of attempts and the new state of their deliveries, in one transaction.

    A delivery is only updated if nobody else attempted it meanwhile (same attempt count) and it is still
    open: a route disabled mid-flight stays canceled, and a halted one stays held unless this attempt
    succeeded. The same transaction keeps the routes' failure streaks and halts the routes that crossed
    their auto-halt threshold (``policy``: the operator's defaults); those are returned.
    """
    if not results:
        return []
    d = deliveries.c
    keep_held = case(
        (
            (d.status == DeliveryStatus.HELD) & (bindparam("b_status") == DeliveryStatus.PENDING),
            DeliveryStatus.HELD,
        ),
        else_=bindparam("b_status"),
    )
    change = (
        update(deliveries)
        .where(
            d.id == bindparam("b_id"),
            d.attempts == bindparam("b_prev"),
            # Spelled out: an IN list would need an expanding parameter, which executemany refuses.
            (d.status == DeliveryStatus.PENDING) | (d.status == DeliveryStatus.HELD),
        )
        .values(
            status=keep_held,
            attempts=bindparam("b_number"),
            next_attempt_at=bindparam("b_next"),
            completed=bindparam("b_completed"),
            last_response_status=bindparam("b_response_status"),
            last_error=bindparam("b_error"),
        )
        .execution_options(synchronize_session=False)
    )
    async with db.write() as conn:
        # Routes first (the lock order of a route change); a halt holds the pending deliveries, which the
        # update below then keeps held.
        halted = await autohalt.track(
            conn, results, policy or autohalt.Policy(), time.time() if now is None else now
        )
        await conn.execute(insert(attempts), [_attempt_row(r) for r in results])
        await conn.execute(change, [_delivery_params(r) for r in results])
    return halted


def _attempt_row(r: Result) -> dict[str, Any]:
    o = r.outcome
    return {
        "id": "att_" + secrets.token_hex(10),
        "delivery_id": r.job.delivery_id,
        "number": r.number,
        "started": o.started,
        "duration_ms": o.duration_ms,
        "request_headers": o.request_headers,
        "response_status": o.status,
        "response_headers": o.response_headers,
        "response_body": o.response_body,
        "error_kind": o.error,
        "error": o.error_detail,
    }


def _delivery_params(r: Result) -> dict[str, Any]:
    return {
        "b_id": r.job.delivery_id,
        "b_prev": r.job.attempts,
        "b_status": r.status.value,
        "b_number": r.number,
        "b_next": r.next_attempt_at,
        "b_completed": r.completed,
        "b_response_status": r.outcome.status,
        "b_error": r.outcome.error_detail,
    }
