"""Per-key ordering as a property: whatever the interleaving of ingests, claims by two workers, failures,
retries, lost leases (a worker killed), halts and resumes, each key's deliveries are numbered 1..n in the
order their events were accepted, never two of one key are out at once, and they end in that order.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from hookline.core import autohalt_policy, fanout, ids
from hookline.core.models import DeliveryStatus, Event, Job, Outcome, Result, RouteState
from hookline.storage import events, migrate, queue, records
from hookline.storage import routes as route_store
from hookline.storage.database import Database
from hookline.storage.tables import deliveries, merchants, routes, targets
from support.events import object_of

LEASE_S = 30.0
RETRY_S = 5.0
KEYS = ("k0", "k1", "k2")
WORKERS = (0, 1)
NEVER_HALT = autohalt_policy.Policy(failures=0)

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.lists(st.sampled_from(KEYS), min_size=1, max_size=4)),
        st.tuples(st.just("claim"), st.sampled_from(WORKERS), st.integers(1, 4)),
        st.tuples(st.just("end"), st.sampled_from(WORKERS), st.sampled_from(["success", "retry", "failed"])),
        st.tuples(st.just("kill"), st.sampled_from(WORKERS)),  # its jobs are lost: leases run out
        st.tuples(st.just("wait")),  # time passes: retries fall due
        st.tuples(st.just("halt")),
        st.tuples(st.just("resume")),
    ),
    max_size=40,
)


@dataclass
class World:
    """One example: its own route, a clock, what each worker holds, what the receiver saw."""

    db: Database
    route: dict[str, Any]
    now: float
    held: dict[int, list[Job]] = field(default_factory=lambda: {w: [] for w in WORKERS})
    accepted: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # key -> delivery ids
    counter: itertools.count[int] = field(default_factory=itertools.count)


async def _setup(db: Database) -> dict[str, Any]:
    """A merchant, a target and an ordered route of its own (each example gets a fresh one)."""
    now = time.time()
    merchant_id, target_id, route_id = ids.new("mer"), ids.new("tgt"), ids.new("rte")
    async with db.write() as conn:
        await conn.execute(insert(merchants).values(id=merchant_id, name="m", created=now))
        await conn.execute(
            insert(targets).values(
                id=target_id,
                merchant_id=merchant_id,
                url="https://x.example/h",
                enabled=True,
                signing_key="k",
                created=now,
                updated=now,
            )
        )
        route = {
            "id": route_id,
            "merchant_id": merchant_id,
            "name": "r",
            "target_id": target_id,
            "event_types": ["*"],
            "state": RouteState.ACTIVE.value,
            "snapshot": {},
            "retry_initial_interval_s": RETRY_S,
            "retry_max_interval_s": RETRY_S,
            "retry_max_attempts": 100,
            "timeout_s": 5.0,
            "headers": {},
            "created": now,
            "updated": now,
            "ordering": "object",
            "auto_halt_failures": 0,
        }
        await conn.execute(insert(routes).values(**route))
    return route


async def _ingest(world: World, keys: list[str]) -> None:
    """One batch of events (one transaction), about the objects ``keys``, in that order."""
    route = await records.get(world.db, records.ROUTES, world.route["merchant_id"], world.route["id"])
    batch = []
    for key in keys:
        n = next(world.counter)
        event = Event(f"e{n}", route.merchant_id, "order.reminder", 1, object_of("order.reminder", key), None)
        body = fanout.body(event, {}, route)
        delivery = fanout.delivery(ids.new("dlv", now=world.now), event, route, body, world.now)
        row = events.new(event, {"id": event.id}, world.now)
        batch.append((row, [delivery]))
        world.accepted[key].append(delivery.id)
    async with world.db.write() as conn:
        await events.accept(conn, batch, {})


async def _open_first(world: World) -> dict[str, int]:
    """The lowest number of each key's open (pending or held) deliveries."""
    d = deliveries.c
    query = select(d.ordering_key, d.sequence).where(
        d.route_id == world.route["id"], d.status.in_([DeliveryStatus.PENDING, DeliveryStatus.HELD])
    )
    async with world.db.read() as conn:
        rows = (await conn.execute(query)).all()
    first: dict[str, int] = {}
    for key, number in rows:
        first[key] = min(first.get(key, number), number)
    return first


def _number(job: Job) -> tuple[str, int]:
    headers = dict(job.headers)
    return headers["Hookline-Ordering-Key"], int(headers["Hookline-Sequence"])


