"""Each event type's JSON Schema (2020-12) of ``data.object``, a full example envelope, and the check.

The schemas follow Ordergroove's objects (``docs/payloads.md``), one per family, and are:

- **permissive where Ordergroove is**: any extra field is allowed (the platform adds fields over time, and
  hookline passes them on untouched); every documented field may be left out, and may be ``null`` (the
  platform writes ``null`` for what is unset);
- **strict on types** (an epoch is an integer, an amount a string, ``live`` a boolean), **on the object's
  ``type``** (an ``order.success`` whose object says ``"type": "subscription"`` is refused), and **on the
  identity fields**: the object's own id (``public_id``; ``merchant_user_id`` for a subscriber) and the
  customer it belongs to are required, non-empty strings, since routing, enrichment, search and replay all
  hang on them.

Validation is on the ingest hot path, so each type's validator is compiled once (``jsonschema_rs``, a Rust
implementation of the 2020-12 draft) and a valid object costs one ``is_valid`` call; only an invalid one
is walked for every error, to name each failing path. ``markdown()`` renders ``docs/event-types.md``
(``python -m hookline.core.event_schemas > docs/event-types.md``; a test keeps the file current).

Pure: no I/O, no clock; the examples are built from ``hookline.core.samples`` with fixed seeds.
"""

from __future__ import annotations

import functools
import random
from typing import Any, Final

import jsonschema_rs
import orjson

from hookline.core import catalog, payloads, samples
from hookline.core.models import JSON, Event

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
EXAMPLE_NOW: Final = samples.DEFAULT_NOW

# Field shapes. Every documented field is optional and nullable; the type is what is checked.
_TEXT: Final = {"type": ["string", "null"]}
_INT: Final = {"type": ["integer", "null"]}
_BOOL: Final = {"type": ["boolean", "null"]}
_FREE: Final = {"type": ["object", "null"], "description": "free-form key/value data"}
_EPOCH: Final = {"type": ["integer", "null"], "description": "Unix epoch seconds"}
_MONEY: Final = {"type": ["string", "null"], "description": 'a decimal amount as a string, e.g. "25.00"'}
_DATE: Final = {"type": ["string", "null"], "description": "a date, YYYY-MM-DD"}
_IDS: Final = {"type": ["array", "null"], "items": {"type": "string"}}
_COMPONENTS: Final = {
    "type": ["array", "null"],
    "items": {
        "type": "object",
        "properties": {"public_id": _TEXT, "product": _TEXT, "quantity": _INT},
    },
    "description": "bundle components",
}


def _identity(description: str) -> JSON:
    return {"type": "string", "minLength": 1, "maxLength": 100, "description": description}


def _token(sent_on: tuple[str, ...]) -> JSON:
    return {
        **_TEXT,
        "description": "1-Click token (a secret); sent only on " + ", ".join(sent_on) + ", where enabled",
    }


# Where Ordergroove sends a 1-Click token.
_ONE_CLICK: Final = {
    "subscription": ("subscription.create", "subscription.cancel", "subscription.refresh_one_click_token"),
    "order": ("order.reminder", "order.refresh_one_click_token"),
}


_CUSTOMER: Final = _identity("the customer's merchant_user_id (the merchant's own customer id)")
_MERCHANT: Final = {**_TEXT, "description": "the merchant's platform id (filled in from its public_id)"}

