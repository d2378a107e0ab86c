"""One delivery per route: the body a route gets for an event, and the delivery row that carries it.

Ingestion, replay, test events and hookline's own notices all make deliveries; they make them here, so a
body is shaped the same way (snapshot, field selection, transformation) and a delivery starts in the same
state (held on a halted route; failed at once, never sent, when the route's transformation cannot make a
body) whichever path made it.
"""

from __future__ import annotations

from typing import Any

from hookline import ordering, payloads, snapshot, transform
from hookline.models import JSON, DeliveryStatus, Event, RouteState, Row

MAX_ERROR = 1000  # characters of a transformation's error kept as the delivery's last_error

Body = tuple[bytes, str | None]  # payload bytes, and why the route's transformation failed (None: it did not)


def columns(route: Row, family: str) -> tuple[str, ...]:
    """The route's snapshot columns for this family, in the envelope's order whatever order they were set."""
    ticked = (route["snapshot"] or {}).get(family) or ()
    return tuple(c for c in snapshot.COLUMN_KINDS if c in ticked)


def shaping_key(route: Row, family: str) -> tuple[Any, ...]:
    """Routes with equal keys get byte-identical bodies for one event, so it is built once for them."""
    include, exclude = route.get("fields_include"), route.get("fields_exclude")
    return (
        columns(route, family),
        tuple(include) if include else None,
        tuple(exclude) if exclude else None,
        route.get("transform"),
    )


def body(event: Event, snap: JSON, route: Row, budget: transform.Budget | None = None) -> Body:
    """The route's payload bytes, or the untransformed envelope and why the route's transformation failed.
    A transformation pays its work from ``budget`` too, when given (``transform.OverBudget``)."""
    envelope = payloads.envelope(event, snap)
    try:
        shaped = transform.apply(
            envelope,
            route.get("fields_include"),
            route.get("fields_exclude"),
            route.get("transform"),
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
    delivery_id: str, event: Event, route: Row, built: Body, now: float, *, test: bool = False
) -> Row:
    """The new delivery of ``event`` to ``route``, ready to insert once numbered (``storage.ordering``)
    when its route orders it; test deliveries are never ordered."""
    payload, error = built
    if error is not None:
        # The route's transformation cannot make a body: never sent, visible at once with the reason.
        status, due, completed = DeliveryStatus.FAILED, None, now
    elif route["state"] == RouteState.HALTED:
        status, due, completed = DeliveryStatus.HELD, now, None
    else:
        status, due, completed = DeliveryStatus.PENDING, now, None
    return {
        "id": delivery_id,
        "merchant_id": event.merchant_id,
        "event_id": event.id,
        "event_type": event.type,
        "route_id": route["id"],
        "target_id": route["target_id"],
        "status": status,
        "attempts": 0,
        "attempt_base": 0,
        "next_attempt_at": due,
        "created": now,
        "completed": completed,
        "last_error": error,
        "payload": payload,
        "is_test": test,
        "ordering_key": None if test else ordering.key(route.get("ordering"), event),
        "sequence": None,
    }
