"""The dashboard's row actions, resend and URL editing as a user sees them, in Debian's Chromium at laptop
(1280x800) and phone (390x844) sizes: what is on screen and can be clicked, not what the HTML says.

- The webhook list's Actions menu opens above the table's scroll box: on the LAST row every item is the
  element at its own centre (nothing covers or clips it); Escape and a click elsewhere close it, and opening
  one menu closes the other.
- Editing a webhook's URL keeps its target and signing key, and the page says so.
- Resend: on a successful delivery it is a secondary button that asks first; the bulk resend ticks only
  failed deliveries and shows how many it would resend before the user confirms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ViewportSize, async_playwright, expect

from browser import test_dashboard
from browser.test_dashboard import ARGS, WAIT_MS, signed_by
from crash.helpers import Api
from support.events import event
from support.receiver import Receiver, Status

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

chromium = test_dashboard.chromium  # Debian's Chromium, or a skip (a failure under CI)
hookline = test_dashboard.hookline  # ``hookline serve`` on SQLite, and an API client with a merchant

SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 800},
    "phone": {"width": 390, "height": 844},
}
ROWS = 6
# The item at the centre of an element's box, compared with the element itself (or one of its children).
HIT = """(element) => {
  const box = element.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const inside = x >= 0 && y >= 0 && x <= window.innerWidth && y <= window.innerHeight;
  const found = document.elementFromPoint(x, y);
  return inside && found !== null && (found === element || element.contains(found));
}"""


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> ViewportSize:
    return SIZES[request.param]


@pytest.fixture
async def page(chromium: Path, hookline: tuple[str, Api], size: ViewportSize) -> AsyncIterator[Any]:
    """A signed-in merchant's page at the size under test."""
    url, client = hookline
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            context = await browser.new_context(viewport=size)
            await context.grant_permissions(["clipboard-read", "clipboard-write"])
            page = await context.new_page()
            page.set_default_timeout(WAIT_MS)
            await page.goto(f"{url}/dashboard/sign-in")
            await page.fill("#key", client.merchant_key)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{url}/dashboard/")
            yield page
        finally:
            await browser.close()


async def make_route(client: Api, url: str, **extra: Any) -> dict[str, Any]:
    target = await client.ok("POST", "/v1/targets", 201, client.merchant_key, json={"url": url})
    body = {"name": "Orders", "target_id": target["id"], "event_types": ["order.*"], **extra}
    route: dict[str, Any] = await client.ok("POST", "/v1/routes", 201, client.merchant_key, json=body)
    return route


async def post_event(client: Api, event_id: str) -> str:
    """An event as the platform posts it (operator key, for the merchant): its one delivery."""
    path = f"/v1/events?merchant={client.merchant_id}"
    [delivery] = (await client.ok("POST", path, 202, json=event("order.reminder", event_id)))["deliveries"]
    return str(delivery)


