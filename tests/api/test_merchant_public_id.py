"""Merchants carry ``public_id``, the platform's merchant id: set and checked by the operator, accepted by
``/webhook_targets`` wherever it takes ``merchant``, and filled into events' ``data.object.merchant``."""

from __future__ import annotations

from typing import Any

import orjson

from conftest import Client, new_merchant

PLATFORM_ID = "0e5de2bedc5e11e3a2e4bc764e106cf4"  # the shape of Ordergroove's merchant public ids


def _fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


async def test_the_operator_sets_checks_and_clears_the_public_id(operator: Client) -> None:
    made = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme", "public_id": PLATFORM_ID})
    assert made["public_id"] == PLATFORM_ID
    shown = await operator.ok("GET", f"/v1/merchants/{made['id']}")
    assert shown == {"id": made["id"], "name": "Acme", "public_id": PLATFORM_ID, "created": shown["created"]}
    assert [m["public_id"] for m in (await operator.ok("GET", "/v1/merchants"))["data"]] == [PLATFORM_ID]

    for bad in ("has space", "", "x" * 101, "mer_01ABC", "-leading", "tab\tid", 42, "é"):
        response = await operator.call("POST", "/v1/merchants", json={"name": "Bad", "public_id": bad})
        assert response.status_code == 400, (bad, response.text)
        assert _fields(response) == ["public_id"]
        patched = await operator.call("PATCH", f"/v1/merchants/{made['id']}", json={"public_id": bad})
        assert patched.status_code == 400 and _fields(patched) == ["public_id"]
    assert len((await operator.ok("GET", "/v1/merchants"))["data"]) == 1

    taken = await operator.call("POST", "/v1/merchants", json={"name": "Copy", "public_id": PLATFORM_ID})
    assert taken.status_code == 409 and _fields(taken) == ["public_id"]
    assert made["id"] in taken.json()["detail"]
    other = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Other"})
    assert other["public_id"] is None
    response = await operator.call("PATCH", f"/v1/merchants/{other['id']}", json={"public_id": PLATFORM_ID})
    assert response.status_code == 409

    # Setting it again on its own merchant is no conflict; null clears it; then another may take it.
    same = await operator.ok("PATCH", f"/v1/merchants/{made['id']}", json={"public_id": PLATFORM_ID})
    assert same["public_id"] == PLATFORM_ID and same["name"] == "Acme"
    cleared = await operator.ok("PATCH", f"/v1/merchants/{made['id']}", json={"public_id": None})
    assert cleared["public_id"] is None and cleared["name"] == "Acme"
    moved = await operator.ok(
        "PATCH", f"/v1/merchants/{other['id']}", json={"public_id": PLATFORM_ID, "name": "Renamed"}
    )
    assert moved == {**moved, "public_id": PLATFORM_ID, "name": "Renamed"}


async def test_only_the_operator_patches_merchants(operator: Client, merchant: Client) -> None:
    mid = merchant.merchant_id  # type: ignore[attr-defined]
    assert (
        await merchant.call("PATCH", f"/v1/merchants/{mid}", json={"public_id": "abc"})
    ).status_code == 403
    assert (await operator.call("PATCH", "/v1/merchants/mer_nope", json={"name": "x"})).status_code == 404
    before = await operator.ok("GET", f"/v1/merchants/{mid}")
    # A null name leaves the name (as a null field does in every PATCH); an empty one is refused.
    assert (await operator.ok("PATCH", f"/v1/merchants/{mid}", json={"name": None}))["name"] == before["name"]
    nameless = await operator.call("PATCH", f"/v1/merchants/{mid}", json={"name": " "})
    assert nameless.status_code == 400 and _fields(nameless) == ["name"]
    unknown = await operator.call("PATCH", f"/v1/merchants/{mid}", json={"publicid": "x"})
    assert unknown.status_code == 400
    assert (await operator.ok("GET", f"/v1/merchants/{mid}"))["public_id"] is None


