"""Which key a route orders an event's delivery by, and how the headers carry it."""

from __future__ import annotations

from typing import Any

from hookline.core import ordering
from hookline.core.models import Event
from support.events import object_of


def _event(event_type: str, **fields: Any) -> Event:
    return Event("e1", "m1", event_type, 1, object_of(event_type, **fields), None)


def test_the_key_of_each_ordering() -> None:
    order = _event("order.reminder", public_id="o1", customer="c1")
    subscriber = _event("subscriber.create", customer="c2")  # a subscriber is its merchant_user_id
    assert [ordering.key(o, order) for o in ("none", "object", "customer", None)] == [None, "o1", "c1", None]
    assert ordering.key("object", subscriber) == "c2" and ordering.key("customer", subscriber) == "c2"
    assert ordering.key("object", _event("order.reminder", public_id=42)) == "42"


def test_events_without_the_id_and_hookline_notices_are_unordered() -> None:
    no_id = Event("e1", "m1", "order.reminder", 1, {"type": "order", "customer": ""}, None)
    assert ordering.key("object", no_id) is None and ordering.key("customer", no_id) is None
    notice = Event("e2", "m1", "hookline.route.halted", 1, {"route_id": "rte_1"}, None)
    assert ordering.key("object", notice) is None


def test_headers_carry_the_key_safely_and_the_number_when_there_is_one() -> None:
    assert ordering.headers(None, None) == ()
    assert ordering.headers("sub_1:a/b", 3) == (
        ("Hookline-Ordering-Key", "sub_1:a/b"),
        ("Hookline-Sequence", "3"),
    )
    assert ordering.headers("a b%\r\nX: é", None) == (("Hookline-Ordering-Key", "a%20b%25%0D%0AX:%20%C3%A9"),)
