"""The simulated program's records, and their two public shapes.

A record is shown two ways, as Ordergroove shows it (``docs/payloads.md``):

- ``*_object``: the webhook's ``data.object`` (the envelope at the top of that page): epoch-second
  integers, ``type`` and ``merchant`` fields;
- ``*_record``: the platform object hookline keeps for snapshots (its section "The platform-object store",
  the REST "retrieve" representation): ``"YYYY-MM-DD HH:MM:SS"`` strings for times.

Pure: no clock, no randomness (the model passes times and choices in), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from hookline.core import samples

JSON = dict[str, Any]
CENT: Final = Decimal("0.01")
DAY: Final = 86_400
TAX_RATE: Final = Decimal("0.0825")
SUBSCRIBE_AND_SAVE: Final = Decimal("0.05")
FREE_SHIPPING_FROM: Final = Decimal("35.00")
SHIPPING: Final = Decimal("5.95")


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    price: Decimal
    group: str


PRODUCTS: Final = (
    Product("DCC-HOUSE-12", "House Blend, 12 oz", Decimal("14.50"), "Whole bean"),
    Product("DCC-ESPRESSO-12", "Espresso Roast, 12 oz", Decimal("15.75"), "Whole bean"),
    Product("DCC-DECAF-12", "Swiss Water Decaf, 12 oz", Decimal("16.25"), "Whole bean"),
    Product("DCC-ETHIOPIA-12", "Ethiopia Yirgacheffe, 12 oz", Decimal("18.90"), "Single origin"),
    Product("DCC-COLDBREW-4", "Cold Brew Packs, 4 ct", Decimal("11.00"), "Cold brew"),
    Product("DCC-FILTERS-100", "Paper Filters, 100 ct", Decimal("6.40"), "Accessories"),
)
PRODUCT_BY_SKU: Final = {p.sku: p for p in PRODUCTS}

#: (frequency_days, every, every_period): every_period 1 = Days, 2 = Weeks, 3 = Months.
FREQUENCIES: Final = ((14, 2, 2), (21, 3, 2), (28, 4, 2), (30, 1, 3), (42, 6, 2), (60, 2, 3))
PERIOD_DISPLAY: Final = {1: "Days", 2: "Weeks", 3: "Months"}


class OrderStatus:
    """Ordergroove's order status codes (the ones this program reaches)."""

    UNSENT = 1
    REJECTED = 3
    CANCELLED = 4
    SUCCESS = 5
    GENERIC_ERROR = 15

    DISPLAY: Final = {1: "Unsent", 3: "Rejected", 4: "Cancelled", 5: "Success", 15: "Generic Error Response"}


@dataclass(slots=True)
class Customer:
    id: str  # merchant_user_id: the merchant's own customer id
    first_name: str
    last_name: str
    email: str
    phone_number: str
    city: str
    state: str
    zip_code: str
    street: str
    address_id: str
    payment_id: str
    card_ending: str
    card_type: str
    card_expiry: str
    session_id: str
    created: int
    updated: int
    live: bool = True
    subscriptions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Subscription:
    id: str
    customer: str
    sku: str
    quantity: int
    frequency: tuple[int, int, int]  # one of FREQUENCIES
    reminder_days: int
    offer: str
    merchant_order_id: str
    session_id: str
    created: int
    updated: int
    live: bool = True
    cancelled: int | None = None
    cancel_reason: str | None = None
    iteration: int = 0
    order: str | None = None  # the upcoming (unsent) order holding this subscription's item


@dataclass(slots=True)
class Order:
    id: str
    customer: str
    place: int  # epoch seconds of the placement date (midnight UTC)
    created: int
    updated: int
    items: list[str] = field(default_factory=list)
    status: int = OrderStatus.UNSENT
    tries: int = 0
    generic_error_count: int = 0
    cancelled: int | None = None
    order_merchant_id: str | None = None
    rejected_message: str | None = None
    generation: int = 0  # bumped when a scheduled reminder or placement no longer applies


@dataclass(slots=True)
class Item:
    id: str
    order: str
    subscription: str
    customer: str
    sku: str
    quantity: int
    offer: str
    created: int
    first_placed: int | None = None
    out_of_stock: int = 0  # how often it was moved to the next day for lack of stock


