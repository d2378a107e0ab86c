"""Previewing a route's payload: the body its receiver would get for an event, built and shaped, not stored.

The route settings are a saved route's, with the shaping settings given in the request laid over them
(:func:`settings`), so a change can be tried before it is saved; or those of a route still being written
(the dashboard's create form). The body is built as ingestion builds it (``fanout.body``).

The event is the caller's (in the ``POST /v1/events`` shape, checked by the same parser) with the caller's
snapshot or none: enrichment reads the object store at ingest time, which a preview must not pretend to
know. Or it is an event hookline accepted earlier (:func:`stored`), whose snapshot is built as a replay
builds it: from the objects as they were when that event was accepted. Without an event, it is a
realistic sample about the merchant's test-event customer (``hookline.core.samples``, the customer test events
are about), with the snapshot the route's matrix asks for.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from dataclasses import dataclass
from typing import Any

from hookline.core import catalog, fanout, routing, samples
from hookline.core.errors import Invalid
from hookline.core.models import JSON, Event, Route
from hookline.service import ingest, recovery, routes
from hookline.service.context import Context
from hookline.storage import events


@dataclass(frozen=True, slots=True)
class Draft:
    """A route's settings being tried out (the dashboard's form), before they are saved."""

    event_types: list[str]
    snapshot: JSON
    fields_include: list[str] | None = None
    fields_exclude: list[str] | None = None
    transform: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    body: bytes
    event_type: str
    sample: bool  # the event was made up, not given


async def settings(
    ctx: Context, merchant_id: str, route_id: str, tried: dict[str, Any] | None = None
) -> Route:
    """The saved route's settings with the shaping settings in ``tried`` (checked) over them; NotFound for
    a foreign or missing route."""
    route = await routes.get(ctx, merchant_id, route_id)
    return dataclasses.replace(route, **routes.check_shaping(tried or {}))


async def preview(
    ctx: Context,
    merchant_id: str,
    route: Route | Draft,
    event: Any = None,
    snapshot: JSON | None = None,
    *,
    event_type: str | None = None,
) -> Preview:
    """The body for ``event`` under the ``route`` settings (``event_types``, ``snapshot`` and the shaping
    ones); without an event, for a sample of ``event_type`` (by default the route's first type). Invalid
    naming ``transform`` when the route's transformation fails."""
    if event is not None:
        parsed, snap = ingest.parse(ctx, merchant_id, event, "event."), snapshot or {}
    else:
        parsed, sampled = sample(ctx, merchant_id, route, event_type or first_type(ctx, route.event_types))
        snap = sampled if snapshot is None else snapshot
    # As ingestion shapes: within a request's budget, and off the event loop when the route transforms.
    shape = functools.partial(fanout.body, parsed, snap, route)
    body, error = await ctx.shaping.run(merchant_id, shape, transforms=bool(route.transform))
    if error is not None:
        raise Invalid(f"the route's transformation failed: {error}", fields={"transform": error})
    return Preview(body=body, event_type=parsed.type, sample=event is None)


async def stored(ctx: Context, merchant_id: str, route: Route, event_id: str) -> Preview:
    """The body for the accepted event ``event_id`` under the ``route`` settings, its snapshot as of the
    event's acceptance; NotFound for an unknown (or another merchant's) event, Invalid naming ``transform``
    when the route's transformation fails."""
    stored_event = await events.get(ctx.db, merchant_id, event_id)
    event = stored_event.event
    [(body, error)] = await recovery.bodies_for(ctx, merchant_id, [event], route, [stored_event.received])
    if error is not None:
        raise Invalid(f"the route's transformation failed: {error}", fields={"transform": error})
    return Preview(body=body, event_type=event.type, sample=False)


def sample(ctx: Context, merchant_id: str, route: fanout.Shaping, event_type: str) -> tuple[Event, JSON]:
    """A realistic event of ``event_type`` about the merchant's test-event customer, and its snapshot with
    the route's columns."""
    # Seeded from the merchant id as test events are: the same customer, products and ids every time.
    graph = samples.sample_graph(random.Random(merchant_id), merchant=merchant_id, now=int(ctx.clock()))
    graph = samples.at_event(graph, event_type)
    raw = samples.sample_event(event_type, random.Random(event_type), graph)
    family = event_type.partition(".")[0]
    snapshot = samples.sample_snapshot(family, fanout.columns(route, family), graph)
    return ingest.parse(ctx, merchant_id, raw), snapshot


def first_type(ctx: Context, patterns: list[str]) -> str:
    """The route's first event type, a wildcard standing for the first type it selects."""
    for pattern in patterns:
        expanded = routing.expand([pattern], entitlements=ctx.entitlements)
        if expanded:
            return expanded[0]
    return catalog.event_types(entitlements=ctx.entitlements)[0].type
