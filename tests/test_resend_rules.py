"""Resending a delivery respects the route's state."""

from __future__ import annotations

from conftest import Client
from support.receiver import Receiver
from test_pipeline import _event, _route, _wait_status


async def test_resend_on_a_halted_route_holds_the_delivery(merchant: Client, receiver: Receiver) -> None:
    _, route = await _route(merchant, receiver.url + "/hook", ["order.*"])
    answer = await merchant.ok("POST", "/v1/events", 202, json=_event())
    delivery_id = answer["deliveries"][0]
    await _wait_status(merchant, delivery_id, "success")
    await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
    held = await merchant.ok("POST", f"/v1/deliveries/{delivery_id}/resend")
    assert held["status"] == "held"
    await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
    await _wait_status(merchant, delivery_id, "success")
    assert len(receiver.on("/hook")) == 2
