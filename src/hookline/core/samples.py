"""Realistic fake commerce data for test events: one coherent graph per merchant, in Ordergroove's shapes.

A test event is only useful if it looks like the real thing, so every sample is built from one small, coherent
graph: a customer with a shipping and a billing address, a card, two products, a subscription to each, and
an upcoming order holding one item per subscription. The event's ``data.object`` (Ordergroove's webhook
objects, integer epochs) and its ``snapshot`` (the REST representation with ``"YYYY-MM-DD HH:MM:SS"``
times) are two views of the same records, so the ids in one match the ids in the other.

Pure: no I/O, no clock, no randomness of its own. Callers pass a ``random.Random`` and the current time, and
the same seed gives the same graph and the same events.

Which objects an event involves (what its snapshot may carry):

- subscriber (and entitlement) events: the customer, all their subscriptions, those subscriptions' products,
  payments and shipping addresses, and the payments' billing addresses;
- subscription events: the customer, the subscription, its product, its payment, its shipping address and
  the payment's billing address;
- order events: the customer, the order, its items, the items' subscriptions and products, the order's
  payment, its shipping address and the payment's billing address;
- item events: the customer, the item, its order, its subscription and product, the order's payment, its
  shipping address and the payment's billing address.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hookline.core import catalog

JSON = dict[str, Any]
DAY = 86_400
DEFAULT_NOW = 1_700_000_000
DEFAULT_MERCHANT = "0e5de2bedc5e11e3a2e4bc764e106cf4"  # the merchant id of Ordergroove's examples
TEST_PREFIX = "test_"
ONE_CLICK_TOKEN = "one_click_token"  # marked secret in the catalogue
SNAPSHOT_KEYS = ("customer", "orders", "items", "addresses", "payments", "subscriptions", "products")
# Snapshot times are REST-style strings; these are the fields that hold one.
_TIME_FIELDS = ("created", "updated", "last_updated", "last_login", "last_update", "cancelled")

_FIRST = ("Ana", "Ben", "Chloe", "Diego", "Emma", "Farah", "Gus", "Hana", "Ivan", "Julia", "Kofi", "Lena")
_LAST = ("Alvarez", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Novak")
_STREETS = ("Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm St", "Birch Blvd", "Willow Way", "Lake Dr")
_CITIES = (
    ("Portland", "OR", "97205"),
    ("Austin", "TX", "78701"),
    ("Denver", "CO", "80202"),
    ("Madison", "WI", "53703"),
    ("Raleigh", "NC", "27601"),
    ("Burlington", "VT", "05401"),
)
_PRODUCTS = (
    ("Morning Blend Coffee, 12 oz", "coffee", "16.50"),
    ("Decaf Colombia Coffee, 12 oz", "coffee", "17.00"),
    ("Sencha Green Tea, 50 bags", "tea", "12.00"),
    ("Oat Milk Barista, 6 pack", "milk", "21.00"),
    ("Dark Chocolate Bar, 3 pack", "snacks", "9.75"),
    ("Espresso Pods, 30 count", "coffee", "19.90"),
)
_PERIODS = {1: "Days", 2: "Weeks", 3: "Months"}
_PHONE_TYPES = ("invalid", "landline", "mobile", "voip")

# Order states by event type: (status, status_display); everything else is an upcoming, unsent order.
_ORDER_STATES = {
    "order.success": (5, "Success"),
    "order.reject": (3, "Rejected"),
    "order.cancel": (4, "Cancelled"),
    "order.skip_order": (4, "Cancelled"),
    "order.delete": (4, "Cancelled"),
    "order.send_now": (6, "Send Now"),
    "order.generic_error": (15, "Generic Error Response"),
    "order.retryable_placement_failure": (18, "Credit Card Retry"),
    "item.successfully_placed": (5, "Success"),
}


@dataclass(frozen=True, slots=True)
class Graph:
    """One merchant's fake customer and everything around them, as REST records with epoch times."""

    merchant: str
    now: int
    customer: JSON
    addresses: tuple[JSON, ...]  # (shipping, billing)
    payment: JSON
    products: tuple[JSON, ...]
    subscriptions: tuple[JSON, ...]  # one per product
    order: JSON
    items: tuple[JSON, ...]  # one per subscription, all in ``order``


