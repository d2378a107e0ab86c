"""Per-key ordering: which key a route orders an event's delivery by, and the headers that tell it.

A route's ``ordering`` is ``none`` (deliveries go in parallel, as they always did), ``object`` (keyed on the
event's own object: ``data.object.public_id``, the subscriber's ``merchant_user_id`` for subscriber events)
or ``customer`` (keyed on the customer the event is about: the subscriber itself for subscriber events, the
object's ``customer`` otherwise). Deliveries of one key on one route are numbered 1, 2, 3 ... in the order
their events were accepted and attempted one at a time in that order (``storage.ordering``,
``storage.queue``). An event without the id its route orders by is delivered unordered.
"""

from __future__ import annotations

import string
from enum import StrEnum
from typing import Final
from urllib.parse import quote

from hookline.core import catalog
from hookline.core.models import JSON, Event

KEY_MAX: Final = 100  # an id longer than this is refused at ingest (``service.ingest.INDEXED_ID_MAX``)
KEY_HEADER: Final = "Hookline-Ordering-Key"
SEQUENCE_HEADER: Final = "Hookline-Sequence"
# Printable ASCII but ``%`` and space stays as it is in the header; anything else is percent-encoded (UTF-8).
_HEADER_SAFE: Final = "".join(c for c in string.punctuation if c != "%")


class Ordering(StrEnum):
    NONE = "none"
    OBJECT = "object"
    CUSTOMER = "customer"


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool | dict | list) or value == "":
        return None
    return str(value)


def object_id(event_type: str, obj: JSON) -> str | None:
    """The id of the object an event is about (hookline's own notices: the route they are about)."""
    if catalog.is_operational(event_type):
        return _text(obj.get("route_id"))
    return _text(obj.get("public_id")) or _text(obj.get("merchant_user_id"))


def customer_id(event_type: str, obj: JSON) -> str | None:
    """The customer an event is about: the subscriber itself, or the object's ``customer``."""
    if catalog.is_operational(event_type):
        return None
    if event_type.partition(".")[0] == "subscriber":
        return _text(obj.get("merchant_user_id")) or _text(obj.get("customer"))
    return _text(obj.get("customer")) or _text(obj.get("merchant_user_id"))


def key(ordering: str | None, event: Event) -> str | None:
    """The key a route with this ``ordering`` orders the event's delivery by; None: unordered.

    hookline's own notices (``hookline.*``) are never ordered: they are about the route, not an object.
    """
    if ordering in (None, Ordering.NONE) or catalog.is_operational(event.type):
        return None
    found = (
        object_id(event.type, event.object)
        if ordering == Ordering.OBJECT
        else customer_id(event.type, event.object)
    )
    return found[:KEY_MAX] if found is not None else None


def headers(ordering_key: str | None, sequence: int | None) -> tuple[tuple[str, str], ...]:
    """The request headers of a keyed delivery: its key, and its number when it takes part in the key's
    order (a resent delivery goes out of band: it carries its key but no number)."""
    if ordering_key is None:
        return ()
    shown = header_value(ordering_key)
    if sequence is None:
        return ((KEY_HEADER, shown),)
    return ((KEY_HEADER, shown), (SEQUENCE_HEADER, str(sequence)))


def header_value(ordering_key: str) -> str:
    """The key as the header carries it: itself when it is printable ASCII without ``%`` or spaces (ids
    are), else percent-encoded UTF-8, so no id can break the request or smuggle a header in."""
    return quote(ordering_key, safe=_HEADER_SAFE)