async def test_webhook_targets_take_the_public_id_wherever_they_take_merchant(operator: Client) -> None:
    acme = await new_merchant(operator, "Acme", PLATFORM_ID)
    rival = await new_merchant(operator, "Rival", "rival-1")
    body = {"merchant": PLATFORM_ID, "target_url": "http://127.0.0.1:9/og"}
    made = await operator.ok("POST", "/webhook_targets", 201, json=body)
    assert made["merchant"] == acme.merchant_id  # type: ignore[attr-defined]
    assert [t["id"] for t in (await acme.ok("GET", "/v1/targets"))["data"]] == [made["id"]]

    query = {"merchant": PLATFORM_ID}
    listed = await operator.ok("GET", "/webhook_targets", params=query)
    assert [t["id"] for t in listed["results"]] == [made["id"]]
    await operator.ok("GET", f"/webhook_targets/{made['id']}", params=query)
    await operator.ok("PATCH", f"/webhook_targets/{made['id']}", params=query, json={"enabled": False})
    await operator.ok("GET", f"/webhook_targets/{made['id']}/signing_key", params=query)
    await operator.ok("GET", f"/webhook_targets/{made['id']}/metrics", params=query)
    flt = await operator.ok(
        "POST", f"/webhook_targets/{made['id']}/filters", 201, params=query, json={"pattern": "order.*"}
    )
    await operator.ok("GET", f"/webhook_targets/{made['id']}/filters/{flt['id']}", params=query)
    # Under the other merchant's platform id the target is not there.
    missing = await operator.call("GET", f"/webhook_targets/{made['id']}", params={"merchant": "rival-1"})
    assert missing.status_code == 404 and set(missing.json()) == {"detail"}
    unknown = await operator.call("GET", "/webhook_targets", params={"merchant": "nobody-42"})
    assert unknown.status_code == 404

    # A merchant key may name itself by its platform id, never another merchant.
    own = await acme.ok("POST", "/webhook_targets", 201, json=body)
    assert own["merchant"] == acme.merchant_id  # type: ignore[attr-defined]
    foreign = await rival.call("POST", "/webhook_targets", json=body)
    assert foreign.status_code == 403 and set(foreign.json()) == {"detail"}


async def _posted(merchant: Client, event: dict[str, Any]) -> dict[str, Any]:
    """The stored event and the body its delivery carries."""
    [delivery_id] = (await merchant.ok("POST", "/v1/events", 202, json=event))["deliveries"]
    stored = await merchant.ok("GET", f"/v1/events/{event['id']}")
    delivered = orjson.loads((await merchant.ok("GET", f"/v1/deliveries/{delivery_id}"))["payload"])
    assert delivered["data"]["object"] == stored["data"]["object"]
    return dict(stored["data"]["object"])


async def test_events_get_the_merchant_filled_from_the_public_id(operator: Client) -> None:
    acme = await new_merchant(operator, "Acme", PLATFORM_ID)
    target = await acme.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    route = {
        "name": "all",
        "target_id": target["id"],
        "event_types": ["*"],
        "retry": {"initial_interval_s": 3600, "max_interval_s": 3600},
    }
    await acme.ok("POST", "/v1/routes", 201, json=route)
    obj = {"type": "order", "public_id": "ord-1", "customer": "cust-1"}

    missing = {"id": "evt-1", "type": "order.reminder", "data": {"object": obj}}
    assert await _posted(acme, missing) == {**obj, "merchant": PLATFORM_ID}
    # The same event again is the same event (compared as posted), not a conflict.
    again = await acme.ok("POST", "/v1/events", 202, json=missing)
    assert again["id"] == "evt-1"
    null = {"id": "evt-2", "type": "order.reminder", "data": {"object": {**obj, "merchant": None}}}
    assert (await _posted(acme, null))["merchant"] == PLATFORM_ID
    own = {"id": "evt-3", "type": "order.reminder", "data": {"object": {**obj, "merchant": "theirs"}}}
    assert (await _posted(acme, own))["merchant"] == "theirs"

    # A new public id applies at once in this process; a merchant without one gets nothing filled in.
    mid = acme.merchant_id  # type: ignore[attr-defined]
    await operator.ok("PATCH", f"/v1/merchants/{mid}", json={"public_id": "new-id"})
    later = {"id": "evt-4", "type": "order.reminder", "data": {"object": obj}}
    assert (await _posted(acme, later))["merchant"] == "new-id"
    await operator.ok("PATCH", f"/v1/merchants/{mid}", json={"public_id": None})
    last = {"id": "evt-5", "type": "order.reminder", "data": {"object": obj}}
    assert "merchant" not in await _posted(acme, last)