def _hex(rng: random.Random, bits: int = 128) -> str:
    return format(rng.getrandbits(bits), f"0{bits // 4}x")


def day(ts: int) -> str:
    """An epoch as a calendar date (``place``, ``start_date``)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def rest_time(ts: int | None) -> str | None:
    """An epoch as the REST API (and so the snapshot) writes it."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def money(value: Decimal) -> str:
    """A decimal as Ordergroove writes amounts: a string with two decimals."""
    return str(value.quantize(Decimal("0.01")))


def sample_graph(rng: random.Random, *, merchant: str = DEFAULT_MERCHANT, now: int = DEFAULT_NOW) -> Graph:
    """A coherent graph for one merchant; the same ``rng`` state gives the same graph."""
    customer = _customer(rng, merchant, now)
    shipping = _address(rng, customer, "Home")
    billing = _address(rng, customer, "Billing")
    payment = _payment(rng, customer, billing, now)
    products = tuple(_product(rng, merchant, spec, now) for spec in rng.sample(_PRODUCTS, 2))
    subscriptions = tuple(_subscription(rng, customer, p, payment, shipping, now) for p in products)
    order = _order(rng, customer, payment, shipping, now)
    items = tuple(_item(rng, order, s, p) for s, p in zip(subscriptions, products, strict=True))
    order = {**order, **_totals(items)}
    return Graph(merchant, now, customer, (shipping, billing), payment, products, subscriptions, order, items)


def _customer(rng: random.Random, merchant: str, now: int) -> JSON:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    created = now - rng.randint(200, 900) * DAY
    return {
        "merchant": merchant,
        "merchant_user_id": str(rng.randint(100_000, 999_999)),
        "session_id": f"{_hex(rng, 80)}.{rng.randint(100_000, 999_999)}.{created}",
        "user_token_id": _hex(rng),
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}{rng.randint(1, 99)}@example.com".lower(),
        # 555-0100 to 555-0199: the numbers set aside for fiction.
        "phone_number": f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}",
        "phone_type": 2,
        "live": True,
        "created": created,
        "last_updated": now - rng.randint(1, 30) * DAY,
        "last_login": now - rng.randint(1, 20) * DAY,
        "extra_data": {},
        "locale": 1,
    }


def _address(rng: random.Random, customer: JSON, label: str) -> JSON:
    city, state, zip_code = rng.choice(_CITIES)
    return {
        "customer": customer["merchant_user_id"],
        "public_id": _hex(rng),
        "label": label,
        "first_name": customer["first_name"],
        "last_name": customer["last_name"],
        "company_name": "",
        "address": f"{rng.randint(10, 9999)} {rng.choice(_STREETS)}",
        "address2": rng.choice(("", "Apt 2", "Unit 14B")),
        "city": city,
        "state_province_code": state,
        "zip_postal_code": zip_code,
        "phone": customer["phone_number"],
        "fax": "",
        "country_code": "US",
        "live": True,
        "created": customer["created"] + DAY,
        "token_id": _hex(rng),
        "store_public_id": None,
    }


def _payment(rng: random.Random, customer: JSON, billing: JSON, now: int) -> JSON:
    year = datetime.fromtimestamp(now, UTC).year + rng.randint(1, 4)
    return {
        "customer": customer["merchant_user_id"],
        "billing_address": billing["public_id"],
        "cc_number_ending": f"{rng.randint(0, 9999):04d}",
        "payment_method": "credit card",
        "public_id": _hex(rng),
        "label": "Visa",
        "token_id": _hex(rng),
        "cc_holder": f"{customer['first_name']} {customer['last_name']}",
        "cc_type": 1,
        "cc_exp_date": f"{rng.randint(1, 12):02d}/{year}",
        "live": True,
        "created": customer["created"] + DAY,
        "last_updated": now - rng.randint(30, 90) * DAY,
    }


