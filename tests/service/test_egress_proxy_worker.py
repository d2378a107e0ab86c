"""The worker through the egress proxy, on both HTTP clients and both engines: a dead proxy is recorded as
the proxy's failure, never halts the route, and deliveries go through once the proxy is back."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.storage import notifications as notices
from hookline.storage.database import Database
from support.events import event
from support.proxy import start_proxy
from support.receiver import Receiver, Status

FAST_RETRY = {"initial_interval_s": 1, "max_interval_s": 1, "max_attempts": 30}


def _dead_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
        return port


async def _delivery(merchant: Client, delivery_id: str, done: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if done(body):
            return body
        assert time.monotonic() < deadline, f"waited 30s for {what}: {body}"
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("client", ["curl", "aiohttp"])
async def test_a_dead_proxy_does_not_halt_the_route_and_deliveries_resume_through_it(
    db_url: str, receiver: Receiver, client: str
) -> None:
    receiver.respond("/hook", Status(200))
    port = _dead_port()
    settings = app_settings(
        db_url,
        http_client=client,
        egress_proxy=f"http://127.0.0.1:{port}",
        notify_failing_min_attempts=2,  # nor is the route failing (hookline.route.failing)
        notify_failing_rate=0.5,
    )
    async with running_app(settings) as http:
        operator = Client(http, OPERATOR_KEY)
        merchant = Client(
            http, (await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme"}))["api_key"]
        )
        await merchant.ok(
            "PUT", "/v1/notifications", json={"emails": ["ops@example.com"], "on": ["route.failing"]}
        )
        target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/hook"})
        route = await merchant.ok(
            "POST",
            "/v1/routes",
            201,
            json={
                "name": "through the proxy",
                "target_id": target["id"],
                "event_types": ["order.*"],
                "retry": FAST_RETRY,
                "auto_halt": {"failures": 2, "window_s": 1},
            },
        )
        [delivery_id] = (await merchant.ok("POST", "/v1/events", 202, json=event("order.reminder")))[
            "deliveries"
        ]

        failing = await _delivery(merchant, delivery_id, lambda d: len(d["attempts"]) >= 4, "4 attempts")
        for attempt in failing["attempts"]:
            assert attempt["error_kind"] == "proxy", attempt
            assert attempt["error"] == "proxy: connection refused", attempt
        assert failing["status"] == "pending"
        after = await merchant.ok("GET", f"/v1/routes/{route['id']}")
        assert after["state"] == "active" and after["failure_streak"] == 0, after
        await asyncio.sleep(0.5)  # the notifier looks at the failure rates every poll (0.2 s)
        db = Database(db_url)
        try:  # no SMTP server: a failing notice would wait in the outbox, retried later
            assert await notices.claim(db, time.time() + 1e6, 30, 10) == []
        finally:
            await db.close()

        async with start_proxy(port=port) as proxy:
            done = await _delivery(merchant, delivery_id, lambda d: d["status"] == "success", "success")
        assert done["attempts"][-1]["error_kind"] is None
        assert proxy.destinations == [receiver.url.removeprefix("http://")] * len(proxy.destinations)
        assert len(receiver.on("/hook")) == 1
