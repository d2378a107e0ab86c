"""Test events: realistic fake events delivered to one route, so a merchant can try their receiver.

Each request sends one event per chosen type, all about the same fake customer (``core.samples``): the
merchant's graph is seeded from the merchant id, so the customer, products and ids stay the same from one
test to the next, while event ids are new every time (``test_…``, so receivers can tell them apart). Bodies
carry the snapshot the route's settings ask for, go through the route's field selection and
transformation, and are signed and retried like any delivery; the deliveries are marked ``is_test``
(``"test": true``).

Test events are not stored as events: they would show in ``GET /v1/events``, be swept up by a replay and
turn up in customer searches, all about a customer who does not exist. Their deliveries keep the full body
and are listed with ``GET /v1/deliveries?event_id=test_…`` like any other.
"""

from __future__ import annotations

import functools
import random
import secrets
from dataclasses import dataclass
from itertools import zip_longest

from hookline.core import catalog, fanout, ids, routing, samples, transform
from hookline.core.errors import Invalid
from hookline.core.models import Event, NewDelivery, Route
from hookline.service import recovery
from hookline.service.context import Context
from hookline.storage import bulk_jobs

MAX_EVENTS = 20


@dataclass(frozen=True, slots=True)
class Sent:
    deliveries: list[str]
    events: list[str]


def choose_types(patterns: list[str], wanted: list[str] | None, *, entitlements: bool) -> list[str]:
    """The event types to send: those asked for (names or wildcards), all subscribed to by the route; by
    default every type the route subscribes to, taken from each family in turn, at most ``MAX_EVENTS``."""
    subscribed = recovery.subscribed_types(patterns, entitlements=entitlements)
    if not wanted:
        by_family: dict[str, list[str]] = {}
        for name in subscribed:
            by_family.setdefault(name.split(".", 1)[0], []).append(name)
        spread = [t for group in zip_longest(*by_family.values()) for t in group if t is not None]
        return spread[:MAX_EVENTS]
    asked = routing.validate_patterns(wanted, entitlements=entitlements)
    outside = [name for name in asked if "*" not in name and name not in subscribed]
    if outside:
        raise Invalid(
            f"the route does not subscribe to {', '.join(outside)}",
            fields={"event_types": "not subscribed: " + ", ".join(outside)},
        )
    chosen = [name for name in subscribed if routing.matches(asked, name)]
    if not chosen:
        raise Invalid("the route subscribes to none of these event types", fields={"event_types": "none"})
    if len(chosen) > MAX_EVENTS:
        raise Invalid(
            f"at most {MAX_EVENTS} test events at a time ({len(chosen)} asked for)",
            fields={"event_types": f"more than {MAX_EVENTS} types"},
        )
    return chosen


async def send(ctx: Context, merchant_id: str, route_id: str, event_types: list[str] | None = None) -> Sent:
    """Deliver test events to the route (held if it is halted); 400 if it is disabled, 404 if unknown."""
    route = await recovery.usable_route(ctx, merchant_id, route_id)
    types = choose_types(route.event_types, event_types, entitlements=ctx.entitlements)
    now = ctx.clock()
    # Python seeds a Random from a str through SHA-512: the same merchant gets the same graph everywhere.
    graph = samples.sample_graph(random.Random(merchant_id), merchant=merchant_id, now=int(now))
    rng = random.Random(secrets.randbits(128))
    # Shaped as ingestion shapes: within a request's budget, off the event loop when the route transforms.
    make = functools.partial(_deliveries, merchant_id, route, types, graph, rng, now)
    rows = await ctx.shaping.run(merchant_id, make, transforms=bool(route.transform))
    made = await bulk_jobs.add_test_deliveries(ctx.db, merchant_id, route_id, rows)
    ctx.wakeup.ring()
    return Sent([r.id for r in made], [r.event_id for r in made])


def _deliveries(
    merchant_id: str,
    route: Route,
    types: list[str],
    graph: samples.Graph,
    rng: random.Random,
    now: float,
    budget: transform.Budget,
) -> list[NewDelivery]:
    rows = []
    for name in types:
        budget.next_event()
        rows.append(_delivery(merchant_id, route, name, graph, rng, now, budget))
    return rows


def _delivery(
    merchant_id: str,
    route: Route,
    event_type: str,
    graph: samples.Graph,
    rng: random.Random,
    now: float,
    budget: transform.Budget,
) -> NewDelivery:
    found = catalog.get(event_type, entitlements=True)
    assert found is not None  # chosen from the catalogue
    at = samples.at_event(graph, event_type)
    raw = samples.sample_event(event_type, rng, at)
    snapshot = samples.sample_snapshot(found.family, route.snapshot.get(found.family, []), at)
    event = Event(
        id=raw["id"],
        merchant_id=merchant_id,
        type=event_type,
        created=raw["created"],
        object=raw["data"]["object"],
        context=raw.get("context"),
    )
    built = fanout.body(event, snapshot, route, budget)
    if built[1] is not None:
        raise Invalid(
            f"the route's transformation failed on a {event_type} test event: {built[1]}",
            fields={"transform": built[1]},
        )
    # Pending, or held on a halted route (decided again when stored).
    new_id = functools.partial(ids.new, "dlv", now=now)
    (delivery,) = fanout.plan(event, [route], fanout.built(built), new_id, now, test=True)
    return delivery
