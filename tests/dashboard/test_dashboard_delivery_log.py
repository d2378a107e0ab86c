"""The Deliveries page: a merchant's deliveries across its webhooks, filtered and paged, over plain HTTP."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from conftest import Client, new_merchant
from support.dashboard import halted_route, make_route, post_events, signed_in
from support.events import event
from support.receiver import Receiver

PAGE = "/dashboard/deliveries"
DELIVERY = re.compile(r'href="/dashboard/deliveries/(dlv_[^"]+)"')


def listed(page: httpx.Response) -> set[str]:
    """The deliveries the page lists (each row links to its delivery)."""
    assert page.status_code == 200, page.text
    return set(DELIVERY.findall(page.text))


async def test_the_page_lists_and_filters_the_deliveries_of_every_webhook(
    http: httpx.AsyncClient, operator: Client, merchant: Client, receiver: Receiver
) -> None:
    sent = await make_route(merchant, receiver.url + "/hooks", "Sent orders")
    held = await halted_route(merchant, "Held orders")
    await merchant.ok(
        "PUT", "/v1/objects/customer/cust-1", json={"merchant_user_id": "cust-1", "email": "Ada@Example.com"}
    )
    made = await post_events(
        merchant, event(event_id="e1", customer="cust-1"), event(event_id="e2", customer="cust-2")
    )
    everything = {*made["e1"], *made["e2"]}
    assert len(everything) == 4

    async def both_sent() -> bool:
        done = await merchant.ok("GET", "/v1/deliveries", params={"status": "success"})
        return len(done["data"]) == 2

    deadline = asyncio.get_running_loop().time() + 20
    while not await both_sent():
        assert asyncio.get_running_loop().time() < deadline, "the deliveries were not sent"
        await asyncio.sleep(0.1)

    await signed_in(http, merchant.key)
    home = await http.get("/dashboard/")
    assert f'href="{PAGE}"' in home.text  # in the main menu
    page = await http.get(PAGE)
    assert listed(page) == everything and "4 deliveries shown" in page.text and "Next" not in page.text
    assert f'href="/dashboard/routes/{sent["id"]}">Sent orders</a>' in page.text
    assert f'href="/dashboard/routes/{held["id"]}">Held orders</a>' in page.text
    # Each row names the event's customer, a link to all of that customer's deliveries.
    for delivery_id in made["e2"]:
        row = re.search(rf'href="/dashboard/deliveries/{delivery_id}">.*?</tr>', page.text, re.S)
        assert row and 'href="/dashboard/deliveries?customer=cust-2"' in row.group(0), page.text

    def on(route: dict[str, Any]) -> set[str]:
        return {d for d in everything if d in by_route[route["id"]]}

    rows = (await merchant.ok("GET", "/v1/deliveries"))["data"]
    by_route: dict[str, set[str]] = {}
    for row in rows:
        by_route.setdefault(row["route_id"], set()).add(row["id"])
    assert listed(await http.get(PAGE, params={"route_id": held["id"]})) == on(held)
    assert listed(await http.get(PAGE, params={"status": "success"})) == on(sent)
    assert listed(await http.get(PAGE, params={"status": ["held", "success"]})) == everything
    assert listed(await http.get(PAGE, params={"status": "failed"})) == set()
    assert listed(await http.get(PAGE, params={"event_type": "order.*"})) == everything
    assert listed(await http.get(PAGE, params={"event_type": "subscriber.*"})) == set()
    # One customer box: an email when it has an @ (any case), a customer id otherwise.
    assert listed(await http.get(PAGE, params={"customer": " ADA@example.com "})) == set(made["e1"])
    assert listed(await http.get(PAGE, params={"customer": "cust-2"})) == set(made["e2"])
    assert listed(await http.get(PAGE, params={"customer": "nobody@example.com"})) == set()
    both = await http.get(PAGE, params={"customer": "cust-1", "route_id": sent["id"]})
    assert listed(both) == set(made["e1"]) & on(sent)
    none = await http.get(PAGE, params={"customer": "cust-9"})
    assert "No deliveries match these filters" in none.text

    # Another merchant sees none of them, and cannot name this merchant's webhook.
    other = await new_merchant(operator)
    await signed_in(http, other.key)
    assert listed(await http.get(PAGE)) == set()
    assert listed(await http.get(PAGE, params={"customer": "ada@example.com"})) == set()
    foreign = await http.get(PAGE, params={"route_id": sent["id"]})
    assert foreign.status_code == 400 and "There is no such webhook" in foreign.text
    assert not DELIVERY.search(foreign.text)


async def test_a_date_range_and_paging_with_the_cursor(http: httpx.AsyncClient, merchant: Client) -> None:
    await halted_route(merchant, "Held orders")
    early = await post_events(merchant, *(event(event_id=f"a{i}") for i in range(26)))
    await asyncio.sleep(0.05)
    late = await post_events(merchant, *(event(event_id=f"b{i}") for i in range(26)))
    first_late = (await merchant.ok("GET", f"/v1/deliveries/{late['b0'][0]}"))["created"]
    early_ids = {d for ids in early.values() for d in ids}
    late_ids = {d for ids in late.values() for d in ids}
    await signed_in(http, merchant.key)

    assert listed(await http.get(PAGE, params={"since": first_late})) == late_ids
    assert listed(await http.get(PAGE, params={"until": first_late})) == early_ids
    assert (
        listed(await http.get(PAGE, params={"since": "2000-01-01T00:00", "until": "2000-01-02T00:00"}))
        == set()
    )

    first = await http.get(PAGE)
    shown = listed(first)
    assert len(shown) == 50 and "50 deliveries shown, more…" in first.text
    assert late_ids <= shown  # newest first
    [next_link] = set(re.findall(r'href="(/dashboard/deliveries\?[^"]*before=[^"]+)"', first.text))
    second = await http.get(next_link.replace("&amp;", "&"))
    rest = listed(second)
    assert len(rest) == 2 and "2 deliveries shown" in second.text and "more…" not in second.text
    assert shown | rest == early_ids | late_ids and not shown & rest
    # The cursor keeps the filters: paging within "until" stays in the early deliveries.
    filtered = await http.get(PAGE, params={"until": first_late, "status": "held"})
    assert "26 deliveries shown" in filtered.text and "Next" not in filtered.text


async def test_bad_filters_are_a_400_with_a_message(http: httpx.AsyncClient, merchant: Client) -> None:
    await halted_route(merchant, "Held orders")
    await post_events(merchant, event(event_id="e1"))
    await signed_in(http, merchant.key)
    for params, message in [
        ({"status": "lost"}, "Unknown status lost"),
        ({"since": "yesterday"}, "“From” is not a date and time"),
        ({"until": "2026-13-45T99:00"}, "“Until” is not a date and time"),
        ({"since": "2026-12-07T10:00", "until": "2026-12-01T10:00"}, "“From” is not before “Until”"),
        ({"event_type": "nope.*"}, "There is no event type “nope.*”"),
        ({"route_id": "rt_nope"}, "There is no such webhook"),
    ]:
        page = await http.get(PAGE, params=params)
        assert page.status_code == 400 and message in page.text, (params, page.text[-2000:])
        assert not DELIVERY.search(page.text) and "No deliveries match" not in page.text
        assert "GET /v1" not in page.text
        assert 'name="customer"' in page.text  # the form is there to correct the filter


async def test_the_date_fields_show_a_time_as_the_date_picker_takes_it(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    await signed_in(http, merchant.key)
    page = await http.get(PAGE, params={"since": "2026-12-07T10:30:00+01:00", "until": "1797000000"})
    assert page.status_code == 200
    assert 'name="since" type="datetime-local" step="1" value="2026-12-07T09:30:00"' in page.text
    assert 'name="until" type="datetime-local" step="1" value="2026-12-11T14:40:00"' in page.text
