"""One delivery per route: which routes get an event, the body each gets, and the delivery rows.

Ingestion, replay, test events and hookline's own notices all plan their deliveries with ``plan``, so a
body is shaped the same way (snapshot, field selection, transformation), routes that shape alike share one
build of it, and a delivery starts in the same state (held on a halted route; failed at once, never sent,
when the route's transformation cannot make a body) whichever path made it. Pure: storage only writes the
rows planned here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hookline.core import catalog, ordering, payloads, routing, snapshot, transform
from hookline.core.models import JSON, DeliveryStatus, Event, NewDelivery, Route

MAX_ERROR = 1000  # characters of a transformation's error kept as the delivery's last_error

Body = tuple[bytes, str | None]  # payload bytes, and why the route's transformation failed (None: it did not)
Shape = Callable[[Route], Body]  # the body a route gets, built for the first route of each shaping key


def receivers(routes: Sequence[Route], event_type: str, *, exclude: str | None = None) -> list[Route]:
    """The routes that get an event of this type (all but ``exclude``).

    hookline's own notices go only to routes that ask for them by name (``hookline.*`` or the exact type):
    ``*`` alone is not enough (see ``catalog``), and a route excluded (the halted route a halt notice is
    about) cannot feed itself notices.
    """
    if catalog.is_operational(event_type):
        family = event_type.partition(".")[0]
        wanted = (event_type, f"{family}.*")
        chosen = (r for r in routes if any(p in wanted for p in r.event_types))
    else:
        chosen = (r for r in routes if routing.matches(r.event_types, event_type))
    return [r for r in chosen if r.id != exclude]


def plan(
    event: Event,
    routes: Sequence[Route],
    shape: Shape,
    new_id: Callable[[], str],
    now: float,
    *,
    keys: Sequence[tuple[Any, ...]] | None = None,
    test: bool = False,
) -> list[NewDelivery]:
    """The deliveries of ``event`` to ``routes``, one each, named by ``new_id`` (the caller's: the core
    draws no randomness); routes with equal ``shaping_key`` (given in ``keys`` when the caller has them
    already) share the body ``shape`` built for the first of them."""
    if keys is None:
        family = event.type.partition(".")[0]
        keys = [shaping_key(r, family) for r in routes]
    bodies: dict[tuple[Any, ...], Body] = {}
    rows = []
    for route, key in zip(routes, keys, strict=True):
        if key not in bodies:
            bodies[key] = shape(route)
        rows.append(delivery(new_id(), event, route, bodies[key], now, test=test))
    return rows


def built(body: Body) -> Shape:
    """A ``Shape`` for a body built already (every route gets it)."""
    return lambda _route: body


def plain(event: Event) -> Body:
    """The plain envelope, unshaped: the body of hookline's own notices, whatever the route's settings
    (they are written for commerce events, and a notice must not be lost to a transformation that does
    not expect it)."""
    return payloads.render(payloads.envelope(event)), None


def notice(
    event: Event, routes: Sequence[Route], new_id: Callable[[], str], now: float, *, exclude: str | None
) -> list[NewDelivery]:
    """The deliveries of one of hookline's notices (``hookline.*``) among the merchant's ``routes``."""
    chosen = receivers(routes, event.type, exclude=exclude)
    # One body for all: the routes' shaping settings do not apply (nor need to be read).
    return plan(event, chosen, built(plain(event)), new_id, now, keys=[()] * len(chosen))


class Shaping(Protocol):
    """What shapes a route's bodies: a ``models.Route``, or the settings of one being tried out."""

    @property
    def snapshot(self) -> JSON: ...

    @property
    def fields_include(self) -> list[str] | None: ...

    @property
    def fields_exclude(self) -> list[str] | None: ...

    @property
    def transform(self) -> str | None: ...


def columns(route: Shaping, family: str) -> tuple[str, ...]:
    """The route's snapshot columns for this family, in the envelope's order whatever order they were set."""
    ticked = route.snapshot.get(family) or ()
    return tuple(c for c in snapshot.COLUMN_KINDS if c in ticked)


def shaping_key(route: Shaping, family: str) -> tuple[Any, ...]:
    """Routes with equal keys get byte-identical bodies for one event, so it is built once for them."""
    include, exclude = route.fields_include, route.fields_exclude
    return (
        columns(route, family),
        tuple(include) if include else None,
        tuple(exclude) if exclude else None,
        route.transform,
    )


def body(event: Event, snap: JSON, route: Shaping, budget: transform.Budget | None = None) -> Body:
    """The route's payload bytes, or the untransformed envelope and why the route's transformation failed.
    A transformation pays its work from ``budget`` too, when given (``transform.OverBudget``)."""
    envelope = payloads.envelope(event, snap)
    try:
        shaped = transform.apply(
            envelope,
            route.fields_include,
            route.fields_exclude,
            route.transform,
            budget,
        )
    except transform.Failed as exc:
        return failed(event, snap, str(exc))
    return shaped, None


def failed(event: Event, snap: JSON, reason: str) -> Body:
    """The untransformed envelope and why the route could not shape it: its delivery fails at once."""
    return payloads.render(payloads.envelope(event, snap)), (reason or "the transformation failed")[
        :MAX_ERROR
    ]


def delivery(
    delivery_id: str, event: Event, route: Route, built: Body, now: float, *, test: bool = False
) -> NewDelivery:
    """The new delivery of ``event`` to ``route``, ready to insert once numbered (``storage.ordering``)
    when its route orders it; test deliveries are never ordered."""
    payload, error = built
    if error is not None:
        # The route's transformation cannot make a body: never sent, visible at once with the reason.
        status, due, completed = DeliveryStatus.FAILED, None, now
    else:
        status, due, completed = route.due_status, now, None
    return NewDelivery(
        id=delivery_id,
        merchant_id=event.merchant_id,
        event_id=event.id,
        event_type=event.type,
        route_id=route.id,
        target_id=route.target_id,
        status=status,
        next_attempt_at=due,
        created=now,
        completed=completed,
        last_error=error,
        payload=payload,
        is_test=test,
        ordering_key=None if test else ordering.key(route.ordering, event),
    )
