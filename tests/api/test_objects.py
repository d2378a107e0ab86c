"""``/v1/objects``: upserts one by one and in bulk, reads, validation, tenant isolation; email search."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conftest import Client

CUSTOMER = {"merchant_user_id": "cust-1", "email": "Ada@Example.com", "first_name": "Ada"}


def _problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


async def _other(operator: Client) -> Client:
    body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    return Client(operator.http, body["api_key"])


async def test_put_then_get_answers_the_stored_copy(merchant: Client) -> None:
    put = await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
    assert put["kind"] == "customer" and put["public_id"] == "cust-1" and put["data"] == CUSTOMER
    assert put["updated"].endswith("Z")
    assert await merchant.ok("GET", "/v1/objects/customer/cust-1") == put


async def test_put_replaces_the_whole_copy(merchant: Client) -> None:
    await merchant.ok("PUT", "/v1/objects/order/ord-1", json={"public_id": "ord-1", "total": "1.00", "x": 1})
    await merchant.ok("PUT", "/v1/objects/order/ord-1", json={"total": "2.00"})
    assert (await merchant.ok("GET", "/v1/objects/order/ord-1"))["data"] == {
        "public_id": "ord-1",
        "total": "2.00",
    }


IDENTITY = {"customer": "merchant_user_id", "product": "external_product_id"}


async def test_every_kind_is_accepted_and_read_with_its_identity_field(merchant: Client) -> None:
    for kind in ("customer", "subscription", "order", "item", "address", "payment", "product"):
        put = await merchant.ok("PUT", f"/v1/objects/{kind}/id-1", json={"label": kind})
        identity = IDENTITY.get(kind, "public_id")
        assert put["data"] == {identity: "id-1", "label": kind}  # filled in from the id: first
        assert (await merchant.ok("GET", f"/v1/objects/{kind}/id-1"))["data"] == put["data"]


async def test_unknown_kind_is_404_on_a_path(merchant: Client) -> None:
    assert "customer" in _problem(await merchant.call("PUT", "/v1/objects/invoice/x", json={}), 404)["detail"]
    _problem(await merchant.call("GET", "/v1/objects/invoice/x"), 404)


async def test_missing_object_is_404(merchant: Client) -> None:
    _problem(await merchant.call("GET", "/v1/objects/order/nope"), 404)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"[1, 2]", "data"),
        (b'"text"', "data"),
        (b"null", "data"),
        (b"{not json", "body"),
        (b'{"public_id": "ord-2"}', "data.public_id"),
    ],
)
async def test_malformed_object_is_400(merchant: Client, content: bytes, field: str) -> None:
    response = await merchant.call("PUT", "/v1/objects/order/ord-1", content=content)
    _problem(response, 400, field)
    _problem(await merchant.call("GET", "/v1/objects/order/ord-1"), 404)


async def test_key_field_must_match_the_path(merchant: Client) -> None:
    response = await merchant.call("PUT", "/v1/objects/customer/cust-1", json={"merchant_user_id": "cust-2"})
    _problem(response, 400, "data.merchant_user_id")
    response = await merchant.call("PUT", "/v1/objects/product/sku-1", json={"external_product_id": "sku-2"})
    _problem(response, 400, "data.external_product_id")
    await merchant.ok("PUT", "/v1/objects/product/sku-1", json={"external_product_id": "sku-1"})


async def test_too_long_id_is_400(merchant: Client) -> None:
    _problem(await merchant.call("PUT", f"/v1/objects/order/{'x' * 101}", json={}), 400, "public_id")


async def test_bulk_upsert_counts_by_kind(merchant: Client) -> None:
    objects = [
        {"kind": "customer", "public_id": "cust-1", "data": CUSTOMER},
        {"kind": "order", "public_id": "ord-1", "data": {"customer": "cust-1"}},
        {"kind": "order", "public_id": "ord-2", "data": {"customer": "cust-1"}},
    ]
    answer = await merchant.ok("POST", "/v1/objects", json={"objects": objects})
    assert answer == {"upserted": 3, "kinds": {"customer": 1, "order": 2}}
    assert (await merchant.ok("GET", "/v1/objects/order/ord-2"))["data"] == {
        "public_id": "ord-2",
        "customer": "cust-1",
    }


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"kind": "invoice", "public_id": "x", "data": {}}, "objects[1].kind"),
        ({"kind": "order", "public_id": "", "data": {}}, "objects[1].public_id"),
        ({"kind": "order", "public_id": "ord-9", "data": []}, "objects[1].data"),
        ({"kind": "order", "public_id": "ord-9", "data": {}, "extra": 1}, "objects[1]"),
        ("order", "objects[1]"),
        ({"kind": "customer", "public_id": "cust-1", "data": {}}, "objects[1]"),  # twice in one call
    ],
)
async def test_bulk_is_all_or_nothing(merchant: Client, bad: Any, field: str) -> None:
    good = {"kind": "customer", "public_id": "cust-1", "data": CUSTOMER}
    _problem(await merchant.call("POST", "/v1/objects", json={"objects": [good, bad]}), 400, field)
    _problem(await merchant.call("GET", "/v1/objects/customer/cust-1"), 404)


@pytest.mark.parametrize(
    "body",
    [{"objects": []}, {"objects": "x"}, {}, [], {"objects": [], "other": 1}],
)
async def test_bulk_body_shape_is_checked(merchant: Client, body: Any) -> None:
    _problem(await merchant.call("POST", "/v1/objects", json=body), 400)


async def test_bulk_limit_is_500(merchant: Client) -> None:
    objects = [{"kind": "product", "public_id": f"sku-{i}", "data": {}} for i in range(501)]
    _problem(await merchant.call("POST", "/v1/objects", json={"objects": objects}), 400, "objects")
    answer = await merchant.ok("POST", "/v1/objects", json={"objects": objects[:500]})
    assert answer["upserted"] == 500


async def test_other_merchant_sees_404(operator: Client, merchant: Client) -> None:
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
    other = await _other(operator)
    _problem(await other.call("GET", "/v1/objects/customer/cust-1"), 404)
    # The same id is free for the other merchant, and writing it leaves the first merchant's copy alone.
    await other.ok("PUT", "/v1/objects/customer/cust-1", json={"first_name": "Other"})
    assert (await merchant.ok("GET", "/v1/objects/customer/cust-1"))["data"] == CUSTOMER


async def test_operator_acts_for_a_named_merchant(operator: Client, merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    _problem(await operator.call("PUT", "/v1/objects/order/ord-1", json={}), 400, "merchant")
    await operator.ok("PUT", f"/v1/objects/order/ord-1?merchant={mid}", json={"total": "1"})
    objects = [{"kind": "order", "public_id": "ord-2", "data": {}}]
    await operator.ok("POST", "/v1/objects", json={"merchant": mid, "objects": objects})
    assert (await merchant.ok("GET", "/v1/objects/order/ord-1"))["data"] == {
        "public_id": "ord-1",
        "total": "1",
    }
    await merchant.ok("GET", "/v1/objects/order/ord-2")
    _problem(await operator.call("POST", "/v1/objects?merchant=mer_nope", json={"objects": objects}), 404)


async def test_a_merchant_key_cannot_name_another_merchant(operator: Client, merchant: Client) -> None:
    other = await _other(operator)
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    objects = [{"kind": "order", "public_id": "ord-1", "data": {}}]
    _problem(await other.call("POST", "/v1/objects", json={"merchant": mid, "objects": objects}), 403)


async def test_deliveries_by_customer_email(operator: Client, merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    body = {"name": "all", "target_id": target["id"], "event_types": ["*"], "state": "halted"}
    await merchant.ok("POST", "/v1/routes", 201, json=body)
    await merchant.ok("PUT", "/v1/objects/customer/cust-1", json=CUSTOMER)
    # A customer can also arrive through a subscriber event, which stores its email too.
    subscriber = {"type": "subscriber", "merchant_user_id": "cust-2", "email": "bob@example.com"}
    posted = {
        "events": [
            {
                "id": "e1",
                "type": "order.reminder",
                "data": {"object": {"type": "order", "public_id": "o1", "customer": "cust-1"}},
            },
            {"id": "e2", "type": "subscriber.create", "data": {"object": subscriber}},
            {
                "id": "e3",
                "type": "order.reminder",
                "data": {"object": {"type": "order", "public_id": "o2", "customer": "cust-2"}},
            },
        ]
    }
    answers = await merchant.ok("POST", "/v1/events", 202, json=posted)
    by_event = {a["id"]: a["deliveries"][0] for a in answers}

    async def found(email: str) -> set[str]:
        listed = await merchant.ok("GET", "/v1/deliveries", params={"customer_email": email})
        return {d["id"] for d in listed["data"]}

    assert await found("ada@example.com") == {by_event["e1"]}
    assert await found("  ADA@example.COM ") == {by_event["e1"]}
    assert await found("bob@example.com") == {by_event["e2"], by_event["e3"]}
    assert await found("nobody@example.com") == set()
    assert await found("") == set()
    other = await _other(operator)
    assert (await other.ok("GET", "/v1/deliveries", params={"customer_email": "ada@example.com"}))[
        "data"
    ] == []


async def test_a_forbidden_snapshot_cell_is_refused(merchant: Client) -> None:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    body = {
        "name": "r",
        "target_id": target["id"],
        "event_types": ["*"],
        "snapshot": {"subscription": ["orders"]},
    }
    assert (
        "orders" in _problem(await merchant.call("POST", "/v1/routes", json=body), 400, "snapshot")["detail"]
    )
