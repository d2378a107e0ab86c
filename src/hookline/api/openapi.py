"""What the OpenAPI document says of the values the API checks itself: the patterns, ranges and choices a
JSON Schema can state, added to the models' and the parameters' schemas (``json_schema_extra``).

They describe; they do not validate (the services do, with their own messages). They are what a client,
or the fuzzer in ``tests/api/test_fuzz.py``, needs in order to send only what is accepted. A rule between
several values (``since`` before ``until``), about stored data (a target that exists) or in a language of
its own (a JMESPath transformation) is said in words, in the descriptions.

Two decisions, the same everywhere: text never holds NUL (PostgreSQL cannot store it; refused with a 400),
and an event's ``id`` may be left out or null, and hookline then gives the event one.
"""

from __future__ import annotations

import re
from typing import Any, Final

from hookline.core import catalog, credentials, event_schemas, filter_patterns, transform
from hookline.core.models import DeliveryStatus
from hookline.sender.destinations import spec
from hookline.service import ingest, merchants, metrics, names, notifications, recovery, routes, time_inputs
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
_URL_REST: Final = rf"{_LABEL}(?:\.{_LABEL}){{0,4}}(?::[1-9][0-9]{{0,3}})?(?:/[A-Za-z0-9._~-]*){{0,8}}$"
# A listener's URL is its name alone (``sender.listener``): up to 63 letters, digits, '.', '_' or '-'.
_LISTENER: Final = r"listen://[A-Za-z0-9][A-Za-z0-9._-]{0,62}/?$"
TARGET_URL: Final[Schema] = {
    **URL,
    "pattern": rf"^(?:(?:https?|rediss?|nats|tls|amqps?)://{_URL_REST}|{_LISTENER})",
    "description": "http or https (https only where the operator requires it), or a broker's URL (redis, "
    "rediss, nats, tls, amqp, amqps) with a destination, or listen://<name> for `hookline listen`; "
    "loopback and private "
    "addresses are refused unless the operator allows them",
}
_NAME: Final = "[A-Za-z0-9_-]{1,40}"
# Which of the shapes a target's destination must have follows from its URL's scheme (null for http(s)):
# a rule between two values, which the document cannot state.
DESTINATION: Final[Schema] = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "stream": {"type": "string", "pattern": rf"^{_NAME}(?:[.:]{_NAME}){{0,3}}$"},
                "maxlen": {"type": "integer", "minimum": 1, "maximum": spec.MAXLEN_MAX},
            },
            "required": ["stream"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"subject": {"type": "string", "pattern": rf"^{_NAME}(?:\.{_NAME}){{0,4}}$"}},
            "required": ["subject"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "exchange": {"type": "string", "pattern": rf"^(?:{_NAME}(?:\.{_NAME}){{0,3}})?$"},
                "routing_key": {"type": "string", "pattern": rf"^(?:{_NAME}(?:\.{_NAME}){{0,3}})?$"},
            },
            "required": ["exchange", "routing_key"],
            "additionalProperties": False,
        },
        {"type": "null"},
    ],
    "examples": [{"stream": "hookline-events", "maxlen": 100000}],
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
_TYPE_WORD: Final = "|".join(re.escape(word) for word in ROUTE_EVENT_TYPE["enum"])
EVENT_TYPE_FILTER: Final[Schema] = {
    "pattern": rf"^(?:(?:{_TYPE_WORD})(?:,(?:{_TYPE_WORD}))*)?$",
    "maxLength": 2000,
    "description": "comma-separated event types, family wildcards (order.*) or *, as routes take them",
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
_AUTH_LINE: Final[Schema] = {
    "type": "string",
    "maxLength": credentials.MAX_FIELD,
    "pattern": r"^[^\r\n]*[^\s][^\r\n]*$",
}
_AUTH_PEM: Final[Schema] = {"type": "string", "minLength": 1, "maxLength": credentials.MAX_FIELD}


def _auth_of(kind: str, fields: Schema, required: list[str]) -> Schema:
    return {
        "type": "object",
        "required": ["type", *required],
        "properties": {"type": {"const": kind}, **fields},
        "additionalProperties": False,
    }


_AUTH_KINDS: Final = [
    _auth_of(
        "basic",
        {"username": {**_AUTH_LINE, "pattern": r"^[^\r\n:]*[^\s:][^\r\n:]*$"}, "password": _AUTH_LINE},
        ["username", "password"],
    ),
    _auth_of(
        "oauth2",
        {
            "token_url": {"type": "string", **URL},
            "client_id": _AUTH_LINE,
            "client_secret": _AUTH_LINE,
            "scope": {"anyOf": [_AUTH_LINE, {"type": "null"}]},
        },
        ["token_url", "client_id", "client_secret"],
    ),
    _auth_of("mtls", {"certificate": _AUTH_PEM, "private_key": _AUTH_PEM}, ["certificate", "private_key"]),
]


def auth(schema: Schema) -> None:
    """The schema of a target's ``auth``: one of the three kinds, or null (none; in a PATCH: remove it)."""
    schema.clear()
    schema.update(
        {
            "anyOf": [{"oneOf": _AUTH_KINDS}, {"type": "null"}],
            "description": (
                "How hookline authenticates to the receiver (docs/receivers.md): "
                '`{"type": "basic", "username", "password"}`, '
                '`{"type": "oauth2", "token_url", "client_id", "client_secret", "scope"?}` (client '
                "credentials; the token is cached until it expires) or "
                '`{"type": "mtls", "certificate", "private_key"}` (PEM, the key unencrypted and the '
                "certificate's). The secrets (password, client_secret, private_key) are write-only: answers "
                "show the type and the other fields. Saving one needs HOOKLINE_SECRET_KEY (409 without it)."
            ),
            "examples": [{"type": "basic", "username": "hookline", "password": "s3cret"}],
        }
    )


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
ORDERING: Final[Schema] = {
    "description": "per-key ordering: none (in parallel), object (one at a time per data.object id, in the "
    "order the events were accepted) or customer (per customer); deliveries of one key carry "
    "Hookline-Ordering-Key and Hookline-Sequence",
}
SNAPSHOT: Final[Schema] = {
    "propertyNames": {"enum": list(catalog.families(entitlements=True))},
    "additionalProperties": {"type": "array", "items": {"enum": list(routes.SNAPSHOT_COLUMNS)}},
    "description": "family: the data to add; order and item data cannot be added to subscriber or "
    "subscription events",
}
# Visible text: at least one character that is not a space, and none that is a control or invisible one
# (``hookline.names``; Python's ``\\s`` and ``\\S`` are Unicode-aware, as ECMAScript's are).


def _char(code: int) -> str:
    return f"\\u{code:04x}" if code < 0x10000 else chr(code)  # astral characters as themselves


def _class_of(refused: list[int]) -> str:
    """The code points ``refused`` (ascending) as the ranges of a character class."""
    ranges: list[list[int]] = []
    for code in refused:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


# Surrogates (refused too) are left out: no regex engine takes them in a class, and no UTF-8 text holds them.
_HIDDEN: Final = _class_of(
    [
        code
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF and names.hidden_character(chr(code)) is not None
    ]
)
NAME: Final[Schema] = {"pattern": rf"^[^{_HIDDEN}]*[^\s{_HIDDEN}][^{_HIDDEN}]*$"}
MERCHANT_PUBLIC_ID: Final[Schema] = {
    "pattern": rf"^(?!{merchants.OWN_PREFIX}){merchants.PUBLIC_ID.pattern}$",
    "description": "the platform's merchant id: 1 to 100 letters, digits, '.', '_', ':' or '-', starting "
    f"with a letter or digit (not with {merchants.OWN_PREFIX!r}); null: none",
}
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
        {"type": "number", **between(time_inputs.MIN_EPOCH, time_inputs.MAX_EPOCH)},
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
# An event as POST /v1/events takes it (also the event of a preview): one shape per family, whose
# ``data.object`` is the family's schema (``GET /v1/event-types/{type}``), its ids indexed for search (at
# most 100 characters each).
_INDEXED: Final[Schema] = {"type": "string", "maxLength": ingest.INDEXED_ID_MAX}


def _object_of(family: str) -> Schema:
    schema = {k: v for k, v in event_schemas.family_schema(family).items() if not k.startswith("$")}
    properties = dict(schema["properties"])
    for name in ("public_id", "merchant_user_id", "customer"):
        properties[name] = {**properties.get(name, _INDEXED), "maxLength": ingest.INDEXED_ID_MAX}
    return {**schema, "properties": properties}


def _event_of(family: str) -> Schema:
    return {
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
                "enum": [t.type for t in _EVERY_TYPE if t.family == family],
            },
            "created": {"type": "integer", "minimum": 0, "maximum": ingest.MAX_CREATED},
            "data": {"type": "object", "required": ["object"], "properties": {"object": _object_of(family)}},
            "context": {"type": "object"},
        },
    }


EVENT: Final[Schema] = {
    "oneOf": [
        _event_of(family)
        for family in catalog.families(entitlements=True)
        if family != catalog.OPERATIONAL_FAMILY
    ]
}


def preview_event(schema: Schema) -> None:
    """The schema of a preview's ``event``: an event as ``POST /v1/events`` takes it, or null (none)."""
    schema.clear()
    schema["anyOf"] = [EVENT, {"type": "null"}]


CURSOR: Final[Schema] = {"description": "opaque: only a next_cursor this API gave out"}