async def until_status(client: Api, delivery_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        row: dict[str, Any] = await client.ok(
            "GET", f"/v1/deliveries/{delivery_id}", 200, client.merchant_key
        )
        if row["status"] == status:
            return row
        assert time.monotonic() < deadline, f"{delivery_id} stayed {row['status']}"
        await asyncio.sleep(0.2)


async def make_routes(client: Api, url: str, count: int) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        target = await client.ok("POST", "/v1/targets", 201, client.merchant_key, json={"url": f"{url}/r{n}"})
        body = {"name": f"Webhook {n}", "target_id": target["id"], "event_types": ["order.*"]}
        made.append(await client.ok("POST", "/v1/routes", 201, client.merchant_key, json=body))
    return made


async def test_every_item_of_the_last_rows_menu_can_be_clicked(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    made = await make_routes(client, receiver.url, ROWS)
    await page.goto(f"{url}/dashboard/")
    rows = page.locator("table.routes tbody tr")
    assert await rows.count() == ROWS
    last = rows.nth(ROWS - 1)
    last_id = str(await last.get_attribute("id")).removeprefix("route-")
    assert last_id in [r["id"] for r in made]
    await last.locator(".menu-button").click()
    menu = last.locator("[data-menu]")
    await expect(menu).to_be_visible()
    items = menu.locator("li > a, li button")
    labels = [t.strip() for t in await items.all_inner_texts()]
    assert labels == [
        "Edit",
        "Details",
        "Rotate signing key",
        "Send test events",
        "Halt",
        "Disable",
        "Delete",
    ]
    for n in range(await items.count()):
        assert await items.nth(n).evaluate(HIT), f"{labels[n]} is covered or outside the window"
    # Escape closes it; so does a click elsewhere; one menu at a time.
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await last.locator(".menu-button").click()
    await expect(menu).to_be_visible()
    await page.locator("h1").click()
    await expect(menu).to_be_hidden()
    first = rows.nth(0)
    await first.locator(".menu-button").click()
    await expect(first.locator("[data-menu]")).to_be_visible()
    await last.locator(".menu-button").click()
    await expect(menu).to_be_visible()
    await expect(first.locator("[data-menu]")).to_be_hidden()
    assert await page.locator("[data-menu]:popover-open").count() == 1
    # An item works: Delete (the last one, nearest the bottom) asks, then deletes.
    await menu.locator("text=Delete").click()
    await page.click("button:has-text('Confirm')")
    await page.wait_for_selector("text=Webhook deleted")
    listed = (await client.ok("GET", "/v1/routes", 200, client.merchant_key))["data"]
    assert last_id not in [r["id"] for r in listed] and len(listed) == ROWS - 1


async def test_a_new_url_keeps_the_signing_key(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    route = await make_route(client, receiver.url + "/old")
    keys_path = f"/v1/targets/{route['target_id']}/signing-key"
    key = (await client.ok("GET", keys_path, 200, client.merchant_key))["signing_key"]
    await page.goto(f"{url}/dashboard/routes/{route['id']}/edit")
    field = page.locator("#f-target-url")
    await expect(field).to_have_value(receiver.url + "/old")
    await expect(page.locator("#target-url-hint")).to_contain_text("keeps its signing key")
    await field.fill(receiver.url + "/new")
    await page.click("form#route-form .actions-row button[type=submit]")
    notice = page.locator("p.notice")
    await expect(notice).to_contain_text("now sends to the new URL and keeps its signing key")
    targets = (await client.ok("GET", "/v1/targets", 200, client.merchant_key))["data"]
    assert [(t["id"], t["url"]) for t in targets] == [(route["target_id"], receiver.url + "/new")]
    assert (await client.ok("GET", keys_path, 200, client.merchant_key))["signing_key"] == key
    # The next delivery goes to the new URL, signed with the key the receiver already has.
    await post_event(client, "after-edit")
    [request] = await receiver.wait_for(1, timeout=30, path="/new")
    assert signed_by(key, request.headers["ordergroove-signature"], request.body)


async def test_resending_a_successful_delivery_is_secondary_and_asks(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    await make_route(client, receiver.url + "/ok")
    delivery = await post_event(client, "ok-1")
    await until_status(client, delivery, "success")
    await page.goto(f"{url}/dashboard/deliveries/{delivery}")
    resend = page.locator(".page-head").get_by_text("Resend")
    await expect(resend).to_be_visible()
    assert await resend.evaluate(HIT)
    colour = await resend.evaluate("(element) => getComputedStyle(element).backgroundColor")
    assert colour == "rgb(255, 255, 255)", f"Resend is not a secondary button: {colour}"
    await resend.click()
    await expect(page.locator("h1")).to_have_text("Resend this delivery?")
    await expect(page.locator("p.warning")).to_contain_text("already succeeded (HTTP 200)")
    await page.get_by_role("link", name="Cancel").click()
    await expect(page.locator("h1")).to_contain_text("Delivery")
    assert (await client.ok("GET", f"/v1/deliveries/{delivery}", 200, client.merchant_key))[
        "attempt_count"
    ] == 1
    await page.locator(".page-head").get_by_text("Resend").click()
    await page.click("[data-confirm]")
    await expect(page.locator("p.notice")).to_contain_text("Delivery queued to be sent again")
    await receiver.wait_for(2, timeout=30, path="/ok")


async def test_bulk_resend_shows_the_count_before_it_starts(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    receiver.respond("/down", Status(500))
    route = await make_route(client, receiver.url + "/down", retry={"max_attempts": 1})
    for n in range(2):
        await until_status(client, await post_event(client, f"down-{n}"), "failed")
    await page.goto(f"{url}/dashboard/routes/{route['id']}")
    await page.locator("#resend summary").click()  # a closed section, so the page stays short on a phone
    boxes = page.locator("#resend input[name=resend_status]")
    ticked = {await b.get_attribute("value"): await b.is_checked() for b in await boxes.all()}
    assert ticked == {"failed": True, "canceled": False, "success": False}  # failed only, by default
    await page.locator("#resend button[type=submit]").click()
    await expect(page.locator("h1")).to_have_text("Resend 2 deliveries?")
    preview = {"dry_run": True, "status": ["failed"]}
    path = f"/v1/routes/{route['id']}/resend"
    assert (await client.ok("POST", path, 200, client.merchant_key, json=preview))["count"] == 2
    assert (await client.ok("GET", "/v1/jobs", 200, client.merchant_key))["data"] == []  # nothing started
    receiver.respond("/down", Status(200))
    confirm = page.locator("[data-confirm]")
    await expect(confirm).to_have_text("Resend 2 deliveries")
    assert await confirm.evaluate(HIT)
    await confirm.click()
    await expect(page.locator("[data-job-label]")).to_contain_text("Finished: 2 deliveries resent")
    await receiver.wait_for(4, timeout=30, path="/down")


async def test_the_secret_is_revealed_and_copied_on_the_details_page(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    route = await make_route(client, receiver.url + "/hooks")
    keys = await client.ok("GET", f"/v1/targets/{route['target_id']}/signing-key", 200, client.merchant_key)
    await page.goto(f"{url}/dashboard/routes/{route['id']}")
    box = page.locator("#verify .key-box").first
    field = box.locator("input")
    await expect(field).to_have_value("")  # masked
    await expect(box.locator("button.copy")).to_be_hidden()
    await box.locator("a.reveal").click()
    await expect(field).to_have_value(keys["standard_webhooks_secret"])
    await expect(box.locator("a.reveal")).to_be_hidden()
    await box.locator("button.copy").click()
    await expect(box.locator("button.copy")).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == keys["standard_webhooks_secret"]
    await page.locator("#verify details.snippets > summary").click()
    for language in ("python", "node", "go", "php", "ruby"):  # each folded under its language
        await expect(page.locator(f"#snippet-{language}")).to_be_hidden()
    await page.locator("#snippet-python-box > summary").click()
    await expect(page.locator("#snippet-python")).to_contain_text("Webhook(os.environ")
    await page.locator("#snippet-go-box > summary").click()
    await expect(page.locator("#snippet-go")).to_contain_text("func verified(body []byte")


async def test_endpoint_authentication_shows_the_fields_of_the_chosen_kind(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    [route] = await make_routes(client, receiver.url, 1)
    await page.goto(f"{url}/dashboard/routes/{route['id']}/edit")
    kinds = {kind: page.locator(f'fieldset[data-auth-kind="{kind}"]') for kind in ("basic", "oauth2", "mtls")}
    for fields in kinds.values():  # "Keep": no fields to fill in
        await expect(fields).to_be_hidden()
    for chosen in kinds:
        await page.select_option("#f-auth-type", chosen)
        for kind, fields in kinds.items():
            await (expect(fields).to_be_visible() if kind == chosen else expect(fields).to_be_hidden())
    await page.select_option("#f-auth-type", "none")
    for fields in kinds.values():
        await expect(fields).to_be_hidden()


async def test_choosing_another_target_hides_the_current_one_s_url(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    first, second = await make_routes(client, receiver.url, 2)
    await page.goto(f"{url}/dashboard/routes/{first['id']}/edit")
    current = page.locator("#f-target-url")
    await expect(current).to_be_visible()
    await current.fill(receiver.url + "/typed-then-switched")
    await page.select_option("#f-target", second["target_id"])
    await expect(current).to_be_hidden()
    await expect(page.locator("#target-switched")).to_be_visible()
    await page.select_option("#f-target", first["target_id"])
    await expect(current).to_be_visible()
    await expect(current).to_have_value(receiver.url + "/r0")  # what was typed is not kept as a change


async def test_a_refused_form_puts_the_keyboard_on_its_error_summary(
    page: Any, hookline: tuple[str, Api], receiver: Receiver
) -> None:
    url, client = hookline
    [route] = await make_routes(client, receiver.url, 1)
    await page.goto(f"{url}/dashboard/routes/{route['id']}/edit")
    await page.fill("#f-name", "")
    await page.locator("#route-form button.primary[type=submit]").click()
    summary = page.locator(".error-summary")
    await expect(summary).to_contain_text("The webhook was not saved")
    await expect(summary).to_be_focused()
    await page.keyboard.press("Tab")  # the next stop is the summary's first link, to the field
    await expect(page.locator(".error-summary a").first).to_be_focused()
