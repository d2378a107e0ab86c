"""The API keys page and the operator's console as a user sees them, in Debian's Chromium at laptop
(1280x800) and phone (390x844) sizes.

- A merchant opens API keys from the main menu, creates a key (shown once, copied with Copy), revokes it
  after a question, and is told its last key cannot be revoked (no Revoke button for it).
- The operator sees each merchant's health, creates a merchant (its key shown once) and finds a delivery.

With ``HOOKLINE_TEST_SCREENSHOTS=1`` each page's screenshot, at both sizes, goes to ``docs/screenshots/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ViewportSize, async_playwright, expect

from browser import test_dashboard
from browser.test_dashboard import ARGS, WAIT_MS, Shots
from browser.test_dashboard_actions import SIZES, post_event
from conftest import OPERATOR_KEY
from crash.helpers import Api

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

chromium = test_dashboard.chromium
hookline = test_dashboard.hookline


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> tuple[str, ViewportSize]:
    return request.param, SIZES[request.param]


@pytest.fixture
async def browser_context(chromium: Path, size: tuple[str, ViewportSize]) -> AsyncIterator[Any]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            context = await browser.new_context(viewport=size[1])
            await context.grant_permissions(["clipboard-read", "clipboard-write"])
            yield context
        finally:
            await browser.close()


async def sign_in(context: Any, url: str, key: str) -> Any:
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(f"{url}/dashboard/sign-in")
    await page.fill("#key", key)
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    return page


async def test_a_merchant_creates_and_revokes_a_key(
    browser_context: Any, hookline: tuple[str, Api], size: tuple[str, ViewportSize], tmp_path: Path
) -> None:
    url, client = hookline
    shots = Shots(tmp_path)
    page = await sign_in(browser_context, url, client.merchant_key)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    await expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    rows = page.locator("table.list tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Last key: cannot be revoked")
    await expect(rows.first.get_by_role("link", name="Revoke")).to_have_count(0)

    await page.get_by_role("button", name="Create a key").click()
    await expect(page.get_by_text("Copy this key now: it is not shown again.")).to_be_visible()
    shown = page.locator("#new-key")
    await expect(shown).to_be_visible()
    key = await shown.input_value()
    assert key.startswith("hl_mk_")
    await page.get_by_role("button", name="Copy").click()
    await expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert await page.evaluate("navigator.clipboard.readText()") == key
    await expect(rows).to_have_count(2)
    await shots.take(page, f"api-keys-{size[0]}")
    assert (await client.call("GET", "/v1/routes", key)).status_code == 200

    hint = key[:6] + "…" + key[-4:]
    await rows.filter(has_text=hint).get_by_role("link", name="Revoke").click()
    await expect(page.get_by_role("heading", name=f"Revoke key {hint}?")).to_be_visible()
    await shots.take(page, f"api-key-revoke-{size[0]}")
    await page.get_by_role("button", name="Revoke").click()
    await expect(page.get_by_role("status")).to_contain_text("API key revoked")
    await expect(rows).to_have_count(1)
    await expect(page.get_by_role("region", name="Revoked keys")).to_contain_text(hint)
    await expect(page.locator("#new-key")).to_have_count(0)  # shown once: gone after the redirect
    assert (await client.call("GET", "/v1/routes", key)).status_code == 401
    shots.publish()


async def test_the_operator_console(
    browser_context: Any, hookline: tuple[str, Api], size: tuple[str, ViewportSize], tmp_path: Path
) -> None:
    url, client = hookline
    shots = Shots(tmp_path)
    target = await client.ok(
        "POST", "/v1/targets", 201, client.merchant_key, json={"url": "http://127.0.0.1:9/"}
    )
    body = {"name": "Orders", "target_id": target["id"], "event_types": ["order.*"]}
    await client.ok("POST", "/v1/routes", 201, client.merchant_key, json=body)
    delivery = await post_event(client, "evt_console_1")
    page = await sign_in(browser_context, url, OPERATOR_KEY)
    await expect(page.get_by_role("heading", name="Merchants", level=1)).to_be_visible()
    acme = page.locator(f"#merchant-{client.merchant_id}")
    await expect(acme).to_contain_text("Acme Coffee")
    await expect(acme.locator("td[data-label=Webhooks]")).to_have_text("1")

    await page.fill("#f-name", "Bean Co")
    await page.get_by_role("button", name="Create merchant").click()
    await expect(page.get_by_role("heading", name="Merchant created: its first API key")).to_be_visible()
    key = await page.locator("#new-key").input_value()
    assert key.startswith("hl_mk_")
    await shots.take(page, f"merchant-created-{size[0]}")
    await page.get_by_role("link", name="Merchants").first.click()
    await expect(page.get_by_role("row").filter(has_text="Bean Co")).to_be_visible()
    await shots.take(page, f"merchants-{size[0]}")

    await page.fill("#s-q", "evt_console_1")
    await page.get_by_role("button", name="Find the delivery").click()
    found = page.get_by_role("row").filter(has_text=delivery)
    await expect(found).to_contain_text("Acme Coffee")
    await shots.take(page, f"merchant-search-{size[0]}")
    await found.get_by_role("button", name="Open").click()
    await expect(page.get_by_text(delivery).first).to_be_visible()
    await expect(page.locator(".who-name")).to_contain_text("acting for Acme Coffee")
    shots.publish()
