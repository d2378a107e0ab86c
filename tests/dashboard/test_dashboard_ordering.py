"""The dashboard's side of per-key ordering: the route form's setting and what a delivery waits for."""

from __future__ import annotations

import httpx

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from support.dashboard import signed_in
from support.events import event


async def test_the_route_form_sets_and_shows_the_ordering(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    body = {
        "csrf": token,
        "name": "Subscriptions in order",
        "new_url": "http://127.0.0.1:9/hooks",
        "event_types": ["subscription.*"],
        "ordering": "customer",
    }
    created = await http.post("/dashboard/routes/new", data=body)
    assert created.status_code == 303, created.text
    [route] = (await merchant.ok("GET", "/v1/routes"))["data"]
    assert route["ordering"] == "customer"
    edit = await http.get(f"/dashboard/routes/{route['id']}/edit")
    assert '<option value="customer" selected>' in edit.text
    changed = {**body, "target_id": route["target_id"], "new_url": "", "ordering": "sideways"}
    refused = await http.post(f"/dashboard/routes/{route['id']}/edit", data=changed)
    assert refused.status_code == 400 and 'id="err-ordering"' in refused.text
    assert (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["ordering"] == "customer"


async def test_a_waiting_delivery_says_what_it_waits_for(db_url: str) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        target = await merchant.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/h"})
        route = {"name": "o", "target_id": target["id"], "event_types": ["order.*"], "ordering": "object"}
        await merchant.ok("POST", "/v1/routes", 201, json=route)
        batch = [event("order.reminder", f"e{i}", public_id="ord-9") for i in (1, 2)]
        [first, second] = await merchant.ok("POST", "/v1/events", 202, json={"events": batch})
        await signed_in(http, merchant.key)
        card = await http.get(f"/dashboard/deliveries/{second['deliveries'][0]}")
        assert card.status_code == 200
        assert "<code>ord-9</code> · number 2 · waiting for" in card.text
        assert first["deliveries"][0] in card.text
