"""Broker targets in the dashboard: their credentials never shown; made from the route form, with the
destination's problems shown next to its field."""

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


async def test_a_broker_target_is_made_from_the_route_form(http: httpx.AsyncClient, merchant: Client) -> None:
    token = await signed_in(http, merchant.key)
    body = {"csrf": token, "name": "x", "new_url": URL, "event_types": "order.*"}
    for destination, words in (
        ("", "needs a destination"),
        ("stream=orders", "needs a destination"),
        ('{"exchange": "shop"}', "routing_key: required"),
        ('{"exchange": "shop", "routing_key": "k", "stream": "s"}', "stream: unknown field"),
    ):
        answer = await http.post("/dashboard/routes/new", data={**body, "new_destination": destination})
        assert answer.status_code == 400 and 'id="err-new_destination"' in answer.text, destination
        assert words in answer.text, destination
        assert (await merchant.ok("GET", "/v1/targets"))["data"] == []
    http_with_one = {**body, "new_url": "http://127.0.0.1:9/x", "new_destination": '{"stream": "s"}'}
    answer = await http.post("/dashboard/routes/new", data=http_with_one)
    assert answer.status_code == 400 and "only a broker target" in answer.text

    destination = '{"exchange": "shop", "routing_key": "orders"}'
    answer = await http.post("/dashboard/routes/new", data={**body, "new_destination": destination})
    assert answer.status_code == 303, answer.text
    [target] = (await merchant.ok("GET", "/v1/targets"))["data"]
    assert target["destination"] == {"exchange": "shop", "routing_key": "orders"}
    assert target["url"] == "amqp://shop:****@127.0.0.1/"
