"""Webhook bodies: Ordergroove's envelope (``docs/payloads.md``), rendered once."""

from __future__ import annotations

import json

import orjson
import pytest

from hookline.core import payloads
from hookline.core.models import JSON, Event

OBJECT: JSON = {
    "type": "order",
    "merchant": "0e5de2bedc5e11e3a2e4bc764e106cf4",
    "public_id": "c5ca1bc8a1a311ec9a9d0a8b0b7d7f9f",
    "status": 1,
    "total": "27.50",
}


def event(**changes: object) -> Event:
    values: dict[str, object] = {
        "id": "mmmm4444nnnn3333pppp",
        "merchant_id": "m_1",
        "type": "order.success",
        "created": 1592570791,
        "object": OBJECT,
        "context": {"source": "PurchasePOST"},
    }
    values.update(changes)
    return Event(**values)  # type: ignore[arg-type]


class TestEnvelope:
    def test_keys_and_order(self) -> None:
        body = payloads.envelope(event())
        assert list(body) == ["id", "type", "created", "data", "context", "snapshot"]
        assert list(body["data"]) == ["object"]

    def test_values(self) -> None:
        body = payloads.envelope(event())
        assert body == {
            "id": "mmmm4444nnnn3333pppp",
            "type": "order.success",
            "created": 1592570791,
            "data": {"object": OBJECT},
            "context": {"source": "PurchasePOST"},
            "snapshot": {},
        }
        assert isinstance(body["created"], int)

    def test_merchant_id_is_not_leaked_at_top_level(self) -> None:
        assert "merchant_id" not in payloads.envelope(event())

    def test_context_empty_object_when_none(self) -> None:
        assert payloads.envelope(event(context=None))["context"] == {}

    def test_empty_context_kept(self) -> None:
        assert payloads.envelope(event(context={}))["context"] == {}

    @pytest.mark.parametrize("snapshot", [None, {}])
    def test_snapshot_empty_by_default(self, snapshot: JSON | None) -> None:
        assert payloads.envelope(event(), snapshot)["snapshot"] == {}
        assert payloads.envelope(event())["snapshot"] == {}

    def test_snapshot_given(self) -> None:
        snapshot: JSON = {"customer": {"id": "c1"}, "items": [{"id": "i1"}], "products": []}
        body = payloads.envelope(event(), snapshot)
        assert body["snapshot"] == snapshot
        assert list(body) == ["id", "type", "created", "data", "context", "snapshot"]

    def test_fresh_empty_dicts_per_call(self) -> None:
        first = payloads.envelope(event(context=None))
        first["context"]["x"] = 1
        first["snapshot"]["y"] = 2
        second = payloads.envelope(event(context=None))
        assert second["context"] == {}
        assert second["snapshot"] == {}


class TestRender:
    def test_compact_bytes(self) -> None:
        rendered = payloads.render(payloads.envelope(event()))
        assert isinstance(rendered, bytes)
        assert b"\n" not in rendered
        assert b": " not in rendered
        assert b", " not in rendered
        assert rendered.startswith(
            b'{"id":"mmmm4444nnnn3333pppp","type":"order.success","created":1592570791,'
        )
        assert rendered.endswith(b',"snapshot":{}}')

    def test_parses_back_equal(self) -> None:
        body = payloads.envelope(event(), {"customer": {"id": "c1"}, "orders": [{"total": 1.5, "n": None}]})
        rendered = payloads.render(body)
        assert orjson.loads(rendered) == body
        assert json.loads(rendered) == body
        assert list(json.loads(rendered)) == ["id", "type", "created", "data", "context", "snapshot"]

    def test_non_ascii_survives(self) -> None:
        obj: JSON = {
            "type": "subscriber",
            "first_name": "Zoë",
            "city": "München",
            "note": "日本 🛒",
            "q": '"\\',
        }
        body = payloads.envelope(event(type="subscriber.create", object=obj))
        rendered = payloads.render(body)
        assert "Zoë".encode() in rendered
        assert "🛒".encode() in rendered
        assert orjson.loads(rendered) == body
        assert json.loads(rendered.decode("utf-8"))["data"]["object"] == obj

    def test_same_input_same_bytes(self) -> None:
        assert payloads.render(payloads.envelope(event())) == payloads.render(payloads.envelope(event()))

    def test_empty_object(self) -> None:
        assert payloads.render({}) == b"{}"
