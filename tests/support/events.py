"""Events for tests: the smallest ``data.object`` each type's schema accepts (``core.event_schemas``).

A subscriber is identified by ``merchant_user_id``; every other object by ``public_id`` and the
``customer`` it belongs to; every object says its ``type`` (the family).
"""

from __future__ import annotations

from typing import Any


def object_of(
    event_type: str, public_id: str = "ord-1", customer: str = "cust-1", **extra: Any
) -> dict[str, Any]:
    family = event_type.partition(".")[0]
    if family == "subscriber":
        return {"type": family, "merchant_user_id": customer, **extra}
    return {"type": family, "public_id": public_id, "customer": customer, **extra}


def event(event_type: str = "order.reminder", event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A valid event body; ``fields`` go into its ``data.object``."""
    body: dict[str, Any] = {"type": event_type, "data": {"object": object_of(event_type, **fields)}}
    if event_id is not None:
        body["id"] = event_id
    return body
