"""Resending a delivery respects the route's state."""

from __future__ import annotations

from conftest import Client
from support.pipeline import add_route, order_event, wait_status
from support.receiver import Receiver


async def test_resend_on_a_halted_route_holds_the_delivery(merchant: Client, receiver: Receiver) -> None:
    _, route = await add_route(merchant, receiver.url + "/hook", ["order.*"])
    answer = await merchant.ok("POST", "/v1/events", 202, json=order_event())
    delivery_id = answer["deliveries"][0]
    await wait_status(merchant, delivery_id, "success")
    await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
    held = await merchant.ok("POST", f"/v1/deliveries/{delivery_id}/resend")
    assert held["status"] == "held"
    await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
    await wait_status(merchant, delivery_id, "success")
    assert len(receiver.on("/hook")) == 2
