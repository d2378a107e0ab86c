"""Accepting platform events: validate, route, build each delivery's payload, store all at once.

Idempotent on the event id per merchant: the same id with the same body answers as the first time and
creates nothing; the same id with another body is a conflict. A body without an id gets a fresh one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from hookline import catalog, ids, payloads, routing
from hookline.errors import Invalid
from hookline.models import DeliveryStatus, Event, RouteState
from hookline.service.context import Context
from hookline.storage import events
from hookline.storage import routes as route_store
from hookline.storage.records import Row

MAX_BATCH = 500
MAX_CREATED = 253_402_300_799  # 9999-12-31T23:59:59Z: beyond it the BIGINT column and datetime overflow
INDEXED_ID_MAX = 100  # the events.object_id and events.customer_id columns


@dataclass(frozen=True, slots=True)
class Ingested:
    id: str
    deliveries: list[str]
    created: bool


def body_hash(raw: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).hexdigest()


def parse(ctx: Context, merchant_id: str, raw: Any, where: str = "") -> Event:
    """One event from its JSON form, or Invalid naming the field at fault."""
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
    created = raw.get("created")
    if created is not None and (
        isinstance(created, bool) or not isinstance(created, int) or not 0 <= created <= MAX_CREATED
    ):
        raise Invalid(
            f"{where}created must be epoch seconds", fields={where + "created": "not epoch seconds"}
        )
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
    return Event(
        id=event_id or ids.new("evt"),
        merchant_id=merchant_id,
        type=kind,
        created=created if created is not None else int(ctx.clock()),
        object=data["object"],
        context=context,
    )


def _event_row(event: Event, raw: dict[str, Any], now: float) -> Row:
    obj = event.object
    object_id = obj.get("public_id") or obj.get("merchant_user_id")
    customer_id = obj.get("customer") or obj.get("merchant_user_id")
    return {
        "merchant_id": event.merchant_id,
        "id": event.id,
        "type": event.type,
        "created": event.created,
        "received": now,
        "body_hash": body_hash(raw),
        "object_id": str(object_id) if object_id is not None else None,
        "customer_id": str(customer_id) if customer_id is not None else None,
        "object": event.object,
        "context": event.context,
    }


def _deliveries(event: Event, routes: list[Row], now: float) -> list[Row]:
    rows = []
    for route in routes:
        if not routing.matches(route["event_types"], event.type):
            continue
        halted = route["state"] == RouteState.HALTED
        rows.append(
            {
                "id": ids.new("dlv", now=now),
                "merchant_id": event.merchant_id,
                "event_id": event.id,
                "event_type": event.type,
                "route_id": route["id"],
                "target_id": route["target_id"],
                "status": DeliveryStatus.HELD if halted else DeliveryStatus.PENDING,
                "attempts": 0,
                "attempt_base": 0,
                "next_attempt_at": now,
                "created": now,
                "payload": payloads.render(payloads.envelope(event)),
                "is_test": False,
            }
        )
    return rows


async def ingest(ctx: Context, merchant_id: str, raws: list[Any]) -> list[Ingested]:
    """Accept a batch of events (all valid, or none stored) and wake the workers."""
    if not raws or len(raws) > MAX_BATCH:
        raise Invalid(f"send 1 to {MAX_BATCH} events at a time", fields={"events": "1 to 500 events"})
    batch_many = len(raws) > 1
    parsed = [
        parse(ctx, merchant_id, raw, f"events[{i}]." if batch_many else "") for i, raw in enumerate(raws)
    ]
    now = ctx.clock()
    routes = await route_store.for_ingest(ctx.db, merchant_id)
    batch = [
        (_event_row(e, raw, now), _deliveries(e, routes, now)) for e, raw in zip(parsed, raws, strict=True)
    ]
    _no_duplicate_ids(parsed)
    accepted = await events.accept(ctx.db, batch)
    if any(a.created and a.delivery_ids for a in accepted):
        ctx.wakeup.ring()
    return [Ingested(a.event_id, a.delivery_ids, a.created) for a in accepted]


def _no_duplicate_ids(parsed: list[Event]) -> None:
    seen: set[str] = set()
    for event in parsed:
        if event.id in seen:
            raise Invalid(
                f"event id {event.id} appears twice in the batch", fields={"events": "duplicate id"}
            )
        seen.add(event.id)
