"""The delivery queue, which is the deliveries table: claim due rows in batches, record results in batches.

A claim moves ``next_attempt_at`` past a lease instead of taking a lock that outlives the statement: if the
worker dies mid-attempt, the delivery simply becomes due again when the lease runs out (at-least-once). On
PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim side by side without waiting on one
another; SQLite serialises writers, so the same statement is safe there without it.

A delivery of a route with per-key ordering is claimed only when it is the first open one of its key, and
its end makes the next one due (``storage.ordering``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, bindparam, case, select, tuple_, update

from hookline import keypairs
from hookline import ordering as keyed
from hookline.models import DeliveryStatus, Job, Result, Signer
from hookline.retry import RetryPolicy
from hookline.storage import autohalt, ordering
from hookline.storage.database import Conn, Database, execute_many, insert_rows
from hookline.storage.events import notify_workers
from hookline.storage.tables import attempts, deliveries, routes, targets


def _claim_statement(skipping: bool) -> Any:
    d = deliveries.c
    due = select(d.id).where(
        d.status == DeliveryStatus.PENDING, d.next_attempt_at <= bindparam("now"), ordering.first_of_its_key()
    )
    if skipping:
        due = due.where(d.target_id.not_in(bindparam("skip", expanding=True)))
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
            d.payload,
            d.attempts,
            d.attempt_base,
            d.created,
            d.ordering_key,
            d.sequence,
        )
        .execution_options(synchronize_session=False)
    )


# The claim runs many times a second: its statements are built once (by whether targets are skipped).
_CLAIM = {skipping: _claim_statement(skipping) for skipping in (False, True)}
_SETTINGS = (
    select(
        routes.c.id,
        routes.c.timeout_s,
        routes.c.headers,
        routes.c.retry_initial_interval_s,
        routes.c.retry_max_interval_s,
        routes.c.retry_max_attempts,
        targets.c.url,
        targets.c.destination,
        targets.c.signing_key,
        targets.c.expiring_signing_key,
        targets.c.signing_key_expiry,
        targets.c.ed25519_private_key,
        targets.c.expiring_ed25519_private_key,
        targets.c.auth,
    )
    .join(targets, targets.c.id == routes.c.target_id)
    .where(routes.c.id.in_(bindparam("route_ids", expanding=True)))
)


async def claim(
    db: Database, now: float, limit: int, lease_s: float, skip_targets: Sequence[str] = ()
) -> list[Job]:
    """Up to ``limit`` due deliveries, oldest due first, leased to the caller for ``lease_s`` seconds.

    ``skip_targets``: targets the caller cannot send to now; their deliveries stay in the queue.
    """
    params: dict[str, Any] = {"now": now, "limit": limit, "lease_until": now + lease_s}
    if skip_targets:
        params["skip"] = list(skip_targets)
    async with db.write() as conn:
        # Numbered deliveries that wait behind an earlier one of their key are put aside first, so that
        # the claim below does not read them over and over (``storage.ordering.park``).
        await ordering.park(conn, now)
        # RETURNING comes back in no particular order (PostgreSQL): hand them out oldest first, so that a
        # resumed route's held deliveries leave in the order they were accepted.
        found = await conn.execute(_CLAIM[bool(skip_targets)], params)
        claimed = sorted(found.mappings(), key=lambda r: (r["created"], r["id"]))
        if not claimed:
            return []
        route_ids = sorted({row["route_id"] for row in claimed})
        settings = await conn.execute(_SETTINGS, {"route_ids": route_ids})
        by_route = {row["id"]: _sending(row, now) for row in settings.mappings()}
    lease = params["lease_until"]
    return [_job(row, by_route[r], lease) for row in claimed if (r := row["route_id"]) in by_route]


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


def fresh_job(delivery: Any, route: Any, leased_until: float, now: float) -> Job:
    """The job of a delivery just stored already leased (``models.Dispatch``); ``route`` as ``for_ingest``
    gives it, with its target's URL and keys."""
    return _job(delivery, _sending(route, now), leased_until)


def _sending(route: Any, now: float) -> _Sending:
    """Keys newest first: the expiring ones while the rotation window lasts."""
    in_window = bool(route["expiring_signing_key"]) and (route["signing_key_expiry"] or 0) > now
    keys = [route["signing_key"].encode()]
    private = [route["ed25519_private_key"]]
    if in_window:
        keys.append(route["expiring_signing_key"].encode())
        private.append(route["expiring_ed25519_private_key"])
    return _Sending(
        url=route["url"],
        keys=tuple(keys),
        # None: a target created by a process still running the code before migration 0007 (a rolling
        # upgrade) has no key pair until its next rotation, nor had the expiring key of a window open at
        # that migration. Such a target is sent without ``v1a``, as before.
        signers=tuple(keypairs.signer(key) for key in private if key),
        timeout_s=route["timeout_s"],
        headers=tuple(sorted((route["headers"] or {}).items())),
        retry=RetryPolicy(
            initial_interval_s=route["retry_initial_interval_s"],
            max_interval_s=route["retry_max_interval_s"],
            max_attempts=route["retry_max_attempts"],
        ),
        destination=tuple(sorted((route["destination"] or {}).items())),
        auth=(route["auth"] or {}).get("sealed"),
    )


def _job(row: Any, sending: _Sending, leased_until: float) -> Job:
    return Job(
        delivery_id=row["id"],
        event_id=row["event_id"],
        route_id=row["route_id"],
        target_id=row["target_id"],
        url=sending.url,
        payload=bytes(row["payload"]),
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
    policy: autohalt.Policy | None = None,
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
            conn, results, policy or autohalt.Policy(), time.time() if now is None else now
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
    row = {
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
    if clean:
        row["request_headers"] = {_storable(k): _storable(v) for k, v in o.request_headers.items()}
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
