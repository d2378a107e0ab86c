"""Broker targets in the dashboard: their credentials never shown, a broker URL typed in the form refused
next to the field (its destination is set through the API)."""

from __future__ import annotations

import httpx

from conftest import Client
from support.dashboard import signed_in

URL = "amqp://shop:hunter2-secret@127.0.0.1:5672/"


async def test_broker_password_is_not_shown(http: httpx.AsyncClient, merchant: Client) -> None:
    destination = {"exchange": "shop", "routing_key": "orders"}
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": URL, "destination": destination})
    body = {"name": "to rabbit", "target_id": target["id"], "event_types": ["order.*"]}
    route = await merchant.ok("POST", "/v1/routes", 201, json=body)
    await signed_in(http, merchant.key)
    for page in ("/dashboard/", f"/dashboard/routes/{route['id']}", "/dashboard/routes/new"):
        answer = await http.get(page)
        assert answer.status_code == 200, page
        assert "hunter2" not in answer.text and "amqp://shop:****@127.0.0.1/" in answer.text, page


async def test_a_broker_url_in_the_route_form_is_refused_next_to_it(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    token = await signed_in(http, merchant.key)
    body = {"csrf": token, "name": "x", "new_url": URL, "event_types": "order.*"}
    answer = await http.post("/dashboard/routes/new", data=body)
    assert answer.status_code == 400 and 'id="err-new_url"' in answer.text
    assert "needs a destination" in answer.text and "hunter2" not in answer.text.replace(URL, "")
    assert (await merchant.ok("GET", "/v1/targets"))["data"] == []
