"""``event_type`` filters take the wildcards routes take (``order.*``), in the API and the dashboard."""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import Client
from support.dashboard import signed_in

EVENTS = {
    "evt-rem": "order.reminder",
    "evt-ok": "order.success",
    "evt-sub": "subscription.cancel",
    "evt-item": "item.create",
}


def _event(event_id: str, kind: str) -> dict[str, Any]:
    family = kind.partition(".")[0]
    return {
        "id": event_id,
        "type": kind,
        "data": {"object": {"type": family, "public_id": f"{family}-1", "customer": "cust-1"}},
    }


async def _world(merchant: Client) -> tuple[dict[str, Any], dict[str, str]]:
    """One route taking everything, and one event (so one delivery) of each type in ``EVENTS``."""
    # Port 9 refuses: the deliveries stay pending with an hour to their retry.
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
    route = await merchant.ok(
        "POST",
        "/v1/routes",
        201,
        json={
            "name": "all",
            "target_id": target["id"],
            "event_types": ["*"],
            "retry": {"initial_interval_s": 3600, "max_interval_s": 3600},
        },
    )
    by_event = {}
    for event_id, kind in EVENTS.items():
        [delivery] = (await merchant.ok("POST", "/v1/events", 202, json=_event(event_id, kind)))["deliveries"]
        by_event[event_id] = delivery
    return route, by_event


async def _delivered_events(merchant: Client, **params: Any) -> set[str]:
    page = await merchant.ok("GET", "/v1/deliveries", params={"limit": 500, **params})
    return {d["event_id"] for d in page["data"]}


async def _events(merchant: Client, **params: Any) -> set[str]:
    page = await merchant.ok("GET", "/v1/events", params={"limit": 500, **params})
    return {e["id"] for e in page["data"]}


async def test_deliveries_and_events_filter_by_wildcards(merchant: Client) -> None:
    await _world(merchant)
    orders = {"evt-rem", "evt-ok"}
    assert await _delivered_events(merchant, event_type="order.*") == orders
    assert await _delivered_events(merchant, event_type="order.success") == {"evt-ok"}
    assert await _delivered_events(merchant, event_type="order.*,item.create") == orders | {"evt-item"}
    assert await _delivered_events(merchant, event_type="*") == set(EVENTS)
    assert await _delivered_events(merchant, event_type="subscriber.*") == set()
    assert await _events(merchant, event_type="order.*") == orders
    assert await _events(merchant, event_type="subscription.*,item.*") == {"evt-sub", "evt-item"}
    assert await _events(merchant, type="order.*") == orders  # the older spelling
    assert await _events(merchant) == set(EVENTS)


async def test_an_unknown_type_or_family_is_a_400_naming_it(merchant: Client) -> None:
    for path in ("/v1/deliveries", "/v1/events"):
        for bad in ("order.sucess", "orders.*", "order.*,nothing"):
            response = await merchant.call("GET", path, params={"event_type": bad})
            assert response.status_code == 400, (path, bad, response.text)
            [problem] = response.json()["errors"]
            assert problem["field"] == "event_type" and bad.split(",")[-1] in problem["detail"]


async def test_the_dashboard_filters_deliveries_by_family(http: httpx.AsyncClient, merchant: Client) -> None:
    route, by_event = await _world(merchant)
    await signed_in(http, merchant.key)
    page = await http.get(f"/dashboard/routes/{route['id']}", params={"event_type": "order.*"})
    assert page.status_code == 200
    assert '<option value="order.*" selected>' in page.text
    shown = set(re.findall(r'href="/dashboard/deliveries/(dlv_[^"]+)"', page.text))
    assert shown == {by_event["evt-rem"], by_event["evt-ok"]}