async def _claim(world: World, worker: int, limit: int) -> None:
    got = await queue.claim(world.db, world.now, limit, LEASE_S)
    first = await _open_first(world)
    # A resumed route's deliveries are due at once, a leased one too: the same delivery may go out twice
    # (at least once), but never two deliveries of one key.
    out = {_number(j)[0]: j.delivery_id for held in world.held.values() for j in held}
    for job in got:
        key, number = _number(job)
        assert number == first[key], f"{key} #{number} claimed before #{first[key]}"
        assert out.setdefault(key, job.delivery_id) == job.delivery_id, f"two deliveries of {key} out at once"
    world.held[worker].extend(got)


async def _end(world: World, worker: int, how: str) -> None:
    if not world.held[worker]:
        return
    job = world.held[worker].pop(0)
    status = {"success": DeliveryStatus.SUCCESS, "failed": DeliveryStatus.FAILED}.get(
        how, DeliveryStatus.PENDING
    )
    code = 200 if status == DeliveryStatus.SUCCESS else 500
    outcome = Outcome(started=world.now, duration_ms=1.0, request_headers={}, status=code)
    done = None if status == DeliveryStatus.PENDING else world.now
    retry_at = world.now + RETRY_S if status == DeliveryStatus.PENDING else None
    await queue.record(
        world.db, [Result(job, outcome, status, retry_at, done)], policy=NEVER_HALT, now=world.now
    )


async def _move(world: World, state: RouteState) -> None:
    await route_store.change(
        world.db, world.route["merchant_id"], world.route["id"], {"state": state}, world.now
    )


async def _run(world: World, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        world.now += 0.01
        if op[0] == "ingest":
            await _ingest(world, op[1])
        elif op[0] == "claim":
            await _claim(world, op[1], op[2])
        elif op[0] == "end":
            await _end(world, op[1], op[2])
        elif op[0] == "kill":
            world.held[op[1]] = []
            world.now += LEASE_S + 1  # its leases run out
            # Anything held longer than a lease is lost by the other worker too (as after a stall).
            world.held = {
                w: [j for j in jobs if j.leased_until > world.now] for w, jobs in world.held.items()
            }
        elif op[0] == "wait":
            world.now += RETRY_S + 0.5
            world.held = {
                w: [j for j in jobs if j.leased_until > world.now] for w, jobs in world.held.items()
            }
        else:
            await _move(world, RouteState.HALTED if op[0] == "halt" else RouteState.ACTIVE)


async def _drain(world: World) -> None:
    """Resume, then let one worker send everything (losing what the others held)."""
    await _move(world, RouteState.ACTIVE)
    world.held = {w: [] for w in WORKERS}
    world.now += LEASE_S + 1
    for _ in range(200):
        await _claim(world, 0, 50)
        if not world.held[0]:
            break
        while world.held[0]:
            await _end(world, 0, "success")
        world.now += 0.01
    assert not world.held[0], "the queue did not drain"


async def _example(db_url: str, ops: list[tuple[Any, ...]]) -> None:
    db = Database(db_url)
    try:
        world = World(db, await _setup(db), time.time() + 1)
        await _run(world, ops)
        await _drain(world)
        d = deliveries.c
        async with db.read() as conn:
            query = select(d.id, d.ordering_key, d.sequence, d.completed).where(
                d.route_id == world.route["id"]
            )
            stored = {row.id: row for row in await conn.execute(query)}
        for key, made in world.accepted.items():
            # Numbered 1..n in the order the events were accepted, and ended in that order.
            assert [(stored[i].ordering_key, stored[i].sequence) for i in made] == [
                (key, n) for n in range(1, len(made) + 1)
            ]
            assert all(stored[i].completed is not None for i in made), f"{key} did not drain"
            ended = sorted(made, key=lambda i: stored[i].completed)
            assert ended == made, f"{key} ended out of order"
    finally:
        await db.close()


_MIGRATED: set[str] = set()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_each_key_is_numbered_and_ended_in_acceptance_order(db_url: str, ops: list[tuple[Any, ...]]) -> None:
    if db_url not in _MIGRATED:
        asyncio.run(_migrated(db_url))
        _MIGRATED.add(db_url)
    asyncio.run(_example(db_url, ops))


async def _migrated(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate.upgrade(db)
    finally:
        await db.close()
