"""The Events page and an event's page over plain HTTP, on both databases: the merchant's events across
webhooks, newest first, filtered by type, customer (id or email) and time, paged, with what each made; an
event's deliveries on every webhook; the results alone (``?partial=1``) for live updates, on the
Deliveries page too."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from conftest import Client, new_merchant
from support.dashboard import halted_route, make_route, post_events, signed_in
from support.events import event

PAGE = "/dashboard/events"
EVENT = re.compile(r'<a href="/dashboard/events/([^"]+)"><time')


def listed(page: httpx.Response) -> list[str]:
    """The events the page lists, in order (each row links to its event)."""
    assert page.status_code == 200, page.text
    return EVENT.findall(page.text)


async def test_the_page_lists_and_filters_every_event(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    await halted_route(merchant, "Held orders")
    await halted_route(merchant, "More orders")
    await merchant.ok(
        "PUT", "/v1/objects/customer/cust-1", json={"merchant_user_id": "cust-1", "email": "Ada@Example.com"}
    )
    await post_events(merchant, event(event_id="e1", customer="cust-1"))
    await post_events(merchant, event(event_id="e2", customer="cust-2"))
    await post_events(merchant, event("subscriber.create", event_id="e3", customer="cust-1"))
    other = await new_merchant(operator)
    await post_events(other, event(event_id="theirs"))

    await signed_in(http, merchant.key)
    home = await http.get("/dashboard/")
    assert f'href="{PAGE}"' in home.text  # in the main menu
    page = await http.get(PAGE)
    # Halting the two webhooks made their own hookline.route.halted events, newer than none of these.
    assert [e for e in listed(page) if e in ("e1", "e2", "e3")] == [
        "e3",
        "e2",
        "e1",
    ] and "Next" not in page.text
    assert "5 events shown" in page.text and "hookline.<wbr>route.<wbr>halted" in page.text
    assert "theirs" not in page.text
    row = re.search(r'href="/dashboard/events/e1">.*?</tr>', page.text, re.S)
    assert row and "cust-1" in row.group(0)
    assert re.search(r'2 <span class="badge status-held">held</span>', row.group(0))  # on both webhooks
    assert 'data-live="/dashboard/events?partial=1"' in page.text

    assert listed(await http.get(PAGE, params={"event_type": "order.*"})) == ["e2", "e1"]
    assert listed(await http.get(PAGE, params={"event_type": "subscriber.create"})) == ["e3"]
    assert listed(await http.get(PAGE, params={"customer": "cust-1"})) == ["e3", "e1"]
    assert listed(await http.get(PAGE, params={"customer": "ada@EXAMPLE.com"})) == ["e3", "e1"]
    assert listed(await http.get(PAGE, params={"customer": "nobody"})) == []
    rows = (await merchant.ok("GET", "/v1/events"))["data"]
    received = {r["id"]: r["received"] for r in rows}
    middle = received["e2"]
    assert listed(await http.get(PAGE, params={"since": middle})) == ["e3", "e2"]
    assert listed(await http.get(PAGE, params={"until": middle, "event_type": "order.*"})) == ["e1"]
    moment = datetime.fromisoformat(middle).astimezone(UTC)
    field = await http.get(PAGE, params={"since": middle})
    assert f'value="{moment.strftime("%Y-%m-%dT%H:%M:%S")}"' in field.text  # as the date picker takes it
    empty = await http.get(PAGE, params={"customer": "nobody"})
    assert "No events match these filters" in empty.text

    bad = await http.get(PAGE, params={"since": "yesterday"})
    assert bad.status_code == 400 and "“From” is not a date and time" in bad.text
    assert "No events match" not in bad.text
    unknown = await http.get(PAGE, params={"event_type": "no.such"})
    assert unknown.status_code == 400 and "There is no event type “no.such”" in unknown.text
    assert "GET /v1" not in unknown.text
    assert (await http.get(PAGE, params={"before": "nonsense"})).status_code == 400


async def test_pages_of_events_follow_each_other(http: httpx.AsyncClient, merchant: Client) -> None:
    await post_events(merchant, *(event(event_id=f"p{i:02}") for i in range(55)))
    await signed_in(http, merchant.key)
    first = await http.get(PAGE)
    found = listed(first)
    assert len(found) == 50 and "50 events shown, more…" in first.text
    link = re.search(r'href="(/dashboard/events\?[^"]+)">Next', first.text)
    assert link, first.text
    second = await http.get(link.group(1).replace("&amp;", "&"))
    rest = listed(second)
    assert len(rest) == 5 and not set(found) & set(rest)
    assert "data-live" not in second.text  # a later page does not move under the reader


async def test_an_event_shows_its_deliveries_on_every_webhook(
    http: httpx.AsyncClient, merchant: Client
) -> None:
    first = await halted_route(merchant, "Held orders")
    second = await make_route(merchant, "http://127.0.0.1:9/hook", "Other orders")
    made = await post_events(merchant, event(event_id="evt/1", customer="cust-9"))
    await signed_in(http, merchant.key)
    page = await http.get(f"{PAGE}/evt%2F1")
    assert page.status_code == 200, page.text
    for delivery_id in made["evt/1"]:
        assert f'href="/dashboard/deliveries/{delivery_id}"' in page.text
    assert f'href="/dashboard/routes/{first["id"]}">Held orders</a>' in page.text
    assert f'href="/dashboard/routes/{second["id"]}">Other orders</a>' in page.text
    assert "cust-9" in page.text and "order.reminder" in page.text
    # Its deliveries' table leaves out the event's type and id: the page is about one event.
    table = re.search(r'<table class="list deliveries">.*?</table>', page.text, re.S)
    assert table and ">Event type<" not in table.group(0) and ">Event ID<" not in table.group(0)
    delivery = await http.get(f"/dashboard/deliveries/{made['evt/1'][0]}")
    assert 'href="/dashboard/events/evt/1"' in delivery.text  # the delivery links its event
    assert (await http.get(f"{PAGE}/missing")).status_code == 404


async def test_the_results_alone_for_live_updates(http: httpx.AsyncClient, merchant: Client) -> None:
    await halted_route(merchant, "Held orders")
    await signed_in(http, merchant.key)
    before = await http.get(PAGE, params={"customer": "cust-1", "partial": "1"})
    assert before.status_code == 200 and "<html" not in before.text and "No events match" in before.text
    made = await post_events(merchant, event(event_id="live-1", customer="cust-1"))
    after = await http.get(PAGE, params={"customer": "cust-1", "partial": "1"})
    assert listed(after) == ["live-1"] and "<html" not in after.text

    deliveries = await http.get("/dashboard/deliveries", params={"status": "held"})
    assert 'data-live="/dashboard/deliveries?status=held&amp;partial=1"' in deliveries.text
    alone = await http.get("/dashboard/deliveries", params={"status": "held", "partial": "1"})
    assert alone.status_code == 200 and "<html" not in alone.text
    assert f'href="/dashboard/deliveries/{made["live-1"][0]}"' in alone.text
    assert 'src="/dashboard/static/live.js"' in deliveries.text
    assert (await http.get("/dashboard/static/live.js")).status_code == 200
