"""Auto-halt end to end: a failing route is halted, the merchant told, nothing lost; on both engines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.core import autohalt_policy
from hookline.core.models import DeliveryStatus, ErrorKind, Job, Outcome, Result
from hookline.core.retry import RetryPolicy
from support.receiver import Receiver, Status

FAST_RETRY = {"initial_interval_s": 1, "max_interval_s": 1, "max_attempts": 10}


async def _merchant(http: Any) -> Client:
    operator = Client(http, OPERATOR_KEY)
    body = await operator.ok("POST", "/v1/merchants", 201, json={"name": "Acme"})
    return Client(http, body["api_key"])


async def _route(merchant: Client, url: str, event_types: list[str], **extra: Any) -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    body = {"name": "route", "target_id": target["id"], "event_types": event_types, **extra}
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json=body)
    return route


def _event(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "order.reminder",
        "created": 1_700_000_000,
        "data": {"object": {"type": "order", "public_id": "ord-1", "customer": "cust-1"}},
    }


async def _send(merchant: Client, event_id: str) -> list[str]:
    answer = await merchant.ok("POST", "/v1/events", 202, json=_event(event_id))
    deliveries: list[str] = answer["deliveries"]
    return deliveries


async def _until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
        await asyncio.sleep(0.05)


async def _route_in(merchant: Client, route_id: str, state: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        route: dict[str, Any] = await merchant.ok("GET", f"/v1/routes/{route_id}")
        return route if route["state"] == state else None

    found: dict[str, Any] = await _until(check, f"route {route_id} to be {state}")
    return found


async def _delivery_in(merchant: Client, delivery_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        body: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        return body if body["status"] == status else None

    found: dict[str, Any] = await _until(check, f"delivery {delivery_id} to be {status}")
    return found


async def test_failing_route_halts_tells_the_merchant_and_resumes_in_order(
    db_url: str, receiver: Receiver
) -> None:
    receiver.respond("/down", Status(503))
    # One request at a time per target, so the order of arrival is the order of release.
    async with running_app(app_settings(db_url, per_target_concurrency=1)) as http:
        merchant = await _merchant(http)
        route = await _route(
            merchant,
            receiver.url + "/down",
            ["order.*"],
            retry=FAST_RETRY,
            auto_halt={"failures": 3, "window_s": 1},
        )
        assert route["auto_halt"] == {"failures": 3, "window_s": 1.0}
        watcher = await _route(merchant, receiver.url + "/ops", ["hookline.*"])

        [first] = await _send(merchant, "evt-1")
        halted = await _route_in(merchant, route["id"], "halted")

        assert halted["failure_streak"] == 3 and halted["halted_at"] and halted["failing_since"]
        assert halted["halted_reason"].startswith("3 consecutive failed attempts since ")
        assert halted["halted_reason"].endswith("last error: HTTP 503")
        held = await _delivery_in(merchant, first, "held")
        assert held["attempt_count"] == 3

        # The merchant is told, on the route that subscribed to hookline's notices, and only there.
        [notice] = await receiver.wait_for(1, path="/ops")
        body = notice.json()
        assert body["type"] == "hookline.route.halted"
        assert body["data"]["object"] == {
            "type": "route",
            "merchant": route["merchant"],
            "route_id": route["id"],
            "name": "route",
            "target_url": receiver.url + "/down",
            "halted_at": body["data"]["object"]["halted_at"],
            "reason": halted["halted_reason"],
            "automatic": True,
        }
        assert isinstance(body["data"]["object"]["halted_at"], int)
        events = await merchant.ok("GET", "/v1/events")
        assert body["id"] in [e["id"] for e in events["data"]]

        # New events for the halted route are held, not tried.
        [second] = await _send(merchant, "evt-2")
        assert (await merchant.ok("GET", f"/v1/deliveries/{second}"))["status"] == "held"
        await asyncio.sleep(1.5)
        down = receiver.on("/down")
        assert len(down) == 3 and {r.json()["id"] for r in down} == {"evt-1"}

        # Resume: the target is back; everything held goes out oldest first, and the streak is cleared.
        receiver.respond("/down", Status(200))
        resumed = await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
        assert resumed["state"] == "active"
        assert (resumed["failure_streak"], resumed["failing_since"]) == (0, None)
        assert (resumed["halted_at"], resumed["halted_reason"]) == (None, None)
        await _delivery_in(merchant, first, "success")
        await _delivery_in(merchant, second, "success")
        assert [r.json()["id"] for r in receiver.on("/down")[3:]] == ["evt-1", "evt-2"]
        done = await merchant.ok("GET", f"/v1/deliveries/{first}")
        assert done["attempt_count"] == 4

        [_, back] = await receiver.wait_for(2, path="/ops")
        assert back.json()["type"] == "hookline.route.resumed"
        assert back.json()["data"]["object"]["route_id"] == route["id"]
        assert (await merchant.ok("GET", f"/v1/routes/{watcher['id']}"))["state"] == "active"


async def test_a_success_before_the_threshold_resets_the_streak(db_url: str, receiver: Receiver) -> None:
    receiver.script("/flaky", Status(500), Status(500))
    async with running_app(app_settings(db_url)) as http:
        merchant = await _merchant(http)
        route = await _route(
            merchant,
            receiver.url + "/flaky",
            ["order.*"],
            retry=FAST_RETRY,
            auto_halt={"failures": 3, "window_s": 0},
        )
        [first] = await _send(merchant, "evt-1")

        async def streak_of_two() -> bool:
            body = await merchant.ok("GET", f"/v1/routes/{route['id']}")
            return bool(body["failure_streak"] == 2 and body["failing_since"])

        await _until(streak_of_two, "two failures in a row")
        await _delivery_in(merchant, first, "success")
        body = await merchant.ok("GET", f"/v1/routes/{route['id']}")
        assert (body["state"], body["failure_streak"], body["failing_since"]) == ("active", 0, None)

        # Two more failures: four in all, never three in a row.
        receiver.script("/flaky", Status(500), Status(500))
        [second] = await _send(merchant, "evt-2")
        await _delivery_in(merchant, second, "success")
        body = await merchant.ok("GET", f"/v1/routes/{route['id']}")
        assert (body["state"], body["failure_streak"]) == ("active", 0)
        assert len(receiver.on("/flaky")) == 6


async def test_failures_zero_never_halts_while_the_defaults_do(db_url: str, receiver: Receiver) -> None:
    receiver.respond("/down", Status(503))
    receiver.respond("/down-too", Status(503))
    settings = app_settings(db_url, auto_halt_failures=2, auto_halt_window_s=0.0)
    async with running_app(settings) as http:
        merchant = await _merchant(http)
        retry = {**FAST_RETRY, "max_attempts": 4}
        never = await _route(
            merchant, receiver.url + "/down", ["order.*"], retry=retry, auto_halt={"failures": 0}
        )
        assert never["auto_halt"] == {"failures": 0, "window_s": None}
        default = await _route(merchant, receiver.url + "/down-too", ["order.*"], retry=retry)
        assert default["auto_halt"] is None
        deliveries = await _send(merchant, "evt-1")

        halted = await _route_in(merchant, default["id"], "halted")
        assert halted["halted_reason"].startswith("2 consecutive failed attempts")
        mine = [
            d
            for d in deliveries
            if (await merchant.ok("GET", f"/v1/deliveries/{d}"))["route_id"] == never["id"]
        ]
        failed = await _delivery_in(merchant, mine[0], "failed")
        assert failed["attempt_count"] == 4
        body = await merchant.ok("GET", f"/v1/routes/{never['id']}")
        assert (body["state"], body["failure_streak"]) == ("active", 4)


async def test_enough_failures_in_too_short_a_time_do_not_halt(db_url: str, receiver: Receiver) -> None:
    receiver.respond("/down", Status(503))
    async with running_app(app_settings(db_url)) as http:
        merchant = await _merchant(http)
        route = await _route(
            merchant,
            receiver.url + "/down",
            ["order.*"],
            retry={**FAST_RETRY, "max_attempts": 3},
            auto_halt={"failures": 2, "window_s": 3600},
        )
        [delivery] = await _send(merchant, "evt-1")
        await _delivery_in(merchant, delivery, "failed")
        body = await merchant.ok("GET", f"/v1/routes/{route['id']}")
        assert (body["state"], body["failure_streak"], body["halted_at"]) == ("active", 3, None)


async def test_auto_halt_settings_manual_halt_and_notice_subscription(
    merchant: Client, receiver: Receiver
) -> None:
    route = await _route(
        merchant, receiver.url + "/hook", ["order.*"], auto_halt={"failures": 5, "window_s": 60}
    )
    assert route["auto_halt"] == {"failures": 5, "window_s": 60.0}
    assert (route["failure_streak"], route["halted_at"], route["halted_reason"]) == (0, None, None)
    path = f"/v1/routes/{route['id']}"
    patched = await merchant.ok("PATCH", path, json={"auto_halt": {"failures": 0}})
    assert patched["auto_halt"] == {"failures": 0, "window_s": None}
    patched = await merchant.ok("PATCH", path, json={"name": "renamed"})
    assert patched["auto_halt"] == {"failures": 0, "window_s": None}
    patched = await merchant.ok("PATCH", path, json={"auto_halt": None})
    assert patched["auto_halt"] is None
    for bad in ({"failures": -1}, {"window_s": 10**9}, {"failures": 1, "nope": 1}):
        answer = await merchant.call("PATCH", path, json={"auto_halt": bad})
        assert answer.status_code == 400, answer.text
    answer = await merchant.call(
        "POST",
        "/v1/routes",
        json={
            "name": "x",
            "target_id": route["target_id"],
            "event_types": ["*"],
            "snapshot": {"hookline": ["customer"]},
        },
    )
    assert answer.status_code == 400 and "hookline" in answer.text

    types = [t["type"] for t in (await merchant.ok("GET", "/v1/event-types"))["data"]]
    assert "hookline.route.halted" in types and "hookline.route.resumed" in types

    # A route that names the notice gets it; a "*" route does not (it expects commerce objects).
    await _route(merchant, receiver.url + "/ops", ["hookline.route.halted"])
    await _route(merchant, receiver.url + "/all", ["*"])
    halted = await merchant.ok("POST", f"{path}/halt")
    assert (
        halted["state"] == "halted" and halted["halted_at"] and halted["halted_reason"] == "halted manually"
    )
    [notice] = await receiver.wait_for(1, path="/ops")
    assert notice.json()["type"] == "hookline.route.halted"
    assert notice.json()["data"]["object"]["automatic"] is False
    resumed = await merchant.ok("POST", f"{path}/resume")
    assert (resumed["state"], resumed["halted_at"], resumed["halted_reason"]) == ("active", None, None)
    await asyncio.sleep(0.5)
    assert len(receiver.on("/ops")) == 1  # it asked for halted notices only
    assert receiver.on("/all") == [] and receiver.on("/hook") == []


def _result(route_id: str, started: float, ok: bool) -> Result:
    job = Job("dlv", "evt", route_id, "tgt", "http://x", b"{}", 0, 0, (b"k",), 5.0, (), RetryPolicy())
    outcome = Outcome(started, 100.0, {}, status=200 if ok else 502, error=None if ok else ErrorKind.STATUS)
    status = DeliveryStatus.SUCCESS if ok else DeliveryStatus.PENDING
    return Result(job, outcome, status, None if ok else started + 1, started if ok else None)


def test_streaks_follow_the_order_in_which_attempts_ended() -> None:
    results = [
        _result("rte_b", 30.0, ok=False),
        _result("rte_a", 20.0, ok=True),
        _result("rte_a", 30.0, ok=False),
        _result("rte_a", 10.0, ok=False),
        _result("rte_b", 10.0, ok=False),
        _result("rte_c", 10.0, ok=False),
        _result("rte_c", 20.0, ok=True),
    ]
    a, b, c = autohalt_policy.streaks(results)
    assert a == autohalt_policy.Streak("rte_a", True, 1, 30.0, 30.1, "HTTP 502")
    assert b == autohalt_policy.Streak("rte_b", False, 2, 10.0, 30.1, "HTTP 502")
    assert c == autohalt_policy.Streak("rte_c", True, 0, None, None, None)