def _product(rng: random.Random, merchant: str, spec: tuple[str, str, str], now: int) -> JSON:
    name, group, price = spec
    sku = f"{group[:3].upper()}-{rng.randint(1000, 9999)}"
    return {
        "merchant": merchant,
        "groups": [{"group_type": "category", "name": group}],
        "name": name,
        "price": price,
        "image_url": f"https://shop.example.com/images/{sku.lower()}.jpg",
        "detail_url": f"https://shop.example.com/products/{sku.lower()}",
        "external_product_id": sku,
        "sku": sku,
        "autoship_enabled": True,
        "premier_enabled": False,
        "created": now - rng.randint(400, 1500) * DAY,
        "last_update": now - rng.randint(1, 60) * DAY,
        "live": True,
        "discontinued": False,
        "extra_data": {},
        "product_type": "standard",
        "autoship_by_default": False,
        "every": 1,
        "every_period": 3,
        "incentive_group": None,
    }


def _subscription(
    rng: random.Random, customer: JSON, product: JSON, payment: JSON, shipping: JSON, now: int
) -> JSON:
    every, period = rng.choice(((2, 2), (4, 2), (1, 3), (2, 3)))
    created = now - rng.randint(60, 180) * DAY
    return {
        "customer": customer["merchant_user_id"],
        "merchant": customer["merchant"],
        "product": product["external_product_id"],
        "payment": payment["public_id"],
        "shipping_address": shipping["public_id"],
        "offer": _hex(rng),
        "subscription_type": "replenishment",
        "raw_subscription_type": "replenishment",
        "components": [],
        "extra_data": {},
        "public_id": _hex(rng),
        "quantity": rng.randint(1, 2),
        "price": None,
        "frequency_days": every * {1: 1, 2: 7, 3: 30}[period],
        "reminder_days": 5,
        "every": every,
        "every_period": period,
        "start_date": day(created),
        "cancelled": None,
        "cancel_reason": None,
        "iteration": rng.randint(1, 6),
        "sequence": None,
        "session_id": customer["session_id"],
        "merchant_order_id": str(rng.randint(10_000, 99_999)),
        "created": created,
        "updated": now - rng.randint(1, 20) * DAY,
        "live": True,
        "external_id": None,
        "product_attribute": None,
        "cancel_reason_code": None,
        "customer_rep": None,
        "club": None,
        "prepaid_subscription_context": None,
        "currency_code": "USD",
    }


def _order(rng: random.Random, customer: JSON, payment: JSON, shipping: JSON, now: int) -> JSON:
    return {
        "merchant": customer["merchant"],
        "customer": customer["merchant_user_id"],
        "payment": payment["public_id"],
        "shipping_address": shipping["public_id"],
        "public_id": _hex(rng),
        "created": now - rng.randint(10, 25) * DAY,
        "updated": now - DAY,
        "place": day(now + rng.randint(3, 7) * DAY),
        "cancelled": None,
        "tries": 0,
        "generic_error_count": 0,
        "status": 1,
        "type": 1,
        "order_merchant_id": None,
        "rejected_message": None,
        "extra_data": {},
        "locked": False,
        "oos_free_shipping": False,
        "currency_code": "USD",
    }


def _item(rng: random.Random, order: JSON, subscription: JSON, product: JSON) -> JSON:
    quantity = subscription["quantity"]
    return {
        "order": order["public_id"],
        "offer": subscription["offer"],
        "subscription": subscription["public_id"],
        "product": product["external_product_id"],
        "quantity": quantity,
        "components": [],
        "public_id": _hex(rng),
        "price": product["price"],
        "extra_cost": "0.00",
        "total_price": money(Decimal(product["price"]) * quantity),
        "one_time": False,
        "frozen": False,
        "first_placed": None,
        "product_attribute": None,
    }


