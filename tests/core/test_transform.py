"""Payload shaping: field selection, the JMESPath transformation and its limits."""

from __future__ import annotations

import copy
import time
from typing import Any

import orjson
import pytest

from hookline.core import payloads, transform
from hookline.core.models import Event
from hookline.core.transform import Failed


def _body() -> dict[str, Any]:
    event = Event(
        id="evt-1",
        merchant_id="m",
        type="order.reminder",
        created=1_700_000_000,
        object={
            "type": "order",
            "public_id": "ord-1",
            "customer": "cust-1",
            "total": "25.00",
            "extra_data": {"gift": True, "note": "leave at door"},
        },
        context=None,
    )
    snapshot = {
        "customer": {"merchant_user_id": "cust-1", "email": "zoë@example.com", "first_name": "Zoë"},
        "items": [
            {"public_id": "itm-1", "product": "sku-1", "quantity": 2, "price": "10.00"},
            {"public_id": "itm-2", "product": "sku-2", "quantity": 1, "price": "5.00"},
        ],
    }
    return payloads.envelope(event, snapshot)


def _shape(body: dict[str, Any], *args: Any) -> Any:
    return orjson.loads(transform.apply(body, *args))


def test_no_settings_send_the_envelope_unchanged() -> None:
    body = _body()
    assert transform.apply(body) == payloads.render(body)
    assert transform.apply(body, None, None, None) == payloads.render(body)
    assert transform.apply(body, [], [], "") == payloads.render(body)


def test_include_keeps_the_paths_and_always_id_and_type() -> None:
    shaped = _shape(_body(), ["data.object.public_id", "snapshot.customer.email"], None, None)
    assert shaped == {
        "id": "evt-1",
        "type": "order.reminder",
        "data": {"object": {"public_id": "ord-1"}},
        "snapshot": {"customer": {"email": "zoë@example.com"}},
    }
    # The envelope's order is kept, whatever the order of the paths.
    assert list(shaped) == ["id", "type", "data", "snapshot"]


def test_a_shorter_include_path_wins() -> None:
    body = _body()
    one = _shape(body, ["data.object.public_id", "data"], None, None)
    other = _shape(body, ["data", "data.object.public_id"], None, None)
    assert one == other == {"id": "evt-1", "type": "order.reminder", "data": body["data"]}


def test_exclude_drops_paths_after_include() -> None:
    body = _body()
    shaped = _shape(body, None, ["data.object.extra_data.note", "snapshot.customer", "context"], None)
    assert shaped["data"]["object"]["extra_data"] == {"gift": True}
    assert shaped["snapshot"] == {"items": body["snapshot"]["items"]}
    assert "context" not in shaped and shaped["created"] == 1_700_000_000

    both = _shape(body, ["data.object", "snapshot.customer"], ["data.object.extra_data", "snapshot"], None)
    assert both == {
        "id": "evt-1",
        "type": "order.reminder",
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "cust-1", "total": "25.00"}},
    }


def test_id_and_type_survive_exclude() -> None:
    shaped = _shape(_body(), None, ["id", "type", "data"], None)
    assert shaped["id"] == "evt-1" and shaped["type"] == "order.reminder" and "data" not in shaped


def test_arrays_are_left_intact() -> None:
    body = _body()
    items = body["snapshot"]["items"]
    # A path through an array keeps the array whole (include) or leaves it alone (exclude).
    assert _shape(body, ["snapshot.items.price"], None, None)["snapshot"] == {"items": items}
    assert _shape(body, None, ["snapshot.items.price"], None)["snapshot"]["items"] == items
    assert _shape(body, ["snapshot.items"], None, None)["snapshot"] == {"items": items}


def test_missing_paths_are_ignored() -> None:
    shaped = _shape(_body(), ["nope", "data.object.nope.deeper", "snapshot.orders.public_id"], ["x.y"], None)
    assert shaped == {"id": "evt-1", "type": "order.reminder", "data": {"object": {}}, "snapshot": {}}
    # A path that runs into a plain value keeps that value.
    assert _shape(_body(), ["data.object.total.cents"], None, None)["data"] == {"object": {"total": "25.00"}}


def test_the_body_is_not_modified() -> None:
    body = _body()
    before = copy.deepcopy(body)
    transform.apply(body, ["data.object"], ["data.object.extra_data"], "{order: data.object.public_id}")
    transform.apply(body, None, ["snapshot.customer", "data.object.extra_data.gift"], None)
    assert body == before


def test_expression_renames_with_a_multiselect_hash() -> None:
    shaped = _shape(_body(), None, None, "{order: data.object.public_id, email: snapshot.customer.email}")
    assert shaped == {"order": "ord-1", "email": "zoë@example.com"}


def test_expression_runs_on_the_selected_body() -> None:
    body = _body()
    assert _shape(body, ["data.object.public_id"], None, "snapshot") is None
    assert _shape(body, ["data.object.public_id"], None, "data.object") == {"public_id": "ord-1"}
    assert _shape(body, None, ["snapshot.items"], "snapshot.items") is None
    expression = "{id: id, items: snapshot.items[?quantity > `1`].{sku: product, qty: quantity}}"
    assert _shape(body, None, None, expression) == {"id": "evt-1", "items": [{"sku": "sku-1", "qty": 2}]}


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("snapshot.items[].product", ["sku-1", "sku-2"]),
        ("data.object.total", "25.00"),
        ("length(snapshot.items)", 2),
        ("sum(snapshot.items[].quantity)", 3),
        ("data.object.extra_data.gift", True),
        ("data.object.nope", None),
        ("`[1, 2]`", [1, 2]),
        ("'raw text'", "raw text"),
    ],
)
def test_any_json_value_can_be_the_body(expression: str, result: Any) -> None:
    raw = transform.apply(_body(), None, None, expression)
    assert raw == orjson.dumps(result)


