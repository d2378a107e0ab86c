"""The commerce-platform simulator.

- the model: deterministic for a seed, only catalogued event types, Ordergroove's order of things (objects
  before the events naming them, reminders before placement answers, ``subscriber.cancel`` after the last
  subscription's cancel), payload shapes;
- the driver: against a real hookline server on a socket (uvicorn in the test's loop), events arrive;
- ``hookline serve --demo`` as a process: deliveries reach ``success`` within seconds, and a restart reuses
  the demo merchant, its target and routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import signal
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from conftest import OPERATOR_KEY, app_settings
from crash.helpers import Proc, free_port, until
from hookline.asgi import create_app
from hookline.core import catalog
from hookline.simulator import driver
from hookline.simulator.api_client import ApiError
from hookline.simulator.model import DEFAULT_START, Simulation, Step, seeded

SEEDS = (1, 7, 42, 2024)
PLACEMENT_ANSWERS = {"order.success", "order.reject", "order.generic_error", "order.cancel"}
FINAL = {"order.success", "order.reject", "order.cancel", "order.skip_order", "order.delete"}
MONEY = re.compile(r"^\d+\.\d{2}$")


def steps(seed: int, count: int = 500, **options: Any) -> list[Step]:
    simulation = Simulation(random.Random(seed), **options)
    return [simulation.step() for _ in range(count)]


def stream(seed: int, count: int = 500, **options: Any) -> list[Any]:
    return [event for step in steps(seed, count, **options) for event in step.events]


# --- the model -------------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_stream() -> None:
    first, again = steps(42, 300), steps(42, 300)
    assert [e.body() for s in first for e in s.events] == [e.body() for s in again for e in s.events]
    assert [o.body() for s in first for o in s.objects] == [o.body() for s in again for o in s.objects]
    other = stream(43, 300)
    assert [e.id for e in other] != [e.id for s in first for e in s.events]


def test_every_event_type_is_in_the_catalogue_and_the_stream_is_varied() -> None:
    seen: set[str] = set()
    for seed in SEEDS:
        for event in stream(seed):
            assert catalog.get(event.type) is not None, event.type
            assert event.object["type"] == event.type.split(".")[0]
            seen.add(event.type)
    expected = {
        "subscriber.create",
        "subscriber.cancel",
        "subscription.create",
        "subscription.change_frequency",
        "subscription.cancel",
        "order.create",
        "order.reminder",
        "order.success",
        "order.skip_order",
        "order.reject",
        "order.generic_error",
        "item.create",
        "item.successfully_placed",
        "item.change_quantity",
        "item.out_of_stock",
        "item.remove",
    }
    assert expected <= seen, expected - seen


def test_time_only_moves_forward_and_event_ids_are_unique() -> None:
    events = stream(7, 800)
    created = [e.created for e in events]
    assert created == sorted(created)
    assert created[0] >= DEFAULT_START
    assert len({e.id for e in events}) == len(events)


def test_a_reminder_precedes_each_placement_answer_and_none_follows_the_end() -> None:
    for seed in SEEDS:
        reminded: dict[str, int] = {}
        ended: set[str] = set()
        moved: set[str] = set()  # orders made by an out-of-stock move: placed the next day, no reminder
        answered = 0
        for event in stream(seed, 800):
            obj = event.object
            if event.type == "item.out_of_stock":
                moved.add(obj["order"])
            if event.type == "order.reminder":
                assert obj["public_id"] not in ended, f"seed {seed}: reminder after the end of {obj}"
                reminded.setdefault(obj["public_id"], event.created)
            if event.type in PLACEMENT_ANSWERS and obj["public_id"] not in moved:
                answered += 1
                assert obj["public_id"] in reminded, f"seed {seed}: {event.type} without a reminder"
                assert reminded[obj["public_id"]] < event.created
                # The reminder was sent for this placement date, days before it.
                assert obj["place"] >= _day(reminded[obj["public_id"]])
            if event.type in FINAL:
                ended.add(obj["public_id"])
        assert answered > 20


def _day(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d")


def test_cancelling_the_last_subscription_cancels_the_subscriber() -> None:
    cancels = 0
    for seed in SEEDS:
        live: dict[str, set[str]] = {}
        created_customers: set[str] = set()
        for step in steps(seed, 800, existing=0):  # every subscription is announced by an event
            for event in step.events:
                obj = event.object
                if event.type == "subscriber.create":
                    assert obj["merchant_user_id"] not in created_customers, "subscriber.create fired twice"
                    created_customers.add(obj["merchant_user_id"])
                    assert obj["subscription"] and obj["subscriptions"] == []
                elif event.type == "subscription.create":
                    assert obj["customer"] in created_customers, (
                        "subscription.create before subscriber.create"
                    )
                    live.setdefault(obj["customer"], set()).add(obj["public_id"])
            cancelled = [e for e in step.events if e.type == "subscription.cancel"]
            subscriber_cancels = [e for e in step.events if e.type == "subscriber.cancel"]
            for event in cancelled:
                customer = event.object["customer"]
                live[customer].discard(event.object["public_id"])
                if live[customer]:
                    assert not subscriber_cancels, "subscriber.cancel while a subscription is live"
                    continue
                [last] = subscriber_cancels
                assert step.events.index(last) > step.events.index(event)
                assert last.object["merchant_user_id"] == customer
                assert last.object["subscription"] == event.object["public_id"]
                assert last.object["live"] is False
                cancels += 1
            if not cancelled:
                assert not subscriber_cancels
    assert cancels > 3


REFERENCES = {
    "customer": "customer",
    "merchant_user_id": "customer",
    "subscription": "subscription",
    "order": "order",
    "product": "product",
    "payment": "payment",
    "shipping_address": "address",
}
OWN_KIND = {"subscriber": "customer", "subscription": "subscription", "order": "order", "item": "item"}


def test_objects_are_upserted_before_the_events_that_mention_them() -> None:
    for seed in SEEDS:
        stored: dict[tuple[str, str], dict[str, Any]] = {}
        for step in steps(seed, 600):
            stored.update({(o.kind, o.public_id): o.data for o in step.objects})
            for event in step.events:
                obj = event.object
                wanted = {(kind, obj[name]) for name, kind in REFERENCES.items() if obj.get(name)}
                if "public_id" in obj:
                    wanted.add((OWN_KIND[obj["type"]], obj["public_id"]))
                assert wanted <= set(stored), f"seed {seed}: {event.type} names {wanted - set(stored)}"
        item = next(data for (kind, _), data in stored.items() if kind == "item")
        assert ("order", item["order"]) in stored and ("product", item["product"]) in stored
        payment = next(data for (kind, _), data in stored.items() if kind == "payment")
        assert ("address", payment["billing_address"]) in stored


def test_payloads_have_ordergroove_shapes() -> None:
    for event in stream(42, 400):
        obj = event.object
        assert isinstance(event.created, int)
        assert obj["merchant"] == "demo"
        if obj["type"] == "order":
            totals = {
                k: obj[k] for k in ("sub_total", "tax_total", "shipping_total", "discount_total", "total")
            }
            assert all(MONEY.match(v) for v in totals.values()), totals
            d = {k: Decimal(v) for k, v in totals.items()}
            assert d["total"] == d["sub_total"] - d["discount_total"] + d["tax_total"] + d["shipping_total"]
            assert re.match(r"^\d{4}-\d{2}-\d{2}$", obj["place"]) and isinstance(obj["status"], int)
        if obj["type"] == "item":
            assert MONEY.match(obj["price"]) and MONEY.match(obj["total_price"])
            assert obj["quantity"] >= 1
        if obj["type"] == "subscription":
            assert obj["frequency_days"] > 0 and obj["reminder_days"] >= 5
            assert obj["every_period_display"] in ("Days", "Weeks", "Months")
        if event.type == "subscription.create":
            assert event.context == {"source": "PurchasePOST"}


def test_out_of_stock_names_the_order_the_item_moved_to() -> None:
    moves = 0
    for seed in SEEDS:
        events = stream(seed, 800)
        created = {e.object["public_id"]: i for i, e in enumerate(events) if e.type == "order.create"}
        for i, event in enumerate(events):
            if event.type == "item.out_of_stock":
                moves += 1
                assert created.get(event.object["order"], -1) < i  # the new order exists already
    assert moves > 0


def test_the_token_bucket_paces_events() -> None:
    now = [100.0]
    bucket = driver.TokenBucket(rate=10.0, burst=5, clock=lambda: now[0])
    assert bucket.wait_s(5) == 0  # starts full
    bucket._tokens = 0.0
    assert bucket.wait_s(5) == pytest.approx(0.5)
    now[0] += 0.2
    assert bucket.wait_s(1) == 0 and bucket.wait_s(5) == pytest.approx(0.3)


# --- the driver against a real server --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def live_server(tmp_path: Path) -> AsyncIterator[str]:
    """hookline on a real socket (the simulator's aiohttp client needs one), in this test's loop."""
    port = free_port()
    settings = app_settings(f"sqlite:///{tmp_path}/hookline.db", port=port)
    app = create_app(settings, worker=True, migrate_db=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started or task.done(), 20, "uvicorn to start")
        assert not task.done(), "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


async def _merchant(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.post("/v1/merchants", json={"name": "Sim Coffee"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _events(http: httpx.AsyncClient, key: str, merchant: str | None = None) -> list[dict[str, Any]]:
    params = {"limit": "500", **({"merchant": merchant} if merchant else {})}
    response = await http.get("/v1/events", params=params, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_the_driver_sends_the_models_events_and_objects(tmp_path: Path) -> None:
    async with (
        live_server(tmp_path) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}) as http,
    ):
        merchant = await _merchant(http)
        options = driver.Options(rate=500.0, events=40, batch=7, merchant=merchant["id"])
        notices: list[str] = []
        progress = await driver.simulate(
            url, OPERATOR_KEY, options, seed=3, start=DEFAULT_START, notice=notices.append
        )
        assert (progress.sent, progress.errors) == (40, 0), progress.last_error

        expected = Simulation(seeded(3, DEFAULT_START), merchant=merchant["id"]).events(40)
        rows = await _events(http, OPERATOR_KEY, merchant["id"])
        assert {r["id"] for r in rows} == {e.id for e in expected}
        by_id = {r["id"]: r for r in rows}
        assert all(by_id[e.id]["type"] == e.type and by_id[e.id]["created"] == e.created for e in expected)

        if not progress.objects_api:  # the objects API has not landed in this tree yet
            pytest.skip(f"no objects API: {notices}")
        assert progress.objects > 0 and progress.object_errors == 0
        customer = expected[0].object["merchant_user_id"]
        response = await http.get(f"/v1/objects/customer/{customer}", params={"merchant": merchant["id"]})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["email"] == expected[0].object["email"]


async def test_the_driver_with_a_merchant_key_one_event_per_request_and_a_duration(tmp_path: Path) -> None:
    async with (
        live_server(tmp_path) as url,
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}) as http,
    ):
        merchant = await _merchant(http)
        options = driver.Options(rate=20.0, duration_s=1.5)
        ticks: list[str] = []
        progress = await driver.simulate(
            url,
            merchant["api_key"],
            options,
            seed=5,
            start=DEFAULT_START,
            on_tick=lambda p: ticks.append(p.line()),
        )
        # Generous bounds: the machine is shared. About 30 events; at most the rate allows (plus the burst).
        assert 3 <= progress.sent <= 20 * progress.elapsed_s + 2, progress.line()
        assert progress.errors == 0
        assert ticks and "events sent" in ticks[0]
        assert len(await _events(http, merchant["api_key"])) == progress.sent


async def test_the_driver_stops_on_a_wrong_key_or_a_missing_merchant(tmp_path: Path) -> None:
    async with live_server(tmp_path) as url:
        with pytest.raises(ApiError) as caught:
            await driver.simulate(url, "hl_mk_wrong", driver.Options(events=5), seed=1, start=DEFAULT_START)
        with pytest.raises(ApiError) as without_merchant:  # the operator key must name a merchant
            await driver.simulate(url, OPERATOR_KEY, driver.Options(events=5), seed=1, start=DEFAULT_START)
    assert caught.value.status == 401
    assert "401" in str(caught.value) and "key" in str(caught.value).lower()
    assert without_merchant.value.status == 400 and "merchant" in str(without_merchant.value)


# --- serve --demo as a process ---------------------------------------------------------------------------


def _demo_process(tmp_path: Path, db: Path, name: str) -> Proc:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(
        HOOKLINE_DATABASE_URL=f"sqlite:///{db}",
        HOOKLINE_OPERATOR_KEY=OPERATOR_KEY,
        HOOKLINE_HOST="127.0.0.1",
        HOOKLINE_PORT=str(port),
        HOOKLINE_POLL_INTERVAL_S="0.2",
        PYTHONIOENCODING="utf-8",
    )
    args = ["serve", "--demo", "--demo-port", str(free_port()), "--demo-keys", str(tmp_path / f"{name}.env")]
    return Proc(name, args, env, tmp_path / f"{name}.log")


async def _demo_key(proc: Proc) -> str:
    await proc.wait_log("merchant key", timeout=30)
    found = re.search(r"merchant key\s+(hl_mk_\S+)", proc.log(tail=100_000))
    assert found, proc.log()
    return found.group(1)


async def _successes(http: httpx.AsyncClient, key: str) -> int:
    response = await http.get(
        "/v1/deliveries",
        params={"status": "success", "limit": "500"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    return len(response.json()["data"])


async def _run_demo_once(tmp_path: Path, db: Path, name: str) -> tuple[Proc, str]:
    proc = _demo_process(tmp_path, db, name)
    try:
        await proc.wait_ready(timeout=30)
        key = await _demo_key(proc)
        async with httpx.AsyncClient(base_url=proc.url, timeout=10) as http:

            async def delivered() -> bool:
                return await _successes(http, key) >= 3

            await until(delivered, 25, "three successful deliveries", every=0.5)
        await proc.wait_log("signature ✓", timeout=5)
    except BaseException:
        proc.stop()
        raise
    return proc, key


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_serve_demo_delivers_within_seconds_and_restarts_idempotently(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    first, first_key = await _run_demo_once(tmp_path, db, "demo-1")
    try:
        log = first.log(tail=100_000)
        assert "private targets allowed" in log
        assert "Demo Coffee Co." in log and OPERATOR_KEY in log
        first.send(signal.SIGTERM)
        assert await first.wait_exit(30) is not None, first.log()
    finally:
        first.stop()

    second, second_key = await _run_demo_once(tmp_path, db, "demo-2")
    try:
        assert second_key != first_key  # keys are stored hashed: a restart shows a new one
        async with httpx.AsyncClient(base_url=second.url, timeout=10) as http:
            operator = {"Authorization": f"Bearer {OPERATOR_KEY}"}
            merchants = (await http.get("/v1/merchants", headers=operator)).json()["data"]
            assert [m["name"] for m in merchants] == ["Demo Coffee Co."]
            merchant = {"Authorization": f"Bearer {second_key}"}
            routes = (await http.get("/v1/routes", headers=merchant)).json()["data"]
            assert sorted(r["name"] for r in routes) == ["Orders (demo)", "Subscriptions (demo)"]
            targets = (await http.get("/v1/targets", headers=merchant)).json()["data"]
            assert len(targets) == 1 and targets[0]["url"].startswith("http://127.0.0.1:")
            assert {r["target_id"] for r in routes} == {targets[0]["id"]}
            # The first start's key still works.
            assert (await http.get("/v1/routes", headers={"Authorization": f"Bearer {first_key}"})).is_success
    finally:
        second.stop()