_FAMILIES: Final[dict[str, tuple[str, list[str], dict[str, Any]]]] = {
    "subscriber": (
        "A subscriber (customer).",
        ["merchant_user_id"],
        {
            "merchant": _MERCHANT,
            "merchant_user_id": _identity("the customer's id in the merchant's system"),
            "subscription": {**_TEXT, "description": "the subscription involved, empty when several are"},
            "subscriptions": {**_IDS, "description": "the subscriptions involved, empty when only one is"},
            "session_id": _TEXT,
            "first_name": _TEXT,
            "last_name": _TEXT,
            "email": _TEXT,
            "phone_number": _TEXT,
            "phone_type": {**_INT, "description": "0 invalid, 1 landline, 2 mobile, 3 voip"},
            "phone_type_display": _TEXT,
            "live": {**_BOOL, "description": "true when the customer has an active subscription"},
            "created": _EPOCH,
            "last_updated": _EPOCH,
            "extra_data": _FREE,
            "locale": _INT,
            "locale_display": _TEXT,
        },
    ),
    "subscription": (
        "A subscription.",
        ["public_id", "customer"],
        {
            "merchant": _MERCHANT,
            "public_id": _identity("the subscription's id"),
            "customer": _CUSTOMER,
            "product": {**_TEXT, "description": "external product id (SKU)"},
            "components": _COMPONENTS,
            "extra_data": _FREE,
            "prepaid_subscription_context": _FREE,
            "quantity": _INT,
            "price": {**_MONEY, "description": "the locked price, if any"},
            "frequency_days": _INT,
            "reminder_days": _INT,
            "every": _INT,
            "every_period": {**_INT, "description": "1 days, 2 weeks, 3 months"},
            "every_period_display": _TEXT,
            "cancelled": _EPOCH,
            "cancel_reason": {**_TEXT, "description": 'code and detail, e.g. "4|Overstocked"'},
            "cancel_reason_code": _INT,
            "session_id": _TEXT,
            "merchant_order_id": _TEXT,
            "live": _BOOL,
            "external_id": _TEXT,
            "created": _EPOCH,
            "updated": _EPOCH,
            "start_date": _DATE,
            "offer": _TEXT,
            "payment": {**_TEXT, "description": "payment record id"},
            "shipping_address": {**_TEXT, "description": "address record id"},
            "one_click_token": _token(_ONE_CLICK["subscription"]),
        },
    ),
    "order": (
        "An order.",
        ["public_id", "customer"],
        {
            "merchant": _MERCHANT,
            "public_id": _identity("the order's id"),
            "customer": _CUSTOMER,
            "payment": {**_TEXT, "description": "payment record id"},
            "shipping_address": {**_TEXT, "description": "address record id"},
            "sub_total": _MONEY,
            "tax_total": _MONEY,
            "shipping_total": _MONEY,
            "discount_total": _MONEY,
            "total": _MONEY,
            "created": _EPOCH,
            "place": {**_DATE, "description": "the placement date, YYYY-MM-DD"},
            "cancelled": _EPOCH,
            "tries": _INT,
            "generic_error_count": _INT,
            "status": {**_INT, "description": "Ordergroove's order status code (1 unsent, 5 success, ...)"},
            "status_display": _TEXT,
            "order_merchant_id": _TEXT,
            "rejected_message": _TEXT,
            "extra_data": _FREE,
            "one_click_token": _token(_ONE_CLICK["order"]),
        },
    ),
    "item": (
        "An item (an order line).",
        ["public_id", "customer"],
        {
            "merchant": _MERCHANT,
            "public_id": _identity("the item's id"),
            "customer": _CUSTOMER,
            "product": {**_TEXT, "description": "external product id (SKU)"},
            "order": {**_TEXT, "description": "the order's id"},
            "subscription": {**_TEXT, "description": "the subscription's id, if the item has one"},
            "offer": _TEXT,
            "quantity": _INT,
            "price": _MONEY,
            "total_price": _MONEY,
            "first_placed": _TEXT,
            "components": {
                **_COMPONENTS,
                "type": ["array", "string", "null"],
                "description": "bundle components (legacy bundles: a comma-separated string)",
            },
        },
    ),
    "entitlement": (
        "A customer's entitlements (digital subscriptions).",
        ["customer"],
        {
            "merchant": _MERCHANT,
            "customer": _CUSTOMER,
            "entitlements": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {
                        "public_id": _TEXT,
                        "subscription": _TEXT,
                        "product": _TEXT,
                        "expiration_date": _DATE,
                        "status": _TEXT,
                    },
                },
            },
        },
    ),
    catalog.OPERATIONAL_FAMILY: (
        "hookline's notice about one of the merchant's routes (sent by hookline, never posted).",
        ["route_id"],
        {
            "merchant": _TEXT,
            "route_id": _identity("the route's id"),
            "name": _TEXT,
            "target_url": _TEXT,
            "halted_at": _EPOCH,
            "resumed_at": _EPOCH,
            "automatic": _BOOL,
            "reason": _TEXT,
        },
    ),
}
# The ``type`` its object carries, by family (hookline's notices are about a route).
OBJECT_TYPES: Final = {f: ("route" if f == catalog.OPERATIONAL_FAMILY else f) for f in _FAMILIES}


@functools.cache
def family_schema(family: str) -> JSON:
    """The JSON Schema of ``data.object`` for every event type of ``family`` (KeyError when unknown)."""
    description, required, properties = _FAMILIES[family]
    object_type = OBJECT_TYPES[family]
    return {
        "$schema": DIALECT,
        "$id": f"https://hookline.dev/schemas/event-object/{family}.json",
        "title": f"data.object of {family}.* events",
        "description": description + " Extra fields are allowed; documented ones may be null.",
        "type": "object",
        "required": ["type", *required],
        "properties": {
            "type": {"const": object_type, "description": f'always "{object_type}"'},
            **properties,
        },
        "additionalProperties": True,
    }


