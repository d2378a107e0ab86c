"""A webhook's numbers as the details page shows them: durations in units that read well, whole numbers on
count axes, no bar for "no data", a sparkline dot coloured by its rate, the 24 h / 7 d / 30 d chart ranges,
counters that link to their deliveries, and a failure streak told in attempts (over HTTP, both databases).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conftest import Client
from hookline.dashboard import charts
from support.dashboard import eventually, signed_in
from support.receiver import Receiver, Status


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "—"),
        (3.25, "3.2 ms"),
        (12.5, "12 ms"),
        (850.4, "850 ms"),
        (5979.5, "5.98 s"),
        (12_345, "12.3 s"),
        (90_000, "1.5 min"),
    ],
)
def test_durations_read_well(ms: float | None, shown: str) -> None:
    assert charts.duration(ms) == shown


@pytest.mark.parametrize(
    ("most", "marks"),
    [(0, ["0", "1"]), (1, ["0", "1"]), (3, ["0", "1", "2", "3", "4", "5"]), (7, ["0", "5", "10"])],
)
def test_count_axes_mark_whole_numbers(most: int, marks: list[str]) -> None:
    svg = charts.stacked_bars([0.0, 3600.0], {"success": [most, 0]}, label="x")
    assert re.findall(r'text-anchor="end">([^<]+)</text>', svg)[: len(marks)] == marks
    assert "2.5" not in svg


def test_no_data_draws_no_bar_and_latencies_have_units() -> None:
    svg = charts.percentile_bars([("Event to delivered", [5979.5, None])], ["p50", "p95"], label="x")
    assert svg.count("<rect") == 1 and "5.98 s" in svg and "no data" in svg and "5979.5" not in svg


def test_a_lone_sparkline_dot_is_coloured_by_its_rate() -> None:
    bad = charts.sparkline([None, 0.0, None], label="x")
    good = charts.sparkline([None, 1.0, None], label="x")
    poor = charts.sparkline([0.9, 0.6, 1.0], label="x")
    assert 'class="dot-bad"' in bad and "dot-good" not in bad
    assert 'class="dot-good"' in good and "dot-bad" not in good
    assert poor.count('class="dot-poor"') == 2 and "polyline" in poor  # points under 95 % are marked


async def failing_route(merchant: Client, receiver: Receiver) -> dict[str, Any]:
    receiver.respond("/down", Status(500))
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/down"})
    body = {
        "name": "down",
        "target_id": target["id"],
        "event_types": ["order.*"],
        "retry": {"max_attempts": 1},
    }
    route: dict[str, Any] = await merchant.ok("POST", "/v1/routes", 201, json=body)
    return route


async def test_counters_link_to_their_deliveries_and_ranges_switch(
    http: httpx.AsyncClient, merchant: Client, receiver: Receiver
) -> None:
    route = await failing_route(merchant, receiver)
    event = {
        "type": "order.reminder",
        "data": {"object": {"type": "order", "public_id": "o", "customer": "c"}},
    }
    await merchant.ok("POST", "/v1/events", 202, json={"events": [event, event | {"id": "second"}]})

    async def failed() -> Any:
        found = (await merchant.ok("GET", "/v1/deliveries", params={"status": "failed"}))["data"]
        return found if len(found) == 2 else None

    ids = {d["id"] for d in await eventually(failed)}
    await signed_in(http, merchant.key)
    base = f"/dashboard/routes/{route['id']}"
    page = await http.get(base)
    counter = re.search(
        r'<li class="counter failed"><a href="([^"]+)"><span class="value">2</span>', page.text
    )
    assert counter, page.text
    link = counter.group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(link).query)
    assert urlsplit(link).path == "/dashboard/deliveries"
    assert query["route_id"] == [route["id"]] and query["status"] == ["failed"] and query["since"]
    listed = await http.get(link)
    assert listed.status_code == 200
    assert set(re.findall(r'href="/dashboard/deliveries/(dlv_[^"]+)"', listed.text)) == ids
    assert "2 deliveries shown" in listed.text
    assert '<li class="counter successful_retries"><span class="value">' in page.text  # no exact filter

    assert "Deliveries per hour, last 24 hours" in page.text and "Latency, last 24 hours" in page.text
    assert re.search(r'href="[^"]+\?range=24h#charts" aria-current="true">24 h</a>', page.text)
    week = await http.get(base, params={"range": "7d"})
    assert "Deliveries per 6 hours, last 7 days" in week.text and "Latency, last 7 days" in week.text
    assert re.search(r'\?range=7d#charts" aria-current="true">7 d</a>', week.text)
    assert week.text.count('<th scope="row"><time datetime=') == 28
    month = await http.get(base, params={"range": "30d"})
    assert "Deliveries per day, last 30 days" in month.text
    assert month.text.count('<th scope="row"><time datetime=') == 30
    unknown = await http.get(base, params={"range": "1y"})
    assert unknown.status_code == 200 and "last 24 hours" in unknown.text


async def test_a_failure_streak_is_told_in_attempts(
    http: httpx.AsyncClient, merchant: Client, receiver: Receiver
) -> None:
    receiver.respond("/down", Status(500))
    target = await merchant.ok("POST", "/v1/targets", 201, json={"url": receiver.url + "/down"})
    body = {
        "name": "down",
        "target_id": target["id"],
        "event_types": ["order.*"],
        "retry": {"max_attempts": 1},
        "auto_halt": {"failures": 50, "window_s": 3600},
    }
    route = await merchant.ok("POST", "/v1/routes", 201, json=body)
    event = {
        "type": "order.reminder",
        "data": {"object": {"type": "order", "public_id": "o", "customer": "c"}},
    }
    await merchant.ok("POST", "/v1/events", 202, json={"events": [event, event | {"id": "again"}]})

    async def streak() -> Any:
        found = await merchant.ok("GET", f"/v1/routes/{route['id']}")
        return found if found["failure_streak"] == 2 else None

    await eventually(streak)
    await signed_in(http, merchant.key)
    page = await http.get(f"/dashboard/routes/{route['id']}")
    assert "The last 2 attempts to deliver to the target failed" in page.text
    assert "times in a row" not in page.text
    # The list says so too, beside the state: an active webhook that keeps failing is not shown as healthy.
    listed = await http.get("/dashboard/")
    row = listed.text.split(f'id="route-{route["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert ">failing</a>" in row and "last 2 attempts failed" in row
