"""The Targets and Events pages as a user sees them, in Debian's Chromium at laptop (1280x800) and phone
(390x844) sizes.

- A merchant opens Targets from the main menu, opens a target, reveals and copies its Standard Webhooks
  secret, changes its URL and is told the key is kept (the API shows the same key), rotates the key and
  sees both keys with the end of the overlap, and disables the target after a question.
- Events and Deliveries update by themselves: an event posted meanwhile appears without a reload; an event's
  page shows its deliveries on every webhook; the details' counters link to the matching deliveries and the
  chart range switches to 7 days.

With ``HOOKLINE_TEST_SCREENSHOTS=1`` each page's screenshot, at both sizes, goes to ``docs/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ViewportSize, expect

from browser import test_dashboard, test_dashboard_keys
from browser.test_dashboard import Shots
from crash.helpers import Api
from hookline.core import signing
from support.events import event

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

chromium = test_dashboard.chromium
hookline = test_dashboard.hookline
size = test_dashboard_keys.size
browser_context = test_dashboard_keys.browser_context
sign_in = test_dashboard_keys.sign_in
LIVE_WAIT_MS = 15_000  # live.js polls every 3 s


async def a_route(client: Api, url: str, name: str, *, halted: bool = False) -> dict[str, Any]:
    key = client.merchant_key
    target = await client.ok("POST", "/v1/targets", 201, key, json={"url": url})
    body = {"name": name, "target_id": target["id"], "event_types": ["order.*"]}
    route: dict[str, Any] = await client.ok("POST", "/v1/routes", 201, key, json=body)
    if halted:
        await client.ok("PATCH", f"/v1/routes/{route['id']}", 200, key, json={"state": "halted"})
    return route


async def post_event(client: Api, event_id: str) -> list[str]:
    """An event as the platform posts it (operator key, for the merchant): its deliveries."""
    path = f"/v1/events?merchant={client.merchant_id}"
    made: list[str] = (await client.ok("POST", path, 202, json=event("order.reminder", event_id)))[
        "deliveries"
    ]
    return made


async def test_a_merchant_manages_a_target(
    browser_context: Any, hookline: tuple[str, Api], size: tuple[str, ViewportSize], tmp_path: Path
) -> None:
    url, client = hookline
    shots = Shots(tmp_path)
    route = await a_route(client, "http://127.0.0.1:9/orders", "Orders")
    await a_route(client, "http://127.0.0.1:9/subscriptions", "Subscriptions")
    target_id = route["target_id"]
    key_path = f"/v1/targets/{target_id}/signing-key"
    before = await client.ok("GET", key_path, 200, client.merchant_key)

    page = await sign_in(browser_context, url, client.merchant_key)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Targets").click()
    await expect(page.get_by_role("heading", name="Targets", level=1)).to_be_visible()
    row = page.locator(f"#target-{target_id}")
    await expect(row).to_contain_text("enabled")
    await expect(row.get_by_role("link", name="Orders", exact=True)).to_be_visible()
    await shots.take(page, f"targets-{size[0]}")

    await row.get_by_role("link", name="http://127.0.0.1:9/orders").click()
    await expect(page.get_by_role("heading", name="http://127.0.0.1:9/orders", level=1)).to_be_visible()
    secret = page.locator("#key-standard_webhooks_secret")
    await expect(secret).to_have_value("")
    await page.get_by_role("link", name="Reveal the Standard Webhooks secret").click()
    await expect(secret).to_have_value(signing.standard_secret(before["signing_key"].encode()))
    await secret.locator("xpath=..").get_by_role("button", name="Copy").click()
    assert await page.evaluate("navigator.clipboard.readText()") == await secret.input_value()
    await expect(page.locator("#key-public_key")).to_have_value(before["standard_webhooks_public_key"])

    await page.fill("#t-url", "http://127.0.0.1:9/orders-v2")
    await page.get_by_role("button", name="Save URL").click()
    await expect(page.get_by_role("status")).to_contain_text("URL saved, key kept")
    await expect(page.get_by_role("heading", name="http://127.0.0.1:9/orders-v2", level=1)).to_be_visible()
    assert await client.ok("GET", key_path, 200, client.merchant_key) == before
    await shots.take(page, f"target-{size[0]}")

    await page.get_by_role("link", name="Rotate signing key").click()
    await expect(page.get_by_role("heading", name="Create a new signing key?")).to_be_visible()
    await page.get_by_role("button", name="Create a new key").click()
    await expect(page.get_by_role("status")).to_contain_text("New signing key created")
    rotated = await client.ok("GET", key_path, 200, client.merchant_key)
    assert rotated["expiring_signing_key"] == before["signing_key"]
    await expect(page.locator("#key-signing_key")).to_have_value(rotated["signing_key"])
    await expect(page.locator("#key-expiring_signing_key")).to_have_value(before["signing_key"])
    await expect(page.get_by_role("note")).to_contain_text("also signs every delivery until")
    await shots.take(page, f"target-rotated-{size[0]}")

    await page.get_by_role("link", name="Disable").click()
    await expect(page.get_by_role("heading", name="Disable this target?")).to_be_visible()
    await page.get_by_role("button", name="Disable").click()
    await expect(page.get_by_role("status").first).to_contain_text("Target disabled")
    await expect(page.get_by_role("button", name="Enable")).to_be_visible()
    assert (await client.ok("GET", f"/v1/targets/{target_id}", 200, client.merchant_key))["enabled"] is False
    shots.publish()


async def test_events_and_deliveries_update_by_themselves(
    browser_context: Any, hookline: tuple[str, Api], size: tuple[str, ViewportSize], tmp_path: Path
) -> None:
    url, client = hookline
    shots = Shots(tmp_path)
    held = await a_route(client, "http://127.0.0.1:9/held", "Held orders", halted=True)
    await a_route(client, "http://127.0.0.1:9/also", "Also held", halted=True)
    await post_event(client, "evt_first")

    page = await sign_in(browser_context, url, client.merchant_key)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Events").click()
    await expect(page.get_by_role("heading", name="Events", level=1)).to_be_visible()
    await expect(page.get_by_label("Update live (every few seconds)")).to_be_checked()
    await page.evaluate("window.notReloaded = true")
    await post_event(client, "evt_live")
    new_row = page.locator("table.events tbody tr").filter(has_text="evt_live")
    await expect(new_row).to_be_visible(timeout=LIVE_WAIT_MS)
    await expect(new_row).to_contain_text("2 held")
    assert await page.evaluate("window.notReloaded === true")  # no reload: the list came in place
    await shots.take(page, f"events-{size[0]}")

    await new_row.get_by_role("link").first.click()
    await expect(page.get_by_role("heading", name="Event evt_live", level=1)).to_be_visible()
    made = page.locator("table.deliveries tbody tr")
    await expect(made).to_have_count(2)
    await expect(made.filter(has_text="Held orders")).to_have_count(1)
    await expect(made.filter(has_text="Also held")).to_have_count(1)
    await shots.take(page, f"event-{size[0]}")

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Deliveries").click()
    await expect(page.get_by_role("heading", name="Deliveries", level=1)).to_be_visible()
    await page.evaluate("window.notReloaded = true")
    await post_event(client, "evt_later")
    await expect(page.locator("table.deliveries tbody tr").filter(has_text="evt_later")).to_have_count(
        2, timeout=LIVE_WAIT_MS
    )
    assert await page.evaluate("window.notReloaded === true")

    await page.goto(f"{url}/dashboard/routes/{held['id']}")
    await page.locator("li.counter.held").get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Deliveries", level=1)).to_be_visible()
    await expect(page.locator("#d-route")).to_have_value(held["id"])
    await expect(page.get_by_text("3 deliveries shown")).to_be_visible()
    await page.goto(f"{url}/dashboard/routes/{held['id']}")
    await page.get_by_role("navigation", name="Chart range").get_by_role("link", name="7 d").click()
    await expect(page.get_by_role("heading", name="Deliveries per 6 hours, last 7 days")).to_be_visible()
    await shots.take(page, f"webhook-details-7d-{size[0]}")
    shots.publish()
