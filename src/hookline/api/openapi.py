"""What the OpenAPI document says of the values the API checks itself: the patterns, ranges and choices a
JSON Schema can state, added to the models' and the parameters' schemas (``json_schema_extra``).

They describe; they do not validate (the services do, with their own messages). They are what a client,
or the fuzzer in ``tests/test_fuzz.py``, needs in order to send only what is accepted. A rule between
several values (``since`` before ``until``), about stored data (a target that exists) or in a language of
its own (a JMESPath transformation) is said in words, in the descriptions.

Two decisions, the same everywhere: text never holds NUL (PostgreSQL cannot store it; refused with a 400),
and an event's ``id`` may be left out or null, and hookline then gives the event one.
"""

from __future__ import annotations

from typing import Any, Final

from hookline import catalog, filter_patterns, transform
from hookline.models import DeliveryStatus
from hookline.service import ingest, metrics, notifications, recovery, routes, times
from hookline.service.operational import AUTO_HALT_LIMITS

Schema = dict[str, Any]

NO_NUL: Final = "Text never holds NUL characters (U+0000): they are refused with a 400."

_LABEL: Final = "[A-Za-z](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?"
URL: Final[Schema] = {
    "pattern": rf"^https?://{_LABEL}(?:\.{_LABEL}){{0,4}}(?::[1-9][0-9]{{0,3}})?(?:/[A-Za-z0-9._~-]*){{0,8}}$",
    "maxLength": 2000,
    "description": "http or https (https only where the operator requires it); loopback and private "
    "addresses are refused unless the operator allows them",
}
_EVERY_TYPE: Final = catalog.event_types(entitlements=True)
ROUTE_EVENT_TYPE: Final[Schema] = {
    "enum": [
        "*",
        *(f"{family}.*" for family in catalog.families(entitlements=True)),
        *(t.type for t in _EVERY_TYPE),
    ],
    "description": "an event type, a family wildcard or * (the entitlement family only where enabled)",
}
TEST_EVENT_TYPE: Final[Schema] = {
    **ROUTE_EVENT_TYPE,
    "description": "one the route subscribes to, or a wildcard of them",
}
FIELD_PATH: Final[Schema] = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$",
    "maxLength": transform.MAX_PATH_LENGTH,
}
FIELD_PATHS: Final[Schema] = {"items": FIELD_PATH, "maxItems": transform.MAX_PATHS}
TRANSFORM: Final[Schema] = {
    "maxLength": transform.MAX_EXPRESSION,
    "description": "a JMESPath expression (see docs/transform.md); checked when saved",
}
HEADERS: Final[Schema] = {
    "propertyNames": {"pattern": r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"},
    "additionalProperties": {"type": "string", "pattern": r"^[^\r\n]*$"},
    "description": "headers added to every delivery; the signature, framing and identity headers hookline "
    "sets cannot be set",
}
SNAPSHOT: Final[Schema] = {
    "propertyNames": {"enum": list(catalog.families(entitlements=True))},
    "additionalProperties": {"type": "array", "items": {"enum": list(routes.SNAPSHOT_COLUMNS)}},
    "description": "family: the data to add; order and item data cannot be added to subscriber or "
    "subscription events",
}
NAME: Final[Schema] = {"pattern": r"\S"}
EMAIL: Final[Schema] = {
    "pattern": f"^{notifications.EMAIL_PATTERN}$",
    "maxLength": notifications.MAX_EMAIL_LENGTH,
    "description": "a plain address such as ops@example.com (no display name)",
}


def between(low: float, high: float) -> Schema:
    return {"minimum": low, "maximum": high}


RETRY: Final[dict[str, Schema]] = {name: between(*limits) for name, limits in routes.LIMITS.items()}
TIMEOUT: Final[Schema] = between(*routes.TIMEOUT_LIMITS)
AUTO_HALT: Final[dict[str, Schema]] = {name: between(*limits) for name, limits in AUTO_HALT_LIMITS.items()}

# A time: ISO 8601 (UTC without an offset), or epoch seconds as a number or as text.
_EPOCH_TEXT: Final[Schema] = {"type": "string", "pattern": r"^[0-9]{1,11}(?:\.[0-9]{1,6})?$"}
TIME_QUERY: Final[Schema] = {"anyOf": [{"type": "string", "format": "date-time"}, _EPOCH_TEXT]}
TIME: Final[Schema] = {
    "anyOf": [
        {"type": "string", "format": "date-time"},
        _EPOCH_TEXT,
        {"type": "number", **between(times.MIN_EPOCH, times.MAX_EPOCH)},
    ]
}
SERIES: Final[Schema] = {"enum": list(metrics.SERIES)}
DELIVERY_STATUS: Final[Schema] = {"enum": [s.value for s in DeliveryStatus]}
RESENDABLE: Final[Schema] = {"enum": [s.value for s in recovery.RESENDABLE]}
FILTER_PATTERN: Final[Schema] = {
    "pattern": filter_patterns.REGEX,
    "maxLength": filter_patterns.MAX_LENGTH,
    "description": "event types, family wildcards (order.*) or *, joined with |",
}
# An event as POST /v1/events takes it (also the event of a preview).
EVENT: Final[Schema] = {
    "type": "object",
    "required": ["type", "data"],
    "properties": {
        "id": {
            "type": ["string", "null"],
            "minLength": 1,
            "maxLength": 100,
            "description": "the platform's event id; left out or null, hookline gives the event one",
        },
        "type": {
            "type": "string",
            "description": "see GET /v1/event-types (the entitlement family only where enabled)",
            "enum": [t.type for t in _EVERY_TYPE if not catalog.is_operational(t.type)],
        },
        "created": {"type": "integer", "minimum": 0, "maximum": ingest.MAX_CREATED},
        "data": {
            "type": "object",
            "required": ["object"],
            "properties": {
                "object": {
                    "type": "object",
                    # Indexed for search: at most 100 characters each.
                    "properties": {
                        name: {"type": "string", "maxLength": ingest.INDEXED_ID_MAX}
                        for name in ("public_id", "merchant_user_id", "customer")
                    },
                }
            },
        },
        "context": {"type": "object"},
    },
}
PREVIEW_EVENT: Final[Schema] = EVENT
CURSOR: Final[Schema] = {"description": "opaque: only a next_cursor this API gave out"}
