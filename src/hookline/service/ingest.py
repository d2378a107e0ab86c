"""Accepting platform events: validate, route, enrich, build each delivery's payload, store all at once.

Idempotent on the event id per merchant: the same id with the same body answers as the first time and
creates nothing; the same id with another body is a conflict. A body without an id gets a fresh one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hookline import telemetry
from hookline.core import catalog, event_schemas, fanout, ids, representations, snapshot, transform
from hookline.core.errors import Invalid
from hookline.core.models import JSON, DeliveryStatus, Event, NewDelivery, Route, Routed
from hookline.core.snapshot import Pending
from hookline.service import merchants, objects
from hookline.service.context import Context
from hookline.storage import events, queue
from hookline.storage import objects as store
from hookline.storage import routes as route_store
from hookline.storage.events import Accepted
from hookline.storage.objects import Stored

MAX_BATCH = 500
MAX_CREATED = 253_402_300_799  # 9999-12-31T23:59:59Z: beyond it the BIGINT column and datetime overflow
INDEXED_ID_MAX = 100  # the events.object_id and events.customer_id columns
RECEIVED_STEP_S = 1e-6  # between the acceptance times of two events of one batch


@dataclass(frozen=True, slots=True)
class Ingested:
    id: str
    deliveries: list[str]
    created: bool


def _created(created: Any, where: str) -> int | None:
    """The event's ``created`` (None: not given), or Invalid."""
    if isinstance(created, float) and created.is_integer():
        created = int(created)  # JSON Schema's integers include 1700000000.0
    if created is not None and (
        isinstance(created, bool) or not isinstance(created, int) or not 0 <= created <= MAX_CREATED
    ):
        raise Invalid(
            f"{where}created must be epoch seconds", fields={where + "created": "not epoch seconds"}
        )
    return created


def parse(
    ctx: Context, merchant_id: str, raw: Any, where: str = "", *, platform_id: str | None = None
) -> Event:
    """One event from its JSON form, or Invalid naming the field at fault.

    ``platform_id`` (the merchant's ``public_id``) fills ``data.object.merchant`` when the event has none,
    in a copy: the body as posted is what a repeat of the event id is compared with.
    """
    if not isinstance(raw, dict):
        raise Invalid(f"{where}an event is a JSON object", fields={where or "body": "not an object"})
    event_id = raw.get("id")
    if event_id is not None and (not isinstance(event_id, str) or not 0 < len(event_id) <= 100):
        raise Invalid(f"{where}id must be a string of 1 to 100 characters", fields={where + "id": "bad id"})
    kind = raw.get("type")
    if not isinstance(kind, str) or catalog.get(kind, entitlements=ctx.entitlements) is None:
        raise Invalid(
            f"{where}unknown event type {kind!r}; see GET /v1/event-types", fields={where + "type": "unknown"}
        )
    created = _created(raw.get("created"), where)
    data = raw.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise Invalid(
            f"{where}data.object must be an object", fields={where + "data.object": "required object"}
        )
    for name in ("public_id", "merchant_user_id", "customer"):
        value = data["object"].get(name)
        if value is not None and len(str(value)) > INDEXED_ID_MAX:
            raise Invalid(
                f"{where}data.object.{name} is longer than {INDEXED_ID_MAX} characters",
                fields={f"{where}data.object.{name}": "too long"},
            )
    context = raw.get("context")
    if context is not None and not isinstance(context, dict):
        raise Invalid(f"{where}context must be an object", fields={where + "context": "not an object"})
    obj = data["object"]
    if platform_id is not None and obj.get("merchant") in (None, ""):
        obj = {**obj, "merchant": platform_id}
    return Event(
        id=event_id or ids.new("evt"),
        merchant_id=merchant_id,
        type=kind,
        created=created if created is not None else int(ctx.clock()),
        object=obj,
        context=context,
        schema_errors=_check_schema(ctx, kind, obj, where),
    )


