"""Deliveries waiting in the queue, made through the API, for the tests of the queue's storage."""

from __future__ import annotations

from conftest import OPERATOR_KEY, Client, app_settings, running_app


async def two_targets_three_events(db_url: str) -> dict[str, str]:
    """Deliveries of three events to each of two targets; the targets' ids by name."""
    async with running_app(app_settings(db_url), worker=False) as http:
        merchant = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": "m"})
        client = Client(http, merchant["api_key"])
        targets = {}
        for name in ("stalled", "healthy"):
            target = await client.ok("POST", "/v1/targets", 201, json={"url": f"https://{name}.example/h"})
            route = {"name": name, "target_id": target["id"], "event_types": ["order.*"]}
            await client.ok("POST", "/v1/routes", 201, json=route)
            targets[name] = target["id"]
        event = {
            "type": "order.reminder",
            "data": {"object": {"type": "order", "public_id": "o1", "customer": "c1"}},
        }
        for i in range(3):
            await client.ok("POST", "/v1/events", 202, json={**event, "id": f"e{i}"})
    return targets
