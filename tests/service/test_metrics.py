"""Route metrics (counters, series, latency), the merchant summary, and Prometheus ``/metrics``.

Histories are written straight into the deliveries and attempts tables with known statuses and times, on
both engines; the service runs on a fixed clock so bucket edges are exact. The Prometheus test delivers one
real event to the local receiver and watches the counters move.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from conftest import OPERATOR_KEY, Client, app_settings
from hookline import telemetry
from hookline.asgi import create_app
from hookline.core import ids
from hookline.core.errors import Invalid, NotFound
from hookline.core.models import DeliveryStatus, ErrorKind, Job, Outcome, Result
from hookline.core.retry import RetryPolicy
from hookline.service import metrics
from hookline.service.context import Context
from hookline.storage.tables import attempts, deliveries
from support.receiver import Receiver

HOUR = 3600
DAY = 86_400
H = 472_222 * HOUR  # an hour boundary (2023-11-14T22:00:00Z), also a 15-minute one
NOW = H + 1800  # half past: the fixed "now" of the service tests


@contextlib.asynccontextmanager
async def _app(db_url: str, *, worker: bool = False) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(app_settings(db_url), worker=worker, migrate_db=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as http:
            yield app, http


async def _merchant(http: httpx.AsyncClient, name: str = "Acme") -> Client:
    body = await Client(http, OPERATOR_KEY).ok("POST", "/v1/merchants", 201, json={"name": name})
    client = Client(http, body["api_key"])
    client.merchant_id = body["id"]  # type: ignore[attr-defined]
    return client


async def _route(merchant: Client, url: str = "http://127.0.0.1:9/hook") -> str:
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url})
    route = await merchant.ok(
        "POST", "/v1/routes", 201, json={"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
    )
    return str(route["id"])


async def _insert(
    ctx: Context,
    merchant_id: str,
    route_id: str,
    status: str,
    created: float,
    *,
    attempts_made: int = 0,
    completed: float | None = None,
    durations_ms: tuple[float, ...] = (),
) -> str:
    """One delivery with a known history (its id minted at ``created``, as ingest does) and its attempts:
    ``durations_ms`` gives them (else ``attempts_made`` of 1 ms); every attempt failed (HTTP 500) but the
    last of a successful delivery, as the worker records them."""
    delivery_id = ids.new("dlv", now=created)
    row = {
        "id": delivery_id,
        "merchant_id": merchant_id,
        "event_id": "evt-" + delivery_id,
        "event_type": "order.reminder",
        "route_id": route_id,
        "target_id": "tgt_x",
        "status": status,
        "attempts": attempts_made or len(durations_ms),
        "attempt_base": 0,
        "next_attempt_at": created if status == "pending" else None,
        "created": created,
        "completed": completed,
        "body_id": delivery_id,
        "is_test": False,
    }
    durations_ms = durations_ms or (1.0,) * attempts_made
    last = len(durations_ms)
    tried = [
        _attempt(delivery_id, n, created, ms, ok=status == "success" and n == last)
        for n, ms in enumerate(durations_ms, 1)
    ]
    async with ctx.db.write() as conn:
        await conn.execute(insert(deliveries).values(**row))
        if tried:
            await conn.execute(insert(attempts), tried)
    return delivery_id


def _attempt(
    delivery_id: str, number: int, started: float, duration_ms: float, *, ok: bool
) -> dict[str, Any]:
    return {
        "id": ids.new("att"),
        "delivery_id": delivery_id,
        "number": number,
        "started": started,
        "duration_ms": duration_ms,
        "request_headers": {},
        "response_status": 200 if ok else 500,
        "error_kind": None if ok else ErrorKind.STATUS.value,
    }


def _fixed(app: FastAPI, now: float = NOW) -> Context:
    ctx: Context = app.state.context
    return dataclasses.replace(ctx, clock=lambda: now)


async def _history(ctx: Context, merchant_id: str, route: str, other: str) -> None:
    """A route's known history around NOW; ``other`` is a second route of the same merchant."""
    add = _insert
    await add(ctx, merchant_id, route, "success", NOW - 100, attempts_made=1, completed=NOW - 99)
    await add(ctx, merchant_id, route, "success", NOW - 200, attempts_made=3, completed=NOW - 50)
    await add(ctx, merchant_id, route, "success", H, attempts_made=1, completed=H + 1)  # bucket edge
    await add(ctx, merchant_id, route, "success", H - 0.001, attempts_made=1, completed=H + 1)
    await add(ctx, merchant_id, route, "failed", NOW - 5 * HOUR, attempts_made=5, completed=NOW - HOUR)
    await add(ctx, merchant_id, route, "pending", NOW - 10)
    await add(ctx, merchant_id, route, "pending", NOW - 20, attempts_made=2)
    await add(ctx, merchant_id, route, "held", NOW - 30)
    await add(ctx, merchant_id, route, "canceled", NOW - 40, completed=NOW - 35)
    await add(ctx, merchant_id, route, "success", NOW - 30 * DAY + 60, attempts_made=1, completed=NOW)
    await add(ctx, merchant_id, route, "success", NOW - 31 * DAY, attempts_made=2, completed=NOW)  # too old
    await add(ctx, merchant_id, route, "failed", NOW - 40 * DAY, attempts_made=9)  # too old
    await add(ctx, merchant_id, other, "failed", NOW - 50, attempts_made=60)


