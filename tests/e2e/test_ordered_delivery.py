"""Per-key ordering end to end: the API, the worker and a real receiver, on both engines."""

from __future__ import annotations

import asyncio
import time

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from support.events import event
from support.pipeline import add_route, wait_status
from support.receiver import Received, Receiver, Status


def _keyed(requests: list[Received]) -> list[tuple[str, str, str]]:
    """(key, number, event id) of each numbered request, in arrival order."""
    return [
        (r.headers["hookline-ordering-key"], r.headers["hookline-sequence"], r.json()["id"])
        for r in requests
        if "hookline-sequence" in r.headers
    ]


def _of(key: str, requests: list[Received]) -> list[tuple[str, str]]:
    return [(number, event_id) for k, number, event_id in _keyed(requests) if k == key]


async def test_a_failing_first_event_holds_back_its_key_only(db_url: str, receiver: Receiver) -> None:
    receiver.script("/hook", Status(500))  # the first request: A's first event
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        retry = {"initial_interval_s": 4, "max_interval_s": 4}
        await add_route(merchant, receiver.url + "/hook", ["order.*"], ordering="object", retry=retry)
        first = await merchant.ok(
            "POST", "/v1/events", 202, json=event("order.reminder", "a1", public_id="A")
        )
        await receiver.wait_for(1)
        later = [("a2", "A"), ("b1", "B"), ("a3", "A"), ("b2", "B")]
        for event_id, object_id in later:
            await merchant.ok(
                "POST", "/v1/events", 202, json=event("order.reminder", event_id, public_id=object_id)
            )
        # A's later events wait for a1's retry, which carries the same number; B goes meanwhile.
        listed = await merchant.ok("GET", "/v1/deliveries?event_id=a2")
        [a2] = listed["data"]
        assert a2["status"] == "pending" and a2["waiting_for"] == first["deliveries"][0]
        requests = await receiver.wait_for(6, timeout=20)
    assert _of("A", requests) == [("1", "a1"), ("1", "a1"), ("2", "a2"), ("3", "a3")]
    assert _of("B", requests) == [("1", "b1"), ("2", "b2")]
    arrivals = [event_id for _, _, event_id in _keyed(requests)]
    assert arrivals.index("b2") < arrivals.index("a1", 1)  # B was not slowed by A's retry


async def test_halt_and_resume_keep_each_key_in_order(db_url: str, receiver: Receiver) -> None:
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        _, route = await add_route(merchant, receiver.url + "/hook", ["*"], ordering="customer")
        await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
        batch = [
            event("order.reminder", f"e{i}", public_id=f"o{i}", customer=("c1", "c2")[i % 2])
            for i in range(8)
        ]
        answer = await merchant.ok("POST", "/v1/events", 202, json={"events": batch})
        held = await merchant.ok("GET", f"/v1/deliveries?route_id={route['id']}&status=held")
        assert len(held["data"]) == 8
        await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
        requests = await receiver.wait_for(8)
        for accepted in answer:
            await wait_status(merchant, accepted["deliveries"][0], "success")
    assert _of("c1", requests) == [("1", "e0"), ("2", "e2"), ("3", "e4"), ("4", "e6")]
    assert _of("c2", requests) == [("1", "e1"), ("2", "e3"), ("3", "e5"), ("4", "e7")]


async def test_an_unordered_route_sends_no_ordering_headers(merchant: Client, receiver: Receiver) -> None:
    await add_route(merchant, receiver.url + "/hook", ["order.*"])
    await merchant.ok("POST", "/v1/events", 202, json=event("order.reminder", "e1"))
    [request] = await receiver.wait_for(1)
    assert "hookline-ordering-key" not in request.headers and "hookline-sequence" not in request.headers


async def _job_done(merchant: Client, job_id: str) -> None:
    deadline = time.monotonic() + 15
    while (await merchant.ok("GET", f"/v1/jobs/{job_id}"))["status"] != "done":
        assert time.monotonic() < deadline, "the job did not finish"
        await asyncio.sleep(0.05)


async def test_replay_numbers_anew_and_a_resend_goes_out_of_band(db_url: str, receiver: Receiver) -> None:
    receiver.respond("/gone", Status(410))
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        retry = {"max_attempts": 1}
        _, route = await add_route(
            merchant, receiver.url + "/hook", ["order.*"], ordering="object", retry=retry
        )
        for event_id in ("e1", "e2"):
            await merchant.ok(
                "POST", "/v1/events", 202, json=event("order.reminder", event_id, public_id="A")
            )
        await receiver.wait_for(2)
        # Replay: new deliveries, numbered after the first ones, in the order of the events.
        job = await merchant.ok("POST", f"/v1/routes/{route['id']}/replay", 202, json={"since": 0})
        await _job_done(merchant, job["job"]["id"])
        requests = await receiver.wait_for(4)
        assert _of("A", requests) == [("1", "e1"), ("2", "e2"), ("3", "e1"), ("4", "e2")]

        # A failed delivery resent goes out of band: its key, no number, and no new number taken.
        target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/gone"})
        await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"target_id": target["id"]})
        answer = await merchant.ok(
            "POST", "/v1/events", 202, json=event("order.reminder", "e3", public_id="A")
        )
        [failed] = answer["deliveries"]
        await wait_status(merchant, failed, "failed")
        assert (await merchant.ok("GET", f"/v1/deliveries/{failed}"))["sequence"] == 5
        await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"target_id": route["target_id"]})
        resent = await merchant.ok("POST", f"/v1/deliveries/{failed}/resend")
        assert resent["sequence"] is None and resent["ordering_key"] == "A"
        await wait_status(merchant, failed, "success")
        later = await merchant.ok(
            "POST", "/v1/events", 202, json=event("order.reminder", "e4", public_id="A")
        )
        await wait_status(merchant, later["deliveries"][0], "success")
    out_of_band = [r for r in receiver.on("/hook") if r.json()["id"] == "e3"]
    assert [r.headers["hookline-ordering-key"] for r in out_of_band] == ["A"]
    assert "hookline-sequence" not in out_of_band[0].headers
    assert _of("A", receiver.on("/hook"))[-1] == ("6", "e4")


async def test_an_auto_halted_route_keeps_each_key_in_order(db_url: str, receiver: Receiver) -> None:
    receiver.script("/hook", Status(500), Status(500))  # the first attempts of a1 and b1
    async with running_app(app_settings(db_url)) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), "Acme")
        _, route = await add_route(
            merchant,
            receiver.url + "/hook",
            ["order.*"],
            ordering="object",
            auto_halt={"failures": 2, "window_s": 0},
            retry={"initial_interval_s": 30, "max_interval_s": 30},
        )
        batch = [event("order.reminder", i, public_id=i[0].upper()) for i in ("a1", "b1", "a2", "b2")]
        await merchant.ok("POST", "/v1/events", 202, json={"events": batch})
        await receiver.wait_for(2)
        deadline = time.monotonic() + 10
        while (await merchant.ok("GET", f"/v1/routes/{route['id']}"))["state"] != "halted":
            assert time.monotonic() < deadline, "the route was not halted"
            await asyncio.sleep(0.05)
        await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
        requests = await receiver.wait_for(6)
    assert _of("A", requests) == [("1", "a1"), ("1", "a1"), ("2", "a2")]
    assert _of("B", requests) == [("1", "b1"), ("1", "b1"), ("2", "b2")]