def _totals(items: tuple[JSON, ...]) -> JSON:
    sub_total = sum((Decimal(i["total_price"]) for i in items), Decimal(0))
    discount = (sub_total * Decimal("0.10")).quantize(Decimal("0.01"))
    shipping = Decimal(0) if sub_total >= 35 else Decimal("4.95")
    tax = ((sub_total - discount) * Decimal("0.0825")).quantize(Decimal("0.01"))
    return {
        "sub_total": money(sub_total),
        "tax_total": money(tax),
        "shipping_total": money(shipping),
        "discount_total": money(discount),
        "total": money(sub_total - discount + shipping + tax),
    }


# ---------------------------------------------------------------------------------------------------------
# The graph as it stands right after an event


def at_event(graph: Graph, event_type: str) -> Graph:
    """The graph changed as ``event_type`` says (a cancel cancels, a success places), so that the event's
    object and its snapshot agree. Applying it twice changes nothing more."""
    family = event_type.split(".", 1)[0]
    if event_type in ("subscription.cancel", "subscriber.cancel"):
        cancelled = {
            "live": False,
            "cancelled": graph.now,
            "cancel_reason": "4|Overstocked",
            "cancel_reason_code": 4,
            "updated": graph.now,
        }
        # subscription.cancel: the first subscription; subscriber.cancel: the last active one, so all.
        subs = tuple(
            {**s, **cancelled} if family == "subscriber" or i == 0 else s
            for i, s in enumerate(graph.subscriptions)
        )
        customer = graph.customer if family == "subscription" else {**graph.customer, "live": False}
        return replace(graph, subscriptions=subs, customer=customer)
    if event_type in _ORDER_STATES:
        return replace(graph, order={**graph.order, **_order_state(graph, event_type)})
    return graph


def _order_state(graph: Graph, event_type: str) -> JSON:
    status, _ = _ORDER_STATES[event_type]
    patch: JSON = {"status": status, "updated": graph.now}
    if status == 5:
        patch.update(tries=1, place=day(graph.now), order_merchant_id=f"#{graph.order['public_id'][:6]}")
    elif status == 3:
        patch.update(tries=1, rejected_message="Payment declined")
    elif status == 4:
        patch.update(cancelled=graph.now)
    elif status == 15:
        patch.update(tries=1, generic_error_count=1)
    elif status == 18:
        patch.update(tries=1)
    return patch


# ---------------------------------------------------------------------------------------------------------
# Events: the body of POST /v1/events, with ``data.object`` of the event's family


def sample_event(
    event_type: str,
    rng: random.Random,
    graph: Graph | None = None,
    *,
    merchant: str = DEFAULT_MERCHANT,
    now: int = DEFAULT_NOW,
) -> JSON:
    """A realistic event of ``event_type`` about ``graph`` (one is made from ``rng`` when not given).

    The id starts with ``test_`` so that receivers can tell a test event from a real one.
    """
    found = catalog.get(event_type, entitlements=True)
    if found is None:
        raise ValueError(f"unknown event type {event_type!r}")
    if graph is None:
        graph = sample_graph(rng, merchant=merchant, now=now)
    graph = at_event(graph, event_type)
    event: JSON = {
        "id": TEST_PREFIX + _hex(rng, 80),
        "type": event_type,
        "created": graph.now,
        "data": {"object": sample_object(event_type, graph)},
    }
    context = _context(event_type)
    if context is not None:
        event["context"] = context
    return event


def _context(event_type: str) -> JSON | None:
    family = event_type.split(".", 1)[0]
    if family == "subscription":
        return {"source": "PurchasePOST"}
    if family == "entitlement":
        kind = "initialize_credit" if event_type.endswith("granted") else "modify_expiration"
        return {"entitlement_transaction": {"transaction_type": kind}}
    return None