# -- counters ---------------------------------------------------------------------------------------------


async def test_counts_over_a_known_history(db_url: str) -> None:
    async with _app(db_url) as (app, http):
        acme, rival = await _merchant(http), await _merchant(http, "Rival")
        route, other = await _route(acme), await _route(acme)
        ctx = _fixed(app)
        await _history(ctx, acme.merchant_id, route, other)  # type: ignore[attr-defined]

        found = await metrics.counts(ctx, acme.merchant_id, route)  # type: ignore[attr-defined]
        assert found == {"failed": 1, "successful": 5, "successful_retries": 1, "pending": 2, "held": 1}
        assert await metrics.counts(ctx, acme.merchant_id, other) == {  # type: ignore[attr-defined]
            "failed": 1,
            "successful": 0,
            "successful_retries": 0,
            "pending": 0,
            "held": 0,
        }
        # A day later the delivery 30 days minus a minute old has left the window.
        later = dataclasses.replace(ctx, clock=lambda: NOW + DAY)
        assert (await metrics.counts(later, acme.merchant_id, route))["successful"] == 4  # type: ignore[attr-defined]

        with pytest.raises(NotFound):
            await metrics.counts(ctx, rival.merchant_id, route)  # type: ignore[attr-defined]

        summary = await metrics.summary(ctx, acme.merchant_id)  # type: ignore[attr-defined]
        assert summary["total"] == {
            "failed": 2,
            "successful": 5,
            "successful_retries": 1,
            "pending": 2,
            "held": 1,
        }
        assert set(summary["routes"]) == {route, other}
        assert (await metrics.summary(ctx, rival.merchant_id))["total"]["failed"] == 0  # type: ignore[attr-defined]


# -- series -----------------------------------------------------------------------------------------------


