"""Recovery and test events end to end, on both engines: bulk resend, replay, the bulk runner, test events."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update
from standardwebhooks.webhooks import Webhook

from conftest import OPERATOR_KEY, Client, app_settings, running_app
from hookline.core import signing
from hookline.service.bulk_runner import BulkRunner, RunnerSettings
from hookline.service.context import Context
from hookline.storage.database import Database
from hookline.storage.tables import jobs
from hookline.storage.wakeup import Wakeup
from support.receiver import Receiver, Status

WAIT_S = 30.0  # generous: the CPU is shared


async def _merchant(http: httpx.AsyncClient, name: str = "Acme") -> Client:
    body = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": name})
    client = Client(http, body["api_key"])
    client.merchant_id = body["id"]  # type: ignore[attr-defined]
    return client


async def _route(merchant: Client, url: str, event_types: list[str], **extra: Any) -> dict[str, Any]:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    route: dict[str, Any] = await merchant.ok(
        "POST",
        "/v1/routes",
        201,
        json={"name": "r", "target_id": target["id"], "event_types": event_types, **extra},
    )
    return route


def _event(event_id: str, type_: str = "order.reminder") -> dict[str, Any]:
    family = type_.split(".")[0]
    return {
        "id": event_id,
        "type": type_,
        "created": 1_700_000_000,
        "data": {"object": {"type": family, "public_id": f"obj-{event_id}", "customer": "cust-1"}},
    }


async def _post(merchant: Client, event_id: str, type_: str = "order.reminder") -> list[str]:
    answer = await merchant.ok("POST", "/v1/events", 202, json=_event(event_id, type_))
    deliveries: list[str] = answer["deliveries"]
    return deliveries


async def _wait_status(merchant: Client, delivery_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        body: dict[str, Any] = await merchant.ok("GET", f"/v1/deliveries/{delivery_id}")
        if body["status"] == status:
            return body
        assert time.monotonic() < deadline, f"delivery stayed {body['status']}, wanted {status}: {body}"
        await asyncio.sleep(0.05)


async def _wait_job(merchant: Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        job: dict[str, Any] = await merchant.ok("GET", f"/v1/jobs/{job_id}")
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        await asyncio.sleep(0.05)


async def _of_route(merchant: Client, route_id: str) -> list[dict[str, Any]]:
    body = await merchant.ok("GET", "/v1/deliveries", params={"route_id": route_id, "limit": 500})
    rows: list[dict[str, Any]] = body["data"]
    return rows


async def _tick() -> float:
    """A moment that lies strictly between what came before and what comes after."""
    await asyncio.sleep(0.05)
    now = time.time()
    await asyncio.sleep(0.05)
    return now


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _event_ids(requests: list[Any]) -> Counter[str]:
    return Counter(r.headers["hookline-event-id"] for r in requests)


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


# ---------------------------------------------------------------------------------------------------------
# Bulk resend


async def test_bulk_resend_of_failed_and_canceled_in_a_window(db_url: str, receiver: Receiver) -> None:
    receiver.respond("/hook", Status(500))
    async with running_app(app_settings(db_url)) as http:
        m = await _merchant(http)
        route = await _route(m, receiver.url + "/hook", ["order.*"], retry={"max_attempts": 1})
        rid = route["id"]
        [before] = await _post(m, "e0")
        await _wait_status(m, before, "failed")
        since = await _tick()
        [failed1] = await _post(m, "e1")
        [failed2] = await _post(m, "e2")
        for d in (failed1, failed2):
            await _wait_status(m, d, "failed")
        # Canceled: held on a halted route, then the route disabled; then it is made active again.
        await m.ok("POST", f"/v1/routes/{rid}/halt")
        [canceled] = await _post(m, "e3")
        await m.ok("PATCH", f"/v1/routes/{rid}", json={"state": "disabled"})
        assert (await m.ok("GET", f"/v1/deliveries/{canceled}"))["status"] == "canceled"
        await m.ok("PATCH", f"/v1/routes/{rid}", json={"state": "active"})
        receiver.respond("/hook", Status(200))
        [succeeded] = await _post(m, "e4")
        await _wait_status(m, succeeded, "success")
        until = await _tick()
        receiver.respond("/hook", Status(500))
        [after] = await _post(m, "e5")
        await _wait_status(m, after, "failed")
        receiver.respond("/hook", Status(200))
        seen_before = len(receiver.requests)

        answer = await m.ok(
            "POST", f"/v1/routes/{rid}/resend", 202, json={"since": _iso(since), "until": until}
        )
        job = answer["job"]
        assert job["kind"] == "resend" and job["route_id"] == rid
        assert job["params"]["status"] == ["failed", "canceled"]
        finished = await _wait_job(m, job["id"])
        assert finished["status"] == "done" and finished["error"] is None
        assert finished["done"] == finished["total"] == 3

        for d in (failed1, failed2, canceled):
            await _wait_status(m, d, "success")
        retried = await m.ok("GET", f"/v1/deliveries/{failed1}")
        assert [a["response"]["status"] for a in retried["attempts"]] == [500, 200]
        assert (await m.ok("GET", f"/v1/deliveries/{canceled}"))["attempt_count"] == 1
        # Outside the window, or not failed/canceled: untouched.
        for d, status, attempts in ((before, "failed", 1), (after, "failed", 1), (succeeded, "success", 1)):
            row = await m.ok("GET", f"/v1/deliveries/{d}")
            assert (row["status"], row["attempt_count"]) == (status, attempts), row
        await asyncio.sleep(0.3)
        assert _event_ids(receiver.requests[seen_before:]) == Counter({"e1": 1, "e2": 1, "e3": 1})


async def test_bulk_resend_on_a_halted_route_holds(db_url: str, receiver: Receiver) -> None:
    receiver.respond("/hook", Status(500))
    async with running_app(app_settings(db_url)) as http:
        m = await _merchant(http)
        route = await _route(m, receiver.url + "/hook", ["order.*"], retry={"max_attempts": 1})
        [d] = await _post(m, "e1")
        await _wait_status(m, d, "failed")
        await m.ok("POST", f"/v1/routes/{route['id']}/halt")
        answer = await m.ok("POST", f"/v1/routes/{route['id']}/resend", 202, json={"status": ["failed"]})
        assert (await _wait_job(m, answer["job"]["id"]))["done"] == 1
        assert (await m.ok("GET", f"/v1/deliveries/{d}"))["status"] == "held"
        receiver.respond("/hook", Status(200))
        await m.ok("POST", f"/v1/routes/{route['id']}/resume")
        await _wait_status(m, d, "success")


# ---------------------------------------------------------------------------------------------------------
# Replay


async def test_replay_since_a_time_makes_new_deliveries(merchant: Client, receiver: Receiver) -> None:
    route = await _route(merchant, receiver.url + "/hook", ["order.*"])
    [old] = await _post(merchant, "e0")
    await _wait_status(merchant, old, "success")
    since = await _tick()
    originals = [*(await _post(merchant, "e1")), *(await _post(merchant, "e2"))]
    assert await _post(merchant, "s1", "subscription.cancel") == []  # not a type of the route
    for d in originals:
        await _wait_status(merchant, d, "success")

    answer = await merchant.ok("POST", f"/v1/routes/{route['id']}/replay", 202, json={"since": since})
    job = await _wait_job(merchant, answer["job"]["id"])
    assert job["kind"] == "replay" and job["status"] == "done"
    assert job["done"] == job["total"] == 2 and job["skipped"] == 0

    requests = await receiver.wait_for(5, timeout=WAIT_S)
    await asyncio.sleep(0.3)
    assert _event_ids(receiver.requests) == Counter({"e0": 1, "e1": 2, "e2": 2})
    # Same event, same route settings: the same body, under a new delivery (webhook-id) id.
    e1 = [r for r in requests if r.headers["hookline-event-id"] == "e1"]
    assert e1[0].body == e1[1].body and e1[0].headers["webhook-id"] != e1[1].headers["webhook-id"]
    rows = await _of_route(merchant, route["id"])
    assert Counter(r["event_id"] for r in rows) == Counter({"e0": 1, "e1": 2, "e2": 2})
    for row in rows:
        await _wait_status(merchant, row["id"], "success")


async def test_replay_skips_events_with_an_open_delivery(merchant: Client, receiver: Receiver) -> None:
    assert await _post(merchant, "never-routed") == []  # no route yet: the event is stored, not delivered
    route = await _route(merchant, receiver.url + "/hook", ["order.*"])
    await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
    [held] = await _post(merchant, "held")

    answer = await merchant.ok("POST", f"/v1/routes/{route['id']}/replay", 202, json={"since": 0})
    job = await _wait_job(merchant, answer["job"]["id"])
    assert (job["status"], job["total"], job["done"], job["skipped"]) == ("done", 2, 2, 1)
    rows = await _of_route(merchant, route["id"])
    assert Counter(r["event_id"] for r in rows) == Counter({"never-routed": 1, "held": 1})
    assert {r["status"] for r in rows} == {"held"}  # the route is halted: the new one waits too

    await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
    await receiver.wait_for(2, timeout=WAIT_S)
    await _wait_status(merchant, held, "success")
    await asyncio.sleep(0.3)
    assert _event_ids(receiver.requests) == Counter({"never-routed": 1, "held": 1})


async def test_a_job_resumes_after_a_crash_without_redoing_batches(db_url: str, receiver: Receiver) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:  # no worker, no bulk runner
        m = await _merchant(http)
        # One batch: the events share their received time, so the job's cursor must break ties by id.
        batch = {"events": [_event(f"e{i}") for i in range(5)]}
        assert all(a["deliveries"] == [] for a in await m.ok("POST", "/v1/events", 202, json=batch))
        route = await _route(m, receiver.url + "/hook", ["order.*"])
        answer = await m.ok("POST", f"/v1/routes/{route['id']}/replay", 202, json={"since": 0})
        job_id = answer["job"]["id"]
        assert answer["job"]["status"] == "queued"

        db = Database(db_url)
        ctx = Context(db=db, wakeup=Wakeup())
        try:
            first = BulkRunner(ctx, RunnerSettings(batch_size=2, lease_s=30))
            lease = await first.claim()
            assert lease is not None and lease.job.id == job_id
            lease = await first.step(lease)
            assert lease is not None
            job = await m.ok("GET", f"/v1/jobs/{job_id}")
            assert (job["status"], job["done"], job["total"]) == ("running", 2, 5)
            assert len(await _of_route(m, route["id"])) == 2

            # The first runner dies mid-job: nobody gives the job back, its lease simply runs out.
            async with db.write() as conn:
                await conn.execute(
                    update(jobs).where(jobs.c.id == job_id).values(lease_until=time.time() - 1)
                )
            second = BulkRunner(ctx, RunnerSettings(batch_size=2, lease_s=30))
            assert await second.run_until_idle() == 1
            # The first runner comes back to life: its lease is gone, it does nothing more.
            assert await first.step(lease) is None
        finally:
            await db.close()

        job = await m.ok("GET", f"/v1/jobs/{job_id}")
        assert (job["status"], job["done"], job["total"], job["error"]) == ("done", 5, 5, None)
        rows = await _of_route(m, route["id"])
        assert Counter(r["event_id"] for r in rows) == Counter({f"e{i}": 1 for i in range(5)})

    async with running_app(app_settings(db_url)) as http:  # a worker now: each event is sent once
        await receiver.wait_for(5, timeout=WAIT_S)
        await asyncio.sleep(0.3)
        assert _event_ids(receiver.requests) == Counter({f"e{i}": 1 for i in range(5)})


async def test_a_stopped_runner_gives_its_job_back_at_once(db_url: str, receiver: Receiver) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        m = await _merchant(http)
        route = await _route(m, receiver.url + "/hook", ["order.*"])
        answer = await m.ok("POST", f"/v1/routes/{route['id']}/resend", 202, json={})
        db = Database(db_url)
        ctx = Context(db=db, wakeup=Wakeup())
        try:
            stopping = BulkRunner(ctx, RunnerSettings(lease_s=600))
            stopping.stop()
            assert await stopping.run_one()  # claimed, then given back before its first batch
            job = await m.ok("GET", f"/v1/jobs/{answer['job']['id']}")
            assert (job["status"], job["done"]) == ("running", 0)
            # No waiting for the 600 s lease: another runner takes it over at once.
            assert await BulkRunner(ctx, RunnerSettings(lease_s=600)).run_until_idle() == 1
        finally:
            await db.close()
        assert (await m.ok("GET", f"/v1/jobs/{answer['job']['id']}"))["status"] == "done"


async def test_a_job_fails_when_its_route_is_disabled(db_url: str, receiver: Receiver) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        m = await _merchant(http)
        route = await _route(m, receiver.url + "/hook", ["order.*"])
        answer = await m.ok("POST", f"/v1/routes/{route['id']}/replay", 202, json={"since": 0})
        await m.ok("PATCH", f"/v1/routes/{route['id']}", json={"state": "disabled"})
        db = Database(db_url)
        try:
            assert await BulkRunner(Context(db=db, wakeup=Wakeup())).run_until_idle() == 1
        finally:
            await db.close()
        job = await m.ok("GET", f"/v1/jobs/{answer['job']['id']}")
        assert job["status"] == "failed" and "disabled" in job["error"]


# ---------------------------------------------------------------------------------------------------------
# The jobs API


async def test_jobs_api_validation_listing_and_isolation(db_url: str, receiver: Receiver) -> None:
    async with running_app(app_settings(db_url), worker=False) as http:
        m = await _merchant(http)
        other = await _merchant(http, "Other")
        route = await _route(m, receiver.url + "/hook", ["order.*"])
        path = f"/v1/routes/{route['id']}"

        _problem(await m.call("POST", f"{path}/replay", json={}), 400)
        _problem(await m.call("POST", f"{path}/replay", json={"since": "yesterday"}), 400)
        _problem(await m.call("POST", f"{path}/replay", json={"since": True}), 400)
        _problem(await m.call("POST", f"{path}/replay", json={"since": 100, "until": 50}), 400)
        _problem(await m.call("POST", f"{path}/resend", json={"status": ["pending"]}), 400)
        _problem(await m.call("POST", f"{path}/resend", json={"bogus": 1}), 400)
        _problem(await other.call("POST", f"{path}/replay", json={"since": 0}), 404)
        _problem(await other.call("POST", f"{path}/resend", json={}), 404)

        replay = (await m.ok("POST", f"{path}/replay", 202, json={"since": "2024-01-01T00:00:00Z"}))["job"]
        assert set(replay) >= {
            "id",
            "kind",
            "route_id",
            "status",
            "total",
            "done",
            "error",
            "created",
            "updated",
        }
        assert (replay["status"], replay["total"], replay["done"]) == ("queued", None, 0)
        assert replay["params"]["since"] == "2024-01-01T00:00:00.000Z"
        conflict = _problem(await m.call("POST", f"{path}/replay", json={"since": 0}), 409)
        assert replay["id"] in conflict["detail"]
        resend = (await m.ok("POST", f"{path}/resend", 202))["job"]  # no body: failed and canceled, all time

        listed = await m.ok("GET", "/v1/jobs")
        assert [j["id"] for j in listed["data"]] == [resend["id"], replay["id"]]
        page = await m.ok("GET", "/v1/jobs", params={"limit": 1})
        rest = await m.ok("GET", "/v1/jobs", params={"limit": 1, "cursor": page["next_cursor"]})
        assert [j["id"] for j in page["data"] + rest["data"]] == [resend["id"], replay["id"]]
        assert (await m.ok("GET", "/v1/jobs", params={"route_id": "rte_nope"}))["data"] == []
        assert (await other.ok("GET", "/v1/jobs"))["data"] == []
        _problem(await other.call("GET", f"/v1/jobs/{replay['id']}"), 404)
        _problem(await m.call("GET", "/v1/jobs/job_nope"), 404)
        as_operator = Client(http, OPERATOR_KEY)
        found = await as_operator.ok("GET", f"/v1/jobs/{replay['id']}", params={"merchant": m.merchant_id})  # type: ignore[attr-defined]
        assert found["id"] == replay["id"]

        await m.ok("PATCH", path, json={"state": "disabled"})
        body = _problem(await m.call("POST", f"{path}/replay", json={"since": 0}), 400)
        assert "disabled" in body["detail"]


# ---------------------------------------------------------------------------------------------------------
# Test events


async def test_test_events_arrive_signed_marked_and_enriched(merchant: Client, receiver: Receiver) -> None:
    snapshot = {"order": ["items", "customer", "addresses"], "subscription": ["customer", "payments"]}
    route = await _route(
        merchant, receiver.url + "/hook", ["order.*", "subscription.cancel"], snapshot=snapshot
    )
    answer = await merchant.ok(
        "POST",
        f"/v1/routes/{route['id']}/test-events",
        202,
        json={"event_types": ["order.success", "subscription.cancel"]},
    )
    assert len(answer["deliveries"]) == len(answer["events"]) == 2
    assert all(e.startswith("test_") for e in answer["events"])

    requests = await receiver.wait_for(2, timeout=WAIT_S)
    keys = await merchant.ok("GET", f"/v1/targets/{route['target_id']}/signing-key")
    expected = {"order": ["customer", "items", "addresses"], "subscription": ["customer", "payments"]}
    for request in requests:
        headers = request.headers
        assert signing.verify_ordergroove(
            keys["signing_key"].encode(), headers["ordergroove-signature"], request.body, now=int(time.time())
        )
        Webhook(keys["standard_webhooks_secret"]).verify(request.body, headers)
        body = json.loads(request.body)
        family = body["type"].split(".")[0]
        assert body["id"] in answer["events"] and headers["hookline-event-id"] == body["id"]
        assert body["data"]["object"]["type"] == family
        assert body["data"]["object"]["merchant"] == merchant.merchant_id  # type: ignore[attr-defined]
        assert list(body["snapshot"]) == expected[family]
        assert body["snapshot"]["customer"]["merchant_user_id"]
    assert {json.loads(r.body)["type"] for r in requests} == {"order.success", "subscription.cancel"}

    for delivery_id in answer["deliveries"]:
        row = await _wait_status(merchant, delivery_id, "success")
        assert row["test"] is True and row["route_id"] == route["id"]
    # Not stored as events (they would show in lists and replays), but findable by their delivery.
    _problem(await merchant.call("GET", f"/v1/events/{answer['events'][0]}"), 404)
    found = await merchant.ok("GET", "/v1/deliveries", params={"event_id": answer["events"][0]})
    assert [d["id"] for d in found["data"]] == [answer["deliveries"][0]]


async def test_test_events_default_to_the_routes_types(merchant: Client, receiver: Receiver) -> None:
    everything = await _route(merchant, receiver.url + "/all", ["*"])
    answer = await merchant.ok("POST", f"/v1/routes/{everything['id']}/test-events", 202)
    assert len(answer["deliveries"]) == 20
    requests = await receiver.wait_for(20, path="/all", timeout=WAIT_S)
    families = {json.loads(r.body)["type"].split(".")[0] for r in requests}
    assert families == {"subscriber", "subscription", "order", "item"}  # a spread, never hookline's notices

    one = await _route(merchant, receiver.url + "/one", ["order.reminder"])
    answer = await merchant.ok("POST", f"/v1/routes/{one['id']}/test-events", 202, json={})
    [request] = await receiver.wait_for(1, path="/one", timeout=WAIT_S)
    assert json.loads(request.body)["type"] == "order.reminder"
    assert json.loads(request.body)["snapshot"] == {}


async def test_test_events_respect_route_state_and_ownership(
    merchant: Client, operator: Client, receiver: Receiver
) -> None:
    route = await _route(merchant, receiver.url + "/hook", ["order.*"])
    path = f"/v1/routes/{route['id']}/test-events"

    await merchant.ok("POST", f"/v1/routes/{route['id']}/halt")
    answer = await merchant.ok("POST", path, 202, json={"event_types": ["order.reminder"]})
    [held] = answer["deliveries"]
    assert (await merchant.ok("GET", f"/v1/deliveries/{held}"))["status"] == "held"
    await merchant.ok("POST", f"/v1/routes/{route['id']}/resume")
    await _wait_status(merchant, held, "success")

    _problem(await merchant.call("POST", path, json={"event_types": ["item.create"]}), 400)
    _problem(await merchant.call("POST", path, json={"event_types": ["order.nope"]}), 400)
    _problem(await merchant.call("POST", path, json={"event_types": "order.reminder"}), 400)
    other = await _merchant(operator.http, "Other")
    _problem(await other.call("POST", path, json={}), 404)
    _problem(await merchant.call("POST", "/v1/routes/rte_nope/test-events", json={}), 404)
    everything = await _route(merchant, receiver.url + "/all", ["*"])
    too_many = await merchant.call(
        "POST", f"/v1/routes/{everything['id']}/test-events", json={"event_types": ["*"]}
    )
    _problem(too_many, 400)

    await merchant.ok("PATCH", f"/v1/routes/{route['id']}", json={"state": "disabled"})
    body = _problem(await merchant.call("POST", path, json={}), 400)
    assert "route" in body["detail"] and "disabled" in body["detail"]