def schema(event_type: str) -> JSON:
    """The schema of an event type's ``data.object``: its family's."""
    return family_schema(event_type.partition(".")[0])


@functools.cache
def _validator(family: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(family_schema(family))


def problems(event_type: str, obj: Any) -> list[tuple[str, str]]:
    """Where ``obj`` breaks the type's schema: (JSON path from ``data.object``, what is wrong), in path
    order; ``[]`` when it is valid. ``event_type`` is a catalogue type."""
    validator = _validator(event_type.partition(".")[0])
    if validator.is_valid(obj):
        return []
    found = {(_path(e), e.message) for e in validator.iter_errors(obj)}
    return sorted(found)


def _path(error: jsonschema_rs.ValidationError) -> str:
    parts = ["data.object"]
    for part in error.instance_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Required):
        parts.append(f".{error.kind.property}")  # the missing field itself, not the object holding it
    return "".join(parts)


@functools.cache
def _example_bytes(event_type: str) -> bytes:
    graph = samples.sample_graph(random.Random("hookline example"), now=EXAMPLE_NOW)
    raw = samples.sample_event(event_type, random.Random(event_type), graph)
    event = Event(
        id=raw["id"].removeprefix(samples.TEST_PREFIX),
        merchant_id=graph.merchant,
        type=event_type,
        created=raw["created"],
        object=raw["data"]["object"],
        context=raw.get("context"),
    )
    return payloads.render(payloads.envelope(event))


def example(event_type: str) -> JSON:
    """A full envelope of ``event_type`` as a route without snapshot settings delivers it (a fresh copy)."""
    found: JSON = orjson.loads(_example_bytes(event_type))
    return found


# ---------------------------------------------------------------------------------------------------------
# docs/event-types.md

_HEADER = """\
# Event types: schemas and examples

<!-- Generated by `python -m hookline.core.event_schemas > docs/event-types.md`; a test checks it. -->

Every event type of the catalogue (`GET /v1/event-types`) publishes a JSON Schema (draft 2020-12) of its
`data.object`, and a full example envelope that validates against it:
`GET /v1/event-types/{type}` → `{"type", "family", "description", "schema", "example"}`. The dashboard
shows the same under **Event types**.

**What is checked.** `POST /v1/events` checks each event's `data.object` against its type's schema. The
schemas are permissive where Ordergroove is: extra fields are allowed and passed on, and every documented
field may be left out or be `null`. They are strict on types (an epoch is an integer, an amount a string),
on the object's `type` (an `order.success` whose object says `"type": "subscription"` is refused), and on
the identity fields: the object's own id (`public_id`, or `merchant_user_id` for a subscriber) and the
customer it belongs to (`customer`) are required, non-empty strings.

**What happens to an event that breaks its schema** depends on `HOOKLINE_EVENT_VALIDATION`:

- `strict` (the default): the request is refused with 400, naming each failing path (`errors[].field`,
  e.g. `data.object.type`, or `events[3].data.object.customer` in a batch), and nothing of the batch is
  stored;
- `flag`: the event is accepted and delivered as usual, and stored with its problems:
  `GET /v1/events/{id}` shows `"flagged": true` and `"schema_errors": [{"path", "detail"}]`, and
  `GET /v1/events?flagged=true` lists such events.

The examples are the bodies a route without snapshot settings delivers (`"snapshot": {}`); see
`docs/payloads.md` for the snapshot a route can add.
"""


def _json_block(value: Any) -> str:
    return "```json\n" + orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n```\n"


def markdown() -> str:
    """``docs/event-types.md``: per family its types, its schema, and each type's example."""
    parts = [_HEADER]
    for family in catalog.families(entitlements=True):
        types = [t for t in catalog.event_types(entitlements=True) if t.family == family]
        parts.append(f"\n## `{family}.*`\n")
        if family in catalog.OPTIONAL_FAMILIES:
            parts.append("\nOffered only where the operator enables it (`HOOKLINE_ENTITLEMENTS`).\n")
        parts.append("\n| type | when |\n|---|---|\n")
        parts.extend(f"| `{t.type}` | {t.description} |\n" for t in types)
        parts.append(f"\nThe schema of `data.object` (every `{family}.*` type):\n\n")
        parts.append(_json_block(family_schema(family)))
        for t in types:
            parts.append(f"\n<details><summary><code>{t.type}</code> example</summary>\n\n")
            parts.append(_json_block(example(t.type)))
            parts.append("\n</details>\n")
    return "".join(parts)


if __name__ == "__main__":
    print(markdown(), end="")