async def test_series_buckets_on_both_engines(db_url: str) -> None:
    async with _app(db_url) as (app, http):
        acme = await _merchant(http)
        mid: str = acme.merchant_id  # type: ignore[attr-defined]
        route, other = await _route(acme), await _route(acme)
        ctx = _fixed(app)
        await _history(ctx, mid, route, other)

        hourly = await metrics.series(ctx, mid, route, metrics.window(ctx, "1h", None, None))
        assert len(hourly) == 24
        assert [b["start"] for b in hourly] == [H - (23 - i) * HOUR for i in range(24)]
        by_start = {b["start"]: {k: v for k, v in b.items() if k != "start"} for b in hourly}
        zero = {"success": 0, "failed": 0, "retried": 0, "pending": 0, "held": 0}
        assert by_start[H] == {"success": 3, "failed": 0, "retried": 1, "pending": 2, "held": 1}
        assert by_start[H - HOUR] == {**zero, "success": 1}  # H - 1 ms: the hour before, not H
        assert by_start[H - 5 * HOUR] == {**zero, "failed": 1}  # created at H - 4.5 h
        assert sum(b["success"] + b["failed"] + b["pending"] + b["held"] for b in hourly) == 8

        quarter = await metrics.series(ctx, mid, route, metrics.window(ctx, "15m", NOW - HOUR, None))
        assert [(b["start"] - H) // 900 for b in quarter] == [-2, -1, 0, 1]
        assert [b["success"] for b in quarter] == [0, 1, 1, 2]
        assert quarter[-1] == {
            "start": H + 900,
            "success": 2,
            "failed": 0,
            "retried": 1,
            "pending": 2,
            "held": 1,
        }

        daily = await metrics.series(ctx, mid, route, metrics.window(ctx, "1d", None, None))
        assert len(daily) == 30 and all(b["start"] % DAY == 0 for b in daily)
        assert sum(b["failed"] for b in daily) == 1

        # A closed window in the past: until is exclusive.
        closed = metrics.window(ctx, "1h", H - 2 * HOUR, H)
        assert [b["success"] for b in await metrics.series(ctx, mid, route, closed)] == [0, 1]


def test_window_checks_its_input() -> None:
    ctx = Context(db=None, wakeup=None, clock=lambda: NOW)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        metrics.window(ctx, "2h", None, None)
    with pytest.raises(Invalid):
        metrics.window(ctx, "1h", NOW, NOW)
    with pytest.raises(Invalid):
        metrics.window(ctx, "15m", NOW - 30 * DAY, None)  # 2,880 buckets
    w = metrics.window(ctx, "1h", None, None)
    assert (w.since, w.until, w.last - w.first + 1) == (H - 23 * HOUR, NOW, 24)


# -- latency ----------------------------------------------------------------------------------------------


def test_percentiles_interpolate_like_percentile_cont() -> None:
    assert metrics.percentile([], 50) is None
    assert metrics.percentile([7.0], 99) == 7.0
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    values = [float(v) for v in range(1, 101)]
    assert metrics.summarize(values) == {"p50": 50.5, "p95": 95.05, "p99": 99.01, "samples": 100}


async def test_latency_percentiles_over_a_known_set(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _app(db_url) as (app, http):
        acme = await _merchant(http)
        mid: str = acme.merchant_id  # type: ignore[attr-defined]
        route = await _route(acme)
        ctx = _fixed(app)
        for i in range(1, 101):  # ingest → success of 10, 20, …, 1000 ms; attempts of 1 … 100 ms
            created = NOW - 1000 + i
            await _insert(ctx, mid, route, "success", created, completed=created + i / 100, durations_ms=(i,))
        await _insert(ctx, mid, route, "failed", NOW - 2 * HOUR, durations_ms=(5000.0, 5000.0))
        await _insert(
            ctx, mid, route, "success", NOW - 2 * DAY, completed=NOW, durations_ms=(9e6,)
        )  # outside

        w = metrics.window(ctx, "1h", None, None)
        found = await metrics.latency(ctx, mid, route, w)
        delivered, attempted = found["delivery_ms"], found["attempt_ms"]
        assert delivered["samples"] == 100
        assert delivered["p50"] == pytest.approx(505.0, abs=0.01)
        assert delivered["p95"] == pytest.approx(950.5, abs=0.01)
        assert delivered["p99"] == pytest.approx(990.1, abs=0.01)
        # 102 attempts: 1 … 100 and the failed delivery's two of 5 s.
        assert attempted["samples"] == 102
        assert attempted["p50"] == pytest.approx(51.5)
        assert attempted["p99"] == pytest.approx(4951.0)  # between 100 and 5000, as percentile_cont

        # The sample is the newest rows of the window: with room for 10, the 10 latest (910 … 1000 ms).
        monkeypatch.setattr(metrics, "SAMPLE_LIMIT", 10)
        bounded = (await metrics.latency(ctx, mid, route, w))["delivery_ms"]
        assert bounded["samples"] == 10 and bounded["p50"] == pytest.approx(955.0, abs=0.01)

        empty = await metrics.latency(ctx, mid, await _route(acme), w)
        assert empty["delivery_ms"] == {"p50": None, "p95": None, "p99": None, "samples": 0}


# -- the API ----------------------------------------------------------------------------------------------


async def test_route_metrics_api_shape_and_isolation(db_url: str) -> None:
    async with _app(db_url) as (app, http):
        acme, rival = await _merchant(http), await _merchant(http, "Rival")
        mid: str = acme.merchant_id  # type: ignore[attr-defined]
        route = await _route(acme)
        ctx: Context = app.state.context
        now = time.time()
        await _insert(ctx, mid, route, "success", now - 120, completed=now - 119.5, durations_ms=(40.0,))
        await _insert(ctx, mid, route, "success", now - 60, completed=now - 30, durations_ms=(10.0, 20.0))
        await _insert(ctx, mid, route, "failed", now - 3 * HOUR, durations_ms=(1.0,))
        await _insert(ctx, mid, route, "pending", now - 5)
        await _insert(ctx, mid, route, "success", now - 40 * DAY, completed=now, durations_ms=(1.0,))

        plain = await acme.ok("GET", f"/v1/routes/{route}/metrics")
        assert plain == {
            "failed": 1,
            "successful": 2,
            "successful_retries": 1,
            "pending": 1,
            "held": 0,
            "window_days": 30,
        }
        as_operator = await Client(http, OPERATOR_KEY).ok("GET", f"/v1/routes/{route}/metrics?merchant={mid}")
        assert as_operator == plain

        charted = await acme.ok("GET", f"/v1/routes/{route}/metrics", params={"series": "1h"})
        assert {k: charted[k] for k in plain} == plain
        assert len(charted["series"]) == 24
        assert set(charted["series"][0]) == {"start", "success", "failed", "retried", "pending", "held"}
        assert charted["series"][0]["start"].endswith(":00:00.000Z")
        assert sum(b["success"] for b in charted["series"]) == 2
        assert charted["series_window"]["bucket"] == "1h"
        latency = charted["latency"]
        assert set(latency) == {"delivery_ms", "attempt_ms"}
        assert set(latency["delivery_ms"]) == {"p50", "p95", "p99", "samples"}
        assert latency["delivery_ms"]["samples"] == 2 and latency["attempt_ms"]["samples"] == 4

        since = await acme.ok(
            "GET", f"/v1/routes/{route}/metrics", params={"series": "15m", "since": time.time() - 1800}
        )
        assert 2 <= len(since["series"]) <= 3

        for bad in (
            {"series": "2h"},
            {"series": "1h", "since": "yesterday"},
            {"series": "1h", "since": "2999-01-01T00:00:00"},
            {"series": "1h", "until": "9" * 400},
            {"series": "1d", "since": "0"},
        ):
            response = await acme.call("GET", f"/v1/routes/{route}/metrics", params=bad)
            assert response.status_code == 400, (bad, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")

        for client, path in ((rival, route), (acme, "rte_missing")):
            response = await client.call("GET", f"/v1/routes/{path}/metrics", params={"series": "1h"})
            assert response.status_code == 404, response.text
        assert (await http.get(f"/v1/routes/{route}/metrics")).status_code == 401

        summary = await acme.ok("GET", "/v1/metrics/summary")
        assert {k: summary[k] for k in plain} == plain
        assert summary["routes"] == [
            {"route_id": route, **{k: plain[k] for k in plain if k != "window_days"}}
        ]
        assert (await rival.ok("GET", "/v1/metrics/summary"))["routes"] == []


# -- Prometheus -------------------------------------------------------------------------------------------


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def _scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")  # no key: operators' scrapers have none
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return _samples(response.text)


async def test_prometheus_counts_a_real_delivery(db_url: str, receiver: Receiver) -> None:
    async with _app(db_url, worker=True) as (_, http):
        acme = await _merchant(http)
        await _route(acme, receiver.url + "/hook")
        before = await _scrape(http)
        for name in (
            "hookline_deliveries_total",
            "hookline_attempts_total",
            "hookline_attempt_duration_seconds_count",
            "hookline_delivery_latency_seconds_count",
            "hookline_events_ingested_total",
        ):
            assert any(key[0] == name for key in before), name
        assert _value(before, "hookline_queue_depth", status="pending") == 0
        assert _value(before, "hookline_queue_depth", status="held") == 0

        event = {
            "id": "evt-m",
            "type": "order.reminder",
            "data": {"object": {"type": "order", "public_id": "o-1", "customer": "c-1"}},
        }
        await acme.ok("POST", "/v1/events", 202, json=event)
        await receiver.wait_for(1, timeout=15)

        deadline = time.monotonic() + 15
        while True:  # the counters move right after the worker records the batch
            after = await _scrape(http)
            if _value(after, "hookline_deliveries_total", outcome="success") > _value(
                before, "hookline_deliveries_total", outcome="success"
            ):
                break
            assert time.monotonic() < deadline, "hookline_deliveries_total{outcome=success} did not move"
            await asyncio.sleep(0.05)

        def delta(name: str, **labels: str) -> float:
            return _value(after, name, **labels) - _value(before, name, **labels)

        assert delta("hookline_deliveries_total", outcome="success") == 1
        assert delta("hookline_deliveries_total", outcome="retry") == 0
        assert delta("hookline_attempts_total", result="2xx") == 1
        assert delta("hookline_attempt_duration_seconds_count") == 1
        assert delta("hookline_delivery_latency_seconds_count") == 1
        assert delta("hookline_events_ingested_total") == 1
        # A repeat of the same event is answered again but is not a new event.
        await acme.ok("POST", "/v1/events", 202, json=event)
        again = await _scrape(http)
        assert _value(again, "hookline_events_ingested_total") == _value(
            after, "hookline_events_ingested_total"
        )


async def test_queue_depth_is_read_from_the_database_and_cached(db_url: str) -> None:
    async with _app(db_url) as (app, http):
        acme = await _merchant(http)
        mid: str = acme.merchant_id  # type: ignore[attr-defined]
        route = await _route(acme)
        ctx: Context = app.state.context
        now = time.time()
        for status in ("pending", "pending", "held", "success"):
            await _insert(ctx, mid, route, status, now - 10)
        app.state.queue_depth = metrics.QueueDepth(ttl_s=3600)  # the default 5 s, made slow-machine proof
        first = await _scrape(http)
        assert _value(first, "hookline_queue_depth", status="pending") == 2
        assert _value(first, "hookline_queue_depth", status="held") == 1
        await _insert(ctx, mid, route, "pending", now - 5)
        cached = await _scrape(http)  # within the cache's lifetime: the same figure, no query
        assert _value(cached, "hookline_queue_depth", status="pending") == 2
        app.state.queue_depth = metrics.QueueDepth(ttl_s=0)
        fresh = await _scrape(http)
        assert _value(fresh, "hookline_queue_depth", status="pending") == 3


# -- the worker's hook ------------------------------------------------------------------------------------


def _result(status: DeliveryStatus, outcome: Outcome, created: float, completed: float | None) -> Result:
    job = Job(
        delivery_id=ids.new("dlv", now=created),
        event_id="evt-1",
        route_id="rte_1",
        target_id="tgt_1",
        url="http://127.0.0.1:9/",
        payload=b"{}",
        attempts=0,
        budget_used=0,
        keys=(b"k",),
        timeout_s=5.0,
        headers=(),
        retry=RetryPolicy(),
    )
    return Result(job, outcome, status, None if completed else created + 60, completed)


def test_observe_counts_a_batch() -> None:
    def read(name: str, **labels: str) -> float:
        return telemetry.REGISTRY.get_sample_value(name, labels) or 0.0

    names: list[tuple[str, dict[str, str]]] = [
        ("hookline_deliveries_total", {"outcome": "success"}),
        ("hookline_deliveries_total", {"outcome": "failed"}),
        ("hookline_deliveries_total", {"outcome": "retry"}),
        ("hookline_attempts_total", {"result": "2xx"}),
        ("hookline_attempts_total", {"result": "5xx"}),
        ("hookline_attempts_total", {"result": "4xx"}),
        ("hookline_attempts_total", {"result": "timeout"}),
        ("hookline_attempt_duration_seconds_count", {}),
        ("hookline_delivery_latency_seconds_count", {}),
        ("hookline_delivery_latency_seconds_sum", {}),
    ]
    before = [read(name, **labels) for name, labels in names]
    t = 1_700_000_000.0
    telemetry.observe(
        [
            _result(DeliveryStatus.SUCCESS, Outcome(t, 12.0, {}, status=200), t, t + 2.5),
            _result(DeliveryStatus.SUCCESS, Outcome(t, 8.0, {}, status=204), t, t + 0.5),
            _result(
                DeliveryStatus.PENDING, Outcome(t, 30.0, {}, status=503, error=ErrorKind.STATUS), t, None
            ),
            _result(DeliveryStatus.FAILED, Outcome(t, 5.0, {}, status=410, error=ErrorKind.STATUS), t, t + 9),
            _result(DeliveryStatus.PENDING, Outcome(t, 5000.0, {}, error=ErrorKind.TIMEOUT), t, None),
        ]
    )
    after = [read(name, **labels) for name, labels in names]
    deltas = [round(a - b, 6) for a, b in zip(after, before, strict=True)]
    assert deltas == [2, 1, 2, 2, 1, 1, 1, 5, 2, 3.0]


def test_created_at_reads_the_time_in_an_id() -> None:
    assert telemetry.created_at(ids.new("dlv", now=1_700_000_000.123)) == pytest.approx(1_700_000_000.123)
    assert telemetry.created_at("dlv_not-an-id") is None
    assert telemetry.created_at("evt-1") is None


def test_attempt_result_labels() -> None:
    def label(**kw: Any) -> str:
        return telemetry.attempt_result(Outcome(0.0, 1.0, {}, **kw))

    assert label(status=200) == "2xx"
    assert label(status=404, error=ErrorKind.STATUS) == "4xx"
    assert label(error=ErrorKind.TIMEOUT) == "timeout"
    assert label(error=ErrorKind.CONNECT) == "connect"
    assert label(status=200, error=ErrorKind.RESET) == "reset"  # a 2xx cut short is no answer
