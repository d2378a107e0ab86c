"""Webhook bodies: Ordergroove's envelope, serialised once.

The body is built when the event is accepted and stored with the delivery, so every retry sends the same
bytes and a later change of the route's settings only affects later events.
"""

from __future__ import annotations

import orjson

from hookline.core.models import JSON, Event


def envelope(event: Event, snapshot: JSON | None = None) -> JSON:
    """The envelope of Ordergroove's Event Payloads reference: top-level ``context`` and ``snapshot``."""
    return {
        "id": event.id,
        "type": event.type,
        "created": event.created,
        "data": {"object": event.object},
        "context": event.context if event.context is not None else {},
        "snapshot": snapshot or {},
    }


def render(body: JSON) -> bytes:
    """Compact JSON bytes; keys keep their insertion order so receivers see a stable layout."""
    return orjson.dumps(body)