def line_total(item: Item) -> Decimal:
    return PRODUCT_BY_SKU[item.sku].price * item.quantity


def totals(items: list[Item]) -> dict[str, str]:
    """An order's totals: subscribe-and-save discount, tax, free shipping above a threshold."""
    sub_total = sum((line_total(i) for i in items), Decimal(0))
    discount = (sub_total * SUBSCRIBE_AND_SAVE).quantize(CENT)
    tax = ((sub_total - discount) * TAX_RATE).quantize(CENT)
    shipping = Decimal(0) if not items or sub_total >= FREE_SHIPPING_FROM else SHIPPING
    return {
        "sub_total": samples.money(sub_total),
        "tax_total": samples.money(tax),
        "shipping_total": samples.money(shipping),
        "discount_total": samples.money(discount),
        "total": samples.money(sub_total - discount + tax + shipping),
    }


# --- webhook data.object shapes ------------------------------------------------------------------------


def subscriber_object(merchant: str, c: Customer, *, subscription: str = "") -> JSON:
    return {
        "type": "subscriber",
        "merchant": merchant,
        "merchant_user_id": c.id,
        "subscription": subscription,
        "subscriptions": [],
        "session_id": c.session_id,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone_number": c.phone_number,
        "phone_type": 2,
        "phone_type_display": "mobile",
        "live": c.live,
        "created": c.created,
        "last_updated": c.updated,
        "extra_data": {},
        "locale": 1,
        "locale_display": "en-us",
    }


def _subscription_fields(merchant: str, c: Customer, s: Subscription) -> JSON:
    frequency_days, every, every_period = s.frequency
    return {
        "merchant": merchant,
        "public_id": s.id,
        "customer": s.customer,
        "product": s.sku,
        "components": [],
        "extra_data": {},
        "prepaid_subscription_context": None,
        "quantity": s.quantity,
        "price": None,
        "frequency_days": frequency_days,
        "reminder_days": s.reminder_days,
        "every": every,
        "every_period": every_period,
        "session_id": s.session_id,
        "merchant_order_id": s.merchant_order_id,
        "live": s.live,
        "external_id": None,
        "start_date": samples.day(s.created),
        "offer": s.offer,
        "payment": c.payment_id,
        "shipping_address": c.address_id,
        "cancel_reason": s.cancel_reason,
    }


def subscription_object(merchant: str, c: Customer, s: Subscription) -> JSON:
    code = int(s.cancel_reason.split("|", 1)[0]) if s.cancel_reason else None
    return {
        "type": "subscription",
        **_subscription_fields(merchant, c, s),
        "every_period_display": PERIOD_DISPLAY[s.frequency[2]],
        "cancelled": s.cancelled,
        "cancel_reason_code": code,
        "created": s.created,
        "updated": s.updated,
    }


def order_object(merchant: str, o: Order, c: Customer, items: list[Item]) -> JSON:
    return {
        "type": "order",
        "merchant": merchant,
        "public_id": o.id,
        "customer": o.customer,
        "payment": c.payment_id,
        "shipping_address": c.address_id,
        **totals(items),
        "created": o.created,
        "place": samples.day(o.place),
        "cancelled": o.cancelled,
        "tries": o.tries,
        "generic_error_count": o.generic_error_count,
        "status": o.status,
        "status_display": OrderStatus.DISPLAY[o.status],
        "order_merchant_id": o.order_merchant_id,
        "rejected_message": o.rejected_message,
        "extra_data": {},
    }


def item_object(merchant: str, i: Item) -> JSON:
    price = PRODUCT_BY_SKU[i.sku].price
    return {
        "type": "item",
        "merchant": merchant,
        "public_id": i.id,
        "customer": i.customer,
        "product": i.sku,
        "order": i.order,
        "subscription": i.subscription,
        "offer": i.offer,
        "quantity": i.quantity,
        "price": samples.money(price),
        "total_price": samples.money(price * i.quantity),
        "first_placed": samples.day(i.first_placed) if i.first_placed is not None else None,
        "components": [],
    }


# --- platform object records (for snapshots) -----------------------------------------------------------