def test_unicode_is_sent_as_utf8() -> None:
    raw = transform.apply(_body(), None, None, "{name: snapshot.customer.first_name, note: '🎉 ça va'}")
    assert raw == '{"name":"Zoë","note":"🎉 ça va"}'.encode()
    assert "Zoë".encode() in transform.apply(_body(), ["snapshot.customer.first_name"], None, None)


def test_the_same_input_gives_the_same_bytes() -> None:
    expression = "{order: data.object.public_id, skus: sort(snapshot.items[].product)}"
    assert transform.apply(_body(), None, None, expression) == transform.apply(
        _body(), None, None, expression
    )


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("foo.", "not a valid JMESPath expression"),
        ("{order: data.object.public_id", "ends too early"),
        ("'unclosed", "not a valid JMESPath expression"),
        ("a b", "Unexpected token"),
        ("nope(@)", "unknown function nope()"),
        ("length(@, @)", "length() takes 1 argument(s), not 2"),
        ("merge()", "merge() takes at least 1 argument(s), not 0"),
        ("`not json`", "not a valid JMESPath expression"),
        ("   ", "empty"),
        ("a" * 2001, "more than 2000 characters"),
        ("@" + " | @" * 60, "nested more than"),
        ("(" * 999 + "a" + ")" * 999, "nested too deeply"),
    ],
)
def test_compile_errors_fail_clearly(expression: str, says: str) -> None:
    problem = transform.validate(expression)
    assert problem is not None and says in problem
    with pytest.raises(Failed) as failed:
        transform.apply(_body(), None, None, expression)
    assert str(failed.value) == problem


def test_valid_expressions_validate() -> None:
    assert transform.validate("{order: data.object.public_id, email: snapshot.customer.email}") is None
    assert transform.validate("snapshot.items[?quantity > `1`] | sort_by(@, &price)[].product") is None
    assert transform.validate("merge(data.object, {source: 'hookline'})") is None


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("length(data.object.total.nope)", "length()"),
        ("to_number('1e400') | ceil(@)", "OverflowError"),
        ("&foo", "not JSON"),
        ("`18446744073709551616`", "not JSON"),
    ],
)
def test_run_time_errors_fail(expression: str, says: str) -> None:
    assert transform.validate(expression) is None
    with pytest.raises(Failed) as failed:
        transform.apply(_body(), None, None, expression)
    assert says in str(failed.value)


def test_output_larger_than_the_limit_fails() -> None:
    body = {"id": "e", "type": "t", "blob": "x" * 100_000}
    assert len(transform.apply(body, None, None, "[blob, blob]")) > 200_000
    with pytest.raises(Failed, match="262144 bytes"):
        transform.apply(body, None, None, "[blob, blob, blob]")
    with pytest.raises(Failed, match="262144 bytes"):
        transform.apply(body, None, None, "join('', [blob, blob, blob])")
    # The limit is on what an expression makes: a big event passes through unshaped or selected.
    big = {"id": "e", "type": "t", "blob": "é" * 300_000}
    assert len(transform.apply(big)) > 600_000
    assert len(transform.apply(big, ["blob"], None, None)) > 600_000
    with pytest.raises(Failed, match="262144 bytes"):
        transform.apply(big, None, None, "@")


@pytest.mark.parametrize(
    "expression",
    [
        # Each step doubles the value: 2^20 copies of the body, or a 2^20-leaf tree.
        "@" + " | [@, @][]" * 20,
        "@" + " | {a: @, b: @}" * 30 + " | to_string(@)",
        "[" + ", ".join(["@"] * 30) + "][][" + ", ".join(["@"] * 30) + "][][" + ", ".join(["@"] * 30) + "]",
        # Little data but many steps: the work budget stops it.
        "snapshot.items[].[@, @, @, @, @, @, @, @][][] | [?quantity > `0`]" + " | [?price == price]" * 30,
    ],
)
def test_runaway_expressions_are_stopped_quickly(expression: str) -> None:
    body = _body()
    body["snapshot"]["items"] *= 200
    assert transform.validate(expression) is None
    started = time.perf_counter()
    with pytest.raises(Failed, match=r"larger than|too much work"):
        transform.apply(body, None, None, expression)
    assert time.perf_counter() - started < 10  # well under a second alone; the machines are shared


def test_big_honest_transformations_pass() -> None:
    body = _body()
    body["snapshot"]["items"] = [
        {"public_id": f"itm-{i}", "product": f"sku-{i}", "quantity": i % 5, "price": "1.00"}
        for i in range(2000)
    ]
    shaped = _shape(
        body, None, None, "{id: id, items: snapshot.items[?quantity > `0`].{sku: product, q: quantity}}"
    )
    assert len(shaped["items"]) == 1600 and shaped["items"][0] == {"sku": "sku-1", "q": 1}


@pytest.mark.parametrize(
    ("paths", "excluding", "says"),
    [
        (["data.object.public_id", "snapshot.customer.email", "id", "extra-data.gift_1"], False, None),
        (["id"], True, "id and type are always sent"),
        (["type"], True, "id and type are always sent"),
        ([""], False, "non-empty"),
        (["data..object"], False, "not a dotted path"),
        (["data.object."], False, "not a dotted path"),
        (["data object"], False, "not a dotted path"),
        (["items[0]"], False, "not a dotted path"),
        (["a" * 201], False, "at most 200 characters"),
        ([f"f{i}" for i in range(51)], False, "at most 50 paths"),
    ],
)
def test_validate_paths(paths: list[str], excluding: bool, says: str | None) -> None:
    problem = transform.validate_paths(paths, excluding=excluding)
    if says is None:
        assert problem is None
    else:
        assert problem is not None and says in problem