def _check_schema(ctx: Context, kind: str, obj: JSON, where: str) -> tuple[tuple[str, str], ...]:
    """The object's problems against its type's schema: Invalid naming every failing path (``strict``), or
    the problems to store with the event (``flag``). hookline's own notices are refused later anyway."""
    if catalog.is_operational(kind):
        return ()
    found = event_schemas.problems(kind, obj)
    if found and ctx.event_validation != "flag":
        shown = "; ".join(f"{where}{path}: {detail}" for path, detail in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise Invalid(
            f"{where}data.object does not match the schema of {kind} (GET /v1/event-types/{kind}): "
            f"{shown}{more}",
            fields={where + path: detail for path, detail in found},
        )
    return tuple(found)


def _family(event_type: str) -> str:
    return event_type.partition(".")[0]


@dataclass(frozen=True, slots=True)
class _Matched:
    """The routes an event type goes to, with what is worked out once per type rather than per event."""

    routes: list[Route]
    keys: list[tuple[Any, ...]]  # each route's ``fanout.shaping_key``
    kinds: frozenset[str]  # the object kinds their snapshots need

    @classmethod
    def of(cls, event_type: str, routes: list[Route]) -> _Matched:
        family = _family(event_type)
        mine = fanout.receivers(routes, event_type)
        keys = [fanout.shaping_key(r, family) for r in mine]
        return cls(mine, keys, frozenset().union(*(snapshot.kinds_for(k[0]) for k in keys)))


def received(now: float, seq: int) -> float:
    """When the ``seq``-th event of a batch taken at ``now`` counts as accepted.

    The events of a batch are accepted one after the other, each seeing the objects the ones before it
    wrote: a microsecond apart, so that the versions each one wrote are told apart later (a replay of the
    first sees none of what the second changed).
    """
    return now + seq * RECEIVED_STEP_S


def _own_key(event: Event) -> tuple[str, str] | None:
    """(kind, id) of the object an event is about, as the object store keys it; None: not stored."""
    return snapshot.own_object(_family(event.type), event.object)


def _own_objects(
    parsed: Sequence[tuple[int, Event]], stored: Mapping[tuple[str, str], Stored], now: float
) -> tuple[Pending, list[objects.Written]]:
    """What each event changes in its own object's REST representation, one event after the other: the
    versions to store, and the overlay through which each event sees what it and those before it wrote."""
    pending = Pending()
    written: list[objects.Written] = []
    latest = {key: s.data for key, s in stored.items()}
    for seq, event in parsed:
        key = _own_key(event)
        if key is None:
            continue
        version = representations.apply(latest.get(key), representations.rest_update(key[0], event.object))
        latest[key] = version
        pending.add(seq, *key, version)
        written.append((*key, received(now, seq), version))
    return pending, written


def _deliveries(
    event: Event, matched: _Matched, found: dict[str, dict[str, JSON]], now: float, budget: transform.Budget
) -> list[NewDelivery]:
    """One delivery per route; routes that shape the body alike share one build of it."""
    family = _family(event.type)

    def shape(route: Route) -> fanout.Body:
        return fanout.body(event, snapshot.assemble(found, fanout.columns(route, family)), route, budget)

    new_id = functools.partial(ids.new, "dlv", now=now)
    return fanout.plan(event, matched.routes, shape, new_id, now, keys=matched.keys)


def _shape(
    parsed: list[Event],
    rows: list[events.NewEvent],
    by_type: dict[str, _Matched],
    found: dict[str, dict[str, dict[str, JSON]]],
    now: float,
    budget: transform.Budget,
) -> list[tuple[events.NewEvent, list[NewDelivery]]]:
    """Each event's row and its deliveries, paying the routes' transformations from ``budget``; an event
    accepted before (not in ``found``) gets none."""
    batch: list[tuple[events.NewEvent, list[NewDelivery]]] = []
    for event, row in zip(parsed, rows, strict=True):
        if event.id not in found:
            batch.append((row, []))
            continue
        budget.next_event()
        batch.append((row, _deliveries(event, by_type[event.type], found[event.id], now, budget)))
    return batch


async def ingest(ctx: Context, merchant_id: str, raws: list[Any]) -> list[Ingested]:
    """Accept a batch of events (all valid, or none stored) and wake the workers.

    The payloads are built here, once: each route's snapshot is read from the object store as it is now,
    with the batch's own objects laid over it, and stored with the delivery (a point-in-time copy).
    """
    if not raws or len(raws) > MAX_BATCH:
        raise Invalid(f"send 1 to {MAX_BATCH} events at a time", fields={"events": "1 to 500 events"})
    batch_many = len(raws) > 1
    platform_id = await merchants.public_id_of(ctx, merchant_id)
    parsed = [
        parse(ctx, merchant_id, raw, f"events[{i}]." if batch_many else "", platform_id=platform_id)
        for i, raw in enumerate(raws)
    ]
    _no_duplicate_ids(parsed)
    _none_of_ours(parsed, batch_many)
    # Two posts of the same new event id, or of the first version of one object, raced (PostgreSQL):
    # the loser runs again and finds the winner's rows.
    accepted, waiting = await objects.retry_race(lambda: _store(ctx, merchant_id, parsed, raws))
    if waiting:
        ctx.wakeup.ring()
    telemetry.events_ingested(sum(a.created for a in accepted))
    return [Ingested(a.event_id, a.delivery_ids, a.created) for a in accepted]


async def _store(
    ctx: Context, merchant_id: str, parsed: list[Event], raws: list[Any]
) -> tuple[list[Accepted], bool]:
    """Route, enrich, build and store, in one transaction: the routes and objects read are the ones the
    deliveries are built from, and a request costs one transaction's round trips, not three.

    With a worker in this process (``ctx.dispatch``), the deliveries it has room for are stored leased and
    handed to it after the commit. Also returns whether new deliveries wait in the queue for a claim.
    """
    dispatch = ctx.dispatch
    reserved = 0
    handed: list[tuple[NewDelivery, Routed]] = []
    try:
        async with ctx.db.write() as conn:
            now = ctx.clock()
            pairs = enumerate(zip(parsed, raws, strict=True))
            rows = [events.new(e, raw, received(now, seq)) for seq, (e, raw) in pairs]
            # An event accepted before is answered as then: it changes no object and gets no delivery.
            taken = await events.existing(conn, rows)
            new = [(seq, e) for seq, e in enumerate(parsed) if (merchant_id, e.id) not in taken]
            routed = await route_store.for_ingest(conn, merchant_id)
            routes = [r.route for r in routed]
            # A batch has few event types: routes are matched, and their shaping worked out, once per type.
            by_type = {kind: _Matched.of(kind, routes) for kind in {e.type for _, e in new}}
            stored = await store.current(conn, merchant_id, {k for _, e in new if (k := _own_key(e))})
            pending, written = _own_objects(new, stored, now)
            requests = [objects.request(e, by_type[e.type].kinds, seq) for seq, e in new]
            involved = await objects.involved(ctx, merchant_id, requests, pending, conn=conn)
            found = {e.id: f for (_, e), f in zip(new, involved, strict=True)}
            # Bounded per event, per request and per merchant; off the event loop when a route transforms.
            transforms = any(r.transform for m in by_type.values() for r in m.routes)
            shape = functools.partial(_shape, parsed, rows, by_type, found, now)
            batch = await ctx.shaping.run(merchant_id, shape, transforms=transforms)
            due = _due(batch)
            by_id = {r.route.id: r for r in routed}

            def lease(rows: list[NewDelivery]) -> int:
                """Reserve the worker's room for ``rows`` (the first ones), lease them: how many it took."""
                nonlocal reserved
                assert dispatch is not None
                room = dispatch.reserve(len(rows))
                reserved += room
                for delivery in rows[:room]:
                    delivery.next_attempt_at = now + dispatch.lease_s
                    handed.append((delivery, by_id[delivery.route_id]))
                return room

            if dispatch is not None and due:
                lease(due)
            # An ordered delivery goes at once only if nothing of its key is open before it (``ordering``):
            # that is known once it is numbered, in ``accept``; the others wait for a claim.
            accepted = await events.accept(
                conn, batch, taken, notify=len(handed) < len(due), hand=lease if dispatch else None
            )
            await store.write(conn, objects.writes(merchant_id, stored, written, now))
    except BaseException:
        if dispatch is not None:
            dispatch.settle(reserved, [])
        raise
    created = {d for a in accepted if a.created for d in a.delivery_ids}
    if dispatch is not None:
        until = now + dispatch.lease_s  # what ``lease`` stored as their next_attempt_at
        jobs = [queue.fresh_job(d, r, until, now) for d, r in handed if d.id in created]
        dispatch.settle(reserved, jobs)
    leased = {d.id for d, _ in handed}
    queued = [d for _, rows in batch for d in rows if d.id not in leased]
    return accepted, any(d.id in created and d.status == DeliveryStatus.PENDING for d in queued)


def _due(batch: list[tuple[events.NewEvent, list[NewDelivery]]]) -> list[NewDelivery]:
    """The new unordered deliveries due at once (not held, not failed). An ordered delivery goes at once only
    when nothing of its key is open before it, which ``events.accept`` tells."""
    return [
        d for _, rows in batch for d in rows if d.status == DeliveryStatus.PENDING and d.ordering_key is None
    ]


def _none_of_ours(parsed: list[Event], batch_many: bool) -> None:
    """``hookline.*`` events are hookline's own notices to merchants; nobody else may post them."""
    for i, event in enumerate(parsed):
        if catalog.is_operational(event.type):
            where = f"events[{i}].type" if batch_many else "type"
            raise Invalid(
                f"{event.type} is sent by hookline itself and cannot be posted", fields={where: "reserved"}
            )


def _no_duplicate_ids(parsed: list[Event]) -> None:
    seen: set[str] = set()
    for event in parsed:
        if event.id in seen:
            raise Invalid(
                f"event id {event.id} appears twice in the batch", fields={"events": "duplicate id"}
            )
        seen.add(event.id)