def sample_object(event_type: str, graph: Graph) -> JSON:
    """``data.object`` for ``event_type``: the default object of its family (``docs/payloads.md``)."""
    family = event_type.split(".", 1)[0]
    builders = {
        "subscriber": _subscriber_object,
        "subscription": _subscription_object,
        "order": _order_object,
        "item": _item_object,
        "entitlement": _entitlement_object,
        catalog.OPERATIONAL_FAMILY: _notice_object,
    }
    return builders[family](event_type, graph)


def _subscriber_object(event_type: str, graph: Graph) -> JSON:
    c = graph.customer
    subs = [s["public_id"] for s in graph.subscriptions]
    # One subscription involved: it goes in ``subscription``; several: in ``subscriptions``.
    several = event_type == "subscriber.subscriptions_created"
    return {
        "type": "subscriber",
        "merchant": graph.merchant,
        "merchant_user_id": c["merchant_user_id"],
        "subscription": "" if several else subs[-1 if event_type == "subscriber.cancel" else 0],
        "subscriptions": subs if several else [],
        "session_id": c["session_id"],
        "first_name": c["first_name"],
        "last_name": c["last_name"],
        "email": c["email"],
        "phone_number": c["phone_number"],
        "phone_type": c["phone_type"],
        "phone_type_display": _PHONE_TYPES[c["phone_type"]],
        "live": c["live"],
        "created": c["created"],
        "last_updated": c["last_updated"],
        "extra_data": c["extra_data"],
        "locale": c["locale"],
        "locale_display": "en-us",
    }


# The fields of a webhook subscription object, in the order the samples show them (besides ``type`` and
# the display label): ``representations`` copies them to the REST representation.
SUBSCRIPTION_FIELDS = tuple(
    [
        "merchant",
        "public_id",
        "customer",
        "product",
        "components",
        "extra_data",
        "prepaid_subscription_context",
        "quantity",
        "price",
        "frequency_days",
        "reminder_days",
        "every",
        "every_period",
        "cancelled",
        "cancel_reason",
        "cancel_reason_code",
        "session_id",
        "merchant_order_id",
        "live",
        "external_id",
        "created",
        "updated",
        "start_date",
        "offer",
        "payment",
        "shipping_address",
    ]
)


def _subscription_object(event_type: str, graph: Graph) -> JSON:
    sub = graph.subscriptions[0]
    obj: JSON = {"type": "subscription", **{k: sub[k] for k in SUBSCRIPTION_FIELDS}}
    obj["every_period_display"] = _PERIODS[sub["every_period"]]
    if ONE_CLICK_TOKEN in catalog.secrets_carried(event_type):
        obj[ONE_CLICK_TOKEN] = one_click_token(sub["public_id"], graph.now)
    return obj


# The fields of a webhook order object, likewise (besides ``type`` and ``status_display``).
ORDER_FIELDS = tuple(
    [
        "merchant",
        "public_id",
        "customer",
        "payment",
        "shipping_address",
        "sub_total",
        "tax_total",
        "shipping_total",
        "discount_total",
        "total",
        "created",
        "place",
        "cancelled",
        "tries",
        "generic_error_count",
        "status",
        "order_merchant_id",
        "rejected_message",
        "extra_data",
    ]
)
_STATUS_DISPLAY = {1: "Unsent", **dict(_ORDER_STATES.values())}


def _order_object(event_type: str, graph: Graph) -> JSON:
    order = graph.order
    obj: JSON = {"type": "order", **{k: order[k] for k in ORDER_FIELDS}}
    obj["status_display"] = _STATUS_DISPLAY.get(order["status"], "Unsent")
    if ONE_CLICK_TOKEN in catalog.secrets_carried(event_type):
        obj[ONE_CLICK_TOKEN] = one_click_token(order["public_id"], graph.now)
    return obj


def _item_object(event_type: str, graph: Graph) -> JSON:
    item = graph.items[0]
    return {
        "type": "item",
        "merchant": graph.merchant,
        "public_id": item["public_id"],
        "customer": graph.customer["merchant_user_id"],
        "product": item["product"],
        "order": item["order"],
        "subscription": item["subscription"],
        "offer": item["offer"],
        "quantity": item["quantity"],
        "price": item["price"],
        "total_price": item["total_price"],
        "first_placed": day(graph.now) if event_type == "item.successfully_placed" else item["first_placed"],
        "components": item["components"],
    }


