"""``"dry_run": true`` on ``POST /v1/routes/{id}/resend`` and ``/replay``: 200 ``{"count"}``, the number the
real job then goes through, and nothing changed (no job, no delivery touched). Both engines."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from support.events import event
from support.receiver import Receiver, Status

WAIT_S = 30.0


async def _merchant(http: httpx.AsyncClient, name: str) -> Client:
    body = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": name})
    return Client(http, body["api_key"])


async def _post(m: Client, event_id: str, type_: str = "order.reminder") -> list[str]:
    answer = await m.ok("POST", "/v1/events", 202, json=event(type_, event_id))
    found: list[str] = answer["deliveries"]
    return found


async def _wait(m: Client, path: str, field: str, wanted: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        body: dict[str, Any] = await m.ok("GET", path)
        if body[field] in wanted:
            return body
        assert time.monotonic() < deadline, f"{path}: {body[field]}, not {wanted}"
        await asyncio.sleep(0.05)


async def _state(m: Client, route_id: str) -> tuple[Any, Any]:
    """Everything a dry run must leave as it is: the route's deliveries and the merchant's jobs."""
    found = await m.ok("GET", "/v1/deliveries", params={"route_id": route_id, "limit": 500})
    return found["data"], (await m.ok("GET", "/v1/jobs"))["data"]


async def _count(m: Client, path: str, body: dict[str, Any]) -> int:
    answer = await m.call("POST", path, json={**body, "dry_run": True})
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"count"}
    count: int = answer.json()["count"]
    return count


async def test_dry_runs_count_what_the_jobs_then_do_and_change_nothing(
    db_url: str, receiver: Receiver
) -> None:
    receiver.respond("/hook", Status(500))
    async with running_app(app_settings(db_url)) as http:
        m = await _merchant(http, "Acme")
        target = await m.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/hook"})
        body = {
            "name": "r",
            "target_id": target["id"],
            "event_types": ["order.*"],
            "retry": {"max_attempts": 1},
        }
        route = await m.ok("POST", "/v1/routes", 201, json=body)
        rid = route["id"]
        path = f"/v1/routes/{rid}"
        failed = [d for n in range(3) for d in await _post(m, f"f{n}")]
        for d in failed:
            await _wait(m, f"/v1/deliveries/{d}", "status", ("failed",))
        await m.ok("POST", f"{path}/halt")
        [canceled] = await _post(m, "c0")
        await m.ok("PATCH", path, json={"state": "disabled"})
        await m.ok("PATCH", path, json={"state": "active"})
        receiver.respond("/hook", Status(200))
        [succeeded] = await _post(m, "s0")
        await _wait(m, f"/v1/deliveries/{succeeded}", "status", ("success",))
        assert await _post(m, "other", "subscription.cancel") == []  # not a type of the route

        before = await _state(m, rid)
        assert await _count(m, f"{path}/resend", {}) == 4  # failed and canceled, by default
        assert await _count(m, f"{path}/resend", {"status": ["failed"]}) == 3
        assert await _count(m, f"{path}/resend", {"status": ["success", "canceled"]}) == 2
        assert await _count(m, f"{path}/resend", {"since": 1, "until": 2}) == 0  # long ago
        assert await _count(m, f"{path}/replay", {"since": 0}) == 5  # every order event, none other
        assert await _state(m, rid) == before  # nothing changed, no job recorded

        resend = (await m.ok("POST", f"{path}/resend", 202, json={}))["job"]
        job = await _wait(m, f"/v1/jobs/{resend['id']}", "status", ("done", "failed"))
        assert (job["status"], job["total"], job["done"]) == ("done", 4, 4)
        for d in (*failed, canceled):
            await _wait(m, f"/v1/deliveries/{d}", "status", ("success",))

        count = await _count(m, f"{path}/replay", {"since": 0})
        replay = (await m.ok("POST", f"{path}/replay", 202, json={"since": 0}))["job"]
        job = await _wait(m, f"/v1/jobs/{replay['id']}", "status", ("done", "failed"))
        assert (job["status"], job["total"], job["done"], count) == ("done", 5, 5, 5)


async def test_a_dry_run_is_refused_as_the_real_one_is(db_url: str) -> None:
    async with running_app(app_settings(db_url)) as http:
        m = await _merchant(http, "Acme")
        other = await _merchant(http, "Other")
        target = await m.ok("POST", "/v1/targets", 201, json={"url": "http://127.0.0.1:9/hook"})
        body = {"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
        path = f"/v1/routes/{(await m.ok('POST', '/v1/routes', 201, json=body))['id']}"
        for url, sent, status in (
            (f"{path}/resend", {"dry_run": "yes"}, 400),
            (f"{path}/resend", {"dry_run": True, "status": ["pending"]}, 400),
            (f"{path}/replay", {"dry_run": True}, 400),  # no since
            (f"{path}/replay", {"dry_run": True, "since": 100, "until": 50}, 400),
            ("/v1/routes/rte_missing/resend", {"dry_run": True}, 404),
        ):
            answer = await m.call("POST", url, json=sent)
            assert answer.status_code == status, (url, sent, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        foreign = await other.call("POST", f"{path}/replay", json={"dry_run": True, "since": 0})
        assert foreign.status_code == 404
        await m.ok("PATCH", path, json={"state": "disabled"})
        disabled = await m.call("POST", f"{path}/resend", json={"dry_run": True})
        assert disabled.status_code == 400 and "disabled" in disabled.text
        assert (await m.ok("GET", "/v1/jobs"))["data"] == []