def customer_record(merchant: str, c: Customer) -> JSON:
    return {
        "merchant": merchant,
        "merchant_user_id": c.id,
        "session_id": c.session_id,
        "user_token_id": None,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "email": c.email,
        "phone_number": c.phone_number,
        "phone_type": 2,
        "live": c.live,
        "created": samples.rest_time(c.created),
        "last_updated": samples.rest_time(c.updated),
        "last_login": samples.rest_time(c.updated),
        "extra_data": {},
        "locale": 1,
    }


def address_record(c: Customer) -> JSON:
    return {
        "customer": c.id,
        "public_id": c.address_id,
        "label": "Home",
        "first_name": c.first_name,
        "last_name": c.last_name,
        "company_name": None,
        "address": c.street,
        "address2": None,
        "city": c.city,
        "state_province_code": c.state,
        "zip_postal_code": c.zip_code,
        "phone": c.phone_number,
        "fax": None,
        "country_code": "US",
        "live": True,
        "created": samples.rest_time(c.created),
        "token_id": None,
        "store_public_id": None,
    }


def payment_record(c: Customer) -> JSON:
    return {
        "customer": c.id,
        "billing_address": c.address_id,
        "cc_number_ending": c.card_ending,
        "payment_method": "credit card",
        "public_id": c.payment_id,
        "label": f"{c.card_type} ending {c.card_ending}",
        "token_id": None,
        "cc_holder": f"{c.first_name} {c.last_name}",
        "cc_type": c.card_type,
        "cc_exp_date": c.card_expiry,
        "live": True,
        "created": samples.rest_time(c.created),
        "last_updated": samples.rest_time(c.created),
    }


def product_record(merchant: str, p: Product, created: int) -> JSON:
    return {
        "merchant": merchant,
        "groups": [{"group_type": "category", "name": p.group}],
        "name": p.name,
        "price": samples.money(p.price),
        "image_url": f"https://demo-coffee.example/img/{p.sku.lower()}.jpg",
        "detail_url": f"https://demo-coffee.example/products/{p.sku.lower()}",
        "external_product_id": p.sku,
        "sku": p.sku,
        "autoship_enabled": True,
        "premier_enabled": False,
        "created": samples.rest_time(created),
        "last_update": samples.rest_time(created),
        "live": True,
        "discontinued": False,
        "extra_data": {},
        "product_type": "standard",
        "autoship_by_default": False,
        "every": 4,
        "every_period": 2,
        "incentive_group": None,
    }


def subscription_record(merchant: str, c: Customer, s: Subscription) -> JSON:
    code = int(s.cancel_reason.split("|", 1)[0]) if s.cancel_reason else None
    return {
        **_subscription_fields(merchant, c, s),
        "subscription_type": "replenishment",
        "raw_subscription_type": "replenishment",
        "cancelled": samples.rest_time(s.cancelled),
        "iteration": s.iteration,
        "sequence": None,
        "created": samples.rest_time(s.created),
        "updated": samples.rest_time(s.updated),
        "product_attribute": None,
        "cancel_reason_code": code,
        "customer_rep": None,
        "club": None,
        "currency_code": "USD",
    }


def order_record(merchant: str, o: Order, c: Customer, items: list[Item]) -> JSON:
    return {
        "merchant": merchant,
        "customer": o.customer,
        "payment": c.payment_id,
        "shipping_address": c.address_id,
        "public_id": o.id,
        **totals(items),
        "created": samples.rest_time(o.created),
        "updated": samples.rest_time(o.updated),
        "place": samples.day(o.place),
        "cancelled": samples.rest_time(o.cancelled),
        "tries": o.tries,
        "generic_error_count": o.generic_error_count,
        "status": o.status,
        "type": 1,
        "order_merchant_id": o.order_merchant_id,
        "rejected_message": o.rejected_message,
        "extra_data": {},
        "locked": False,
        "oos_free_shipping": False,
        "currency_code": "USD",
    }


def item_record(i: Item) -> JSON:
    price = PRODUCT_BY_SKU[i.sku].price
    return {
        "order": i.order,
        "offer": i.offer,
        "subscription": i.subscription,
        "product": i.sku,
        "quantity": i.quantity,
        "components": [],
        "public_id": i.id,
        "price": samples.money(price),
        "extra_cost": "0.00",
        "total_price": samples.money(price * i.quantity),
        "one_time": False,
        "frozen": False,
        "first_placed": samples.rest_time(i.first_placed),
        "product_attribute": None,
    }