def _entitlement_object(event_type: str, graph: Graph) -> JSON:
    sub = graph.subscriptions[0]
    return {
        "type": "entitlement",
        "merchant": graph.merchant,
        "customer": graph.customer["merchant_user_id"],
        "entitlements": [
            {
                "public_id": sub["offer"],
                "subscription": sub["public_id"],
                "product": sub["product"],
                "expiration_date": day(graph.now + 30 * DAY),
                "status": "expired" if event_type.endswith("expired") else "active",
            }
        ],
    }


def _notice_object(event_type: str, graph: Graph) -> JSON:
    """hookline's own notice about one of the merchant's routes (``hookline.route.*``)."""
    halted_at = graph.now - 2 * 3600
    obj: JSON = {
        "type": "route",
        "merchant": graph.merchant,
        "route_id": "rte_" + graph.order["public_id"][:26].upper(),
        "name": "Orders to fulfilment",
        "target_url": "https://fulfilment.example.com/webhooks/ordergroove",
        "halted_at": halted_at,
        "reason": "60 consecutive failed attempts since 2 hours ago; last error: HTTP 503",
    }
    if event_type == catalog.ROUTE_RESUMED:
        obj["resumed_at"] = graph.now
    else:
        obj.update(halted_at=graph.now, automatic=True)
    return obj


def one_click_token(public_id: str, issued: int) -> str:
    """A JWT-like 1-Click token: three dot-separated parts, derived from the id and the time it was issued
    (no randomness needed; a refresh at another time gives another token)."""
    return f"eyJhbGciOiJIUzI1NiJ9.{public_id[:16]}{issued:x}.{public_id[16:]}"


# ---------------------------------------------------------------------------------------------------------
# Snapshots (``docs/payloads.md``)


def involved(family: str, graph: Graph) -> dict[str, list[JSON]]:
    """The records an event of ``family`` is about, by snapshot key (``customer`` as a one-element list)."""
    shipping, billing = graph.addresses
    if family == "subscription":
        subs = list(graph.subscriptions[:1])
    elif family == "item":
        subs = [s for s in graph.subscriptions if s["public_id"] == graph.items[0]["subscription"]]
    else:
        subs = list(graph.subscriptions)
    skus = {s["product"] for s in subs}
    found: dict[str, list[JSON]] = {
        "customer": [graph.customer],
        "subscriptions": subs,
        "products": [p for p in graph.products if p["external_product_id"] in skus],
        "payments": [graph.payment],
        "addresses": [shipping, billing],
    }
    if family == "order":
        found["orders"], found["items"] = [graph.order], list(graph.items)
    elif family == "item":
        found["orders"], found["items"] = [graph.order], list(graph.items[:1])
    return found


def sample_snapshot(family: str, columns: list[str] | tuple[str, ...], graph: Graph) -> JSON:
    """The ``snapshot`` of an event of ``family`` with the route's ticked ``columns``, in REST form.

    ``customer`` is one object, the others are lists; a column that the family cannot carry (orders and
    items of subscriber or subscription events) is left out, as is an unknown one.
    """
    if family not in ("subscriber", "subscription", "order", "item", "entitlement"):
        return {}  # hookline's own notices are about a route, which involves no commerce object
    found = involved(family, graph)
    snapshot: JSON = {}
    for column in SNAPSHOT_KEYS:  # the envelope's order, whatever order the route ticked them in
        if column not in columns or column not in found:
            continue
        records = [_rest(r) for r in found[column]]
        snapshot[column] = records[0] if column == "customer" else records
    return snapshot


def _rest(record: JSON) -> JSON:
    return {k: rest_time(v) if k in _TIME_FIELDS and isinstance(v, int) else v for k, v in record.items()}
