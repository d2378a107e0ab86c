"""The two representations of a platform object, kept apart: an event's ``data.object`` and the REST one.

The platform shows an object two ways (``docs/payloads.md``): in an event's ``data.object`` (the webhook
representation: epoch-second integers, display labels, ``type`` naming the family, a 1-Click token in some
events) and through its REST API (``"YYYY-MM-DD HH:MM:SS"`` strings, other fields). The object store keeps
the REST representation, what ``/v1/objects`` receives, because that is what a snapshot must carry. An
event therefore never replaces a stored object: it updates only the REST fields it has an equal of, field
by field, as :data:`MAPPINGS` says kind by kind, and leaves the others as the REST API last gave them.

Fields the catalogue marks secret (``catalog.SECRET_FIELDS``) belong to their event alone: no mapping copies
them, and an upsert that brings one is refused, so they are never stored and never reach a snapshot.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from hookline.core import catalog, samples, snapshot
from hookline.core.models import JSON

# The latest epoch a REST time can show (9999-12-31T23:59:59Z): beyond it there is no date to write.
MAX_EPOCH: Final = 253_402_300_799


@dataclass(frozen=True, slots=True)
class FieldMap:
    """How one kind's webhook fields become REST fields (all under the same name).

    ``copied``: the same value in both. ``times``: epoch seconds in the event, a REST time string in the
    store (UTC, as hookline writes REST times everywhere). ``left_out``: fields the REST representation has
    no equal of, each with the reason, for the documentation and the tests.
    """

    copied: frozenset[str]
    times: frozenset[str]
    left_out: Mapping[str, str]


_TYPE = "names the event's family (REST has no such field, or another one)"
# Subscriptions and orders: every field of the webhook object (``samples``) is copied, but for these times.
_SUBSCRIPTION_TIMES = frozenset({"created", "updated", "cancelled"})
_ORDER_TIMES = frozenset({"created", "cancelled"})

MAPPINGS: Final[Mapping[str, FieldMap]] = MappingProxyType(
    {
        "customer": FieldMap(
            copied=frozenset(
                {
                    "merchant",
                    "merchant_user_id",
                    "session_id",
                    "first_name",
                    "last_name",
                    "email",
                    "phone_number",
                    "phone_type",
                    "live",
                    "extra_data",
                    "locale",
                }
            ),
            times=frozenset({"created", "last_updated"}),
            left_out=MappingProxyType(
                {
                    "type": _TYPE,
                    "subscription": "the subscription behind this event, not a field of the customer",
                    "subscriptions": "the subscriptions behind this event, not a field of the customer",
                    "phone_type_display": "a display label; REST keeps the code (phone_type)",
                    "locale_display": "a display label; REST keeps the code (locale)",
                }
            ),
        ),
        "subscription": FieldMap(
            copied=frozenset(samples.SUBSCRIPTION_FIELDS) - _SUBSCRIPTION_TIMES,
            times=_SUBSCRIPTION_TIMES,
            left_out=MappingProxyType(
                {
                    "type": _TYPE,
                    "every_period_display": "a display label; REST keeps the code (every_period)",
                }
            ),
        ),
        "order": FieldMap(
            copied=frozenset(samples.ORDER_FIELDS) - _ORDER_TIMES,
            times=_ORDER_TIMES,
            left_out=MappingProxyType(
                {
                    "type": "names the event's family; the REST order's type is another field (a number)",
                    "status_display": "a display label; REST keeps the code (status)",
                }
            ),
        ),
        "item": FieldMap(
            copied=frozenset(
                {
                    "public_id",
                    "order",
                    "subscription",
                    "product",
                    "offer",
                    "quantity",
                    "price",
                    "total_price",
                    "components",
                }
            ),
            times=frozenset(),
            left_out=MappingProxyType(
                {
                    "type": _TYPE,
                    "merchant": "the REST item has no merchant field",
                    "customer": "the REST item has no customer field (the snapshot still follows it)",
                    "first_placed": "a date in the event, a date and time in REST: converting would "
                    "invent the time of day",
                }
            ),
        ),
    }
)

_KIND_FAMILIES: Final = {kind: family for family, kind in snapshot.FAMILY_KINDS.items()}


def secret_fields(kind: str) -> frozenset[str]:
    """The fields marked secret for objects of ``kind``: those its family's events may carry."""
    family = _KIND_FAMILIES.get(kind)
    return catalog.secret_fields(family) if family is not None else frozenset()


def _rest_time(value: Any) -> tuple[bool, Any]:
    """(True, the REST time) for epoch seconds or null; (False, None) for anything else (not converted)."""
    if value is None:
        return True, None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EPOCH:
        return True, samples.rest_time(value)
    return False, None


Convert = Callable[[Any], tuple[bool, Any]] | None


def _fields(mapping: FieldMap, secret: frozenset[str]) -> dict[str, Convert]:
    # A field marked secret is never copied, even were a mapping to name it.
    fields: dict[str, Convert] = {name: None for name in mapping.copied}
    fields.update({name: _rest_time for name in mapping.times})
    return {name: convert for name, convert in fields.items() if name not in secret}


_FIELDS: Final = {kind: _fields(m, secret_fields(kind)) for kind, m in MAPPINGS.items()}


def rest_update(kind: str, obj: JSON) -> JSON:
    """The REST fields an event's ``data.object`` of ``kind`` gives, in the event's order; no secret."""
    fields = _FIELDS.get(kind)
    if fields is None:
        return {}
    update: JSON = {}
    for name, value in obj.items():
        if name not in fields:
            continue
        convert = fields[name]
        if convert is None:
            update[name] = value
            continue
        converted, rest = convert(value)
        if converted:
            update[name] = rest
    return update


def apply(current: JSON | None, update: JSON) -> JSON:
    """``current`` with the fields of ``update`` replaced or added (the others, and their order, kept)."""
    return {**current, **update} if current else dict(update)


def with_identity(kind: str, public_id: str, data: JSON) -> JSON:
    """``data`` with its identity field (``public_id``, a customer's ``merchant_user_id``, a product's
    ``external_product_id``), first, taken from the id it is stored under when the data leaves it out."""
    name = snapshot.key_field(kind)
    return data if name in data else {name: public_id, **data}


def secrets_in(kind: str, data: JSON) -> list[str]:
    """The fields of ``data`` marked secret for ``kind``, sorted."""
    return sorted(secret_fields(kind) & data.keys())
