"""Previewing a route's payload: the body its receiver would get for an event, built and shaped, not stored.

The event is the caller's (in the ``POST /v1/events`` shape, checked by the same parser) or, without one, a
small sample of the route's first event type. The snapshot is the caller's too, or empty: enrichment reads
the object store at ingest time, which a preview must not pretend to know. Settings given with the request
(field selection, transformation) replace the route's saved ones, so a change can be tried before it is
saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hookline import catalog, payloads, routing, transform
from hookline.errors import Invalid
from hookline.models import JSON
from hookline.service import ingest, routes
from hookline.service.context import Context

SAMPLE_ID = "evt_preview_sample"
SAMPLE_MERCHANT = "0e5de2bedc5e11e3a2e4bc764e106cf4"  # the merchant id of Ordergroove's own examples
SAMPLE_CUSTOMER = "cust_1001"


@dataclass(frozen=True, slots=True)
class Preview:
    body: bytes
    event_type: str
    sample: bool  # the event was made up, not given


async def preview(
    ctx: Context,
    merchant_id: str,
    route_id: str,
    event: Any = None,
    snapshot: JSON | None = None,
    overrides: dict[str, Any] | None = None,
) -> Preview:
    """The route's body for ``event`` (a sample without one); Invalid naming ``transform`` when it fails."""
    route = await routes.get(ctx, merchant_id, route_id)  # a foreign or missing route is NotFound
    settings = {name: route[name] for name in routes.SHAPING}
    settings.update(routes.check_shaping(overrides or {}))
    raw = event if event is not None else sample_event(first_type(ctx, route["event_types"]), ctx.clock())
    parsed = ingest.parse(ctx, merchant_id, raw, "event." if event is not None else "")
    envelope = payloads.envelope(parsed, snapshot or {})
    try:
        body = transform.apply(
            envelope, settings["fields_include"], settings["fields_exclude"], settings["transform"]
        )
    except transform.Failed as exc:
        raise Invalid(f"the route's transformation failed: {exc}", fields={"transform": str(exc)}) from None
    return Preview(body=body, event_type=parsed.type, sample=event is None)


def first_type(ctx: Context, patterns: list[str]) -> str:
    """The route's first event type, a wildcard standing for the first type it selects."""
    for pattern in patterns:
        expanded = routing.expand([pattern], entitlements=ctx.entitlements)
        if expanded:
            return expanded[0]
    return catalog.event_types(entitlements=ctx.entitlements)[0].type


def sample_event(event_type: str, now: float) -> JSON:
    """A small, realistic event of ``event_type`` in the ``POST /v1/events`` shape (``ordergroove.md`` §3)."""
    family = event_type.partition(".")[0]
    created = int(now)
    event: JSON = {
        "id": SAMPLE_ID,
        "type": event_type,
        "created": created,
        "data": {"object": _OBJECTS.get(family, _entitlement)(created)},
    }
    if family == "subscription":
        event["context"] = {"source": "PurchasePOST"}
    return event


def _subscriber(now: int) -> JSON:
    return {
        "type": "subscriber",
        "merchant": SAMPLE_MERCHANT,
        "merchant_user_id": SAMPLE_CUSTOMER,
        "subscription": "sub_2001",
        "subscriptions": [],
        "session_id": "aaaa1111bbbb2222cccc.450125.1299622365",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone_number": "+15555550100",
        "phone_type": 2,
        "phone_type_display": "mobile",
        "live": True,
        "created": now - 86_400 * 90,
        "last_updated": now,
        "extra_data": {},
        "locale": 1,
        "locale_display": "en-us",
    }


def _subscription(now: int) -> JSON:
    return {
        "type": "subscription",
        "merchant": SAMPLE_MERCHANT,
        "public_id": "sub_2001",
        "customer": SAMPLE_CUSTOMER,
        "product": "sku-coffee-1kg",
        "components": [],
        "extra_data": {},
        "quantity": 1,
        "price": None,
        "frequency_days": 30,
        "reminder_days": 5,
        "every": 1,
        "every_period": 3,
        "every_period_display": "Months",
        "cancelled": None,
        "live": True,
        "created": now - 86_400 * 60,
        "updated": now,
        "start_date": "2024-01-15",
        "offer": "off_1",
        "payment": "pay_5001",
        "shipping_address": "adr_6001",
    }


def _order(now: int) -> JSON:
    return {
        "type": "order",
        "merchant": SAMPLE_MERCHANT,
        "public_id": "ord_3001",
        "customer": SAMPLE_CUSTOMER,
        "payment": "pay_5001",
        "shipping_address": "adr_6001",
        "sub_total": "24.00",
        "tax_total": "1.00",
        "shipping_total": "0.00",
        "discount_total": "0.00",
        "total": "25.00",
        "created": now - 86_400 * 25,
        "place": "2024-03-15",
        "cancelled": None,
        "tries": 0,
        "generic_error_count": 0,
        "status": 1,
        "status_display": "Unsent",
        "order_merchant_id": None,
        "rejected_message": None,
        "extra_data": {},
    }


def _item(now: int) -> JSON:
    return {
        "type": "item",
        "merchant": SAMPLE_MERCHANT,
        "public_id": "itm_4001",
        "customer": SAMPLE_CUSTOMER,
        "product": "sku-coffee-1kg",
        "order": "ord_3001",
        "subscription": "sub_2001",
        "offer": "off_1",
        "quantity": 1,
        "price": "24.00",
        "total_price": "24.00",
        "first_placed": None,
        "components": [],
    }


def _entitlement(now: int) -> JSON:
    return {
        "type": "entitlement",
        "merchant": SAMPLE_MERCHANT,
        "customer": SAMPLE_CUSTOMER,
        "entitlements": [
            {"public_id": "ent_7001", "product": "sku-digital", "expiration": now + 86_400 * 30}
        ],
    }


_OBJECTS = {"subscriber": _subscriber, "subscription": _subscription, "order": _order, "item": _item}
