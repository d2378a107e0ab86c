"""The dashboard in a real browser: Debian's Chromium driven by Playwright against ``hookline serve``.

One walk through what a merchant does: sign in, create a webhook with an enriched payload (matrix cells
ticked), send test events and see them arrive at a real receiver and in the delivery list, open an attempt,
halt and resume, regenerate the key. hookline runs as a process (``python -m hookline serve``, as the
contract starts it) on a SQLite file; the receiver runs in the test's event loop, so the browser is driven
with Playwright's async API. Nothing downloads a browser: the test uses ``/usr/bin/chromium``.

With ``HOOKLINE_TEST_SCREENSHOTS=1`` the screenshots of the main pages are also written to
``docs/screenshots/`` (``docs/dashboard.md`` shows them); otherwise they go to the test's tmp directory.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ViewportSize, async_playwright, expect

from crash.helpers import Api, api, processes
from support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LAPTOP: ViewportSize = {"width": 1280, "height": 900}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WAIT_MS = 30_000


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (no browser is downloaded)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
async def hookline(tmp_path: Path) -> AsyncIterator[tuple[str, Api]]:
    """``hookline serve`` on a SQLite file and a free port, and an API client with a merchant."""
    async with processes(tmp_path, f"sqlite:///{tmp_path}/hookline.db") as group:
        proc = await group.server("serve")
        async with api(proc) as client:
            merchant = await client.ok("POST", "/v1/merchants", 201, json={"name": "Acme Coffee"})
            client.merchant_id, client.merchant_key = merchant["id"], merchant["api_key"]
            yield proc.url, client


class Shots:
    """Screenshots of the main pages, at laptop width."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "screenshots"
        self.dir.mkdir()
        self.taken: list[Path] = []

    async def take(self, page: Any, name: str) -> None:
        path = self.dir / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000, f"screenshot {name} is (nearly) empty"
        self.taken.append(path)

    def publish(self) -> None:
        if os.environ.get("HOOKLINE_TEST_SCREENSHOTS"):
            DOCS.mkdir(parents=True, exist_ok=True)
            for path in self.taken:
                shutil.copyfile(path, DOCS / path.name)


def signed_by(key: str, header: str, body: bytes) -> bool:
    """``Ordergroove-Signature: ts=…,sig=…``: HMAC-SHA256 of ``{ts}.{body}`` with the key's UTF-8 bytes."""
    parts = [p.split("=", 1) for p in header.split(",")]
    ts = next(v for k, v in parts if k == "ts")
    expected = hmac.new(key.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return any(k == "sig" and hmac.compare_digest(v, expected) for k, v in parts)


async def until_shown(
    page: Any, selector: str, count: int, timeout_s: float = 30.0, *, at_least: bool = False
) -> None:
    """Reload until ``selector`` matches ``count`` elements, or ``count`` or more with ``at_least`` (the
    worker delivers and records in the background: a request a receiver has is not yet a recorded attempt)."""
    deadline = time.monotonic() + timeout_s
    while (found := await page.locator(selector).count()) != count and not (at_least and found > count):
        assert time.monotonic() < deadline, f"{selector}: {found} shown, not {count}"
        await page.wait_for_timeout(500)
        await page.reload()


async def test_a_merchant_manages_a_webhook_in_the_browser(
    chromium: Path, hookline: tuple[str, Api], receiver: Receiver, tmp_path: Path
) -> None:
    url, client = hookline
    shots = Shots(tmp_path)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            context = await browser.new_context(viewport=LAPTOP)
            await context.grant_permissions(["clipboard-read", "clipboard-write"])
            page = await context.new_page()
            page.set_default_timeout(WAIT_MS)
            await sign_in(page, url, client, shots)
            route = await create_webhook(page, client, receiver, shots)
            key = await page.locator(f"#key-{route['id']}").input_value()
            await send_test_events(page, client, receiver, route, key, shots)
            await open_an_attempt(page, shots)
            await halt_and_resume(page, client, receiver, route)
            await regenerate_key(page, client, route, key)
            await page.set_viewport_size({"width": 390, "height": 844})  # a phone: still usable
            await page.goto(f"{url}/dashboard/")
            assert await page.locator("table.routes tbody tr").first.is_visible()
            await shots.take(page, "webhooks-phone")
        finally:
            await browser.close()
    shots.publish()


async def sign_in(page: Any, url: str, client: Api, shots: Shots) -> None:
    await page.goto(url + "/")
    assert "/dashboard/sign-in" in page.url
    await shots.take(page, "sign-in")
    await page.fill("#key", "hl_mk_wrong")
    await page.click("button[type=submit]")
    assert "That key is not valid" in await page.locator("#err-key").inner_text()
    await page.fill("#key", client.merchant_key)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/dashboard/")
    assert "No webhooks yet" in await page.locator("main").inner_text()
    await shots.take(page, "empty")


async def create_webhook(page: Any, client: Api, receiver: Receiver, shots: Shots) -> dict[str, Any]:
    await page.click("text=Create webhook >> nth=0")
    await page.fill("#f-name", "Orders to the ERP")
    await page.fill("#f-new_url", receiver.url + "/hooks")
    await page.check('input[data-family-toggle="order"]')
    assert await page.is_checked('input[value="order.reminder"]')  # the family ticks its types (JS)
    await page.check('input[value="subscription.cancel"]')
    await page.click("summary.h2")  # Advanced settings
    for cell in ("order:customer", "order:items", "order:addresses", "subscription:customer"):
        await page.check(f'input[value="{cell}"]')
    forbidden = page.locator('.matrix tr:has(code:text-is("subscriber")) td >> nth=1').locator("input")
    assert await forbidden.is_disabled()
    await page.select_option("#preview-type", "order.reminder")
    await page.click("[data-preview]")
    await expect(page.locator("#preview-output")).to_contain_text('"snapshot"')  # no eval: the CSP forbids it
    preview = await page.locator("#preview-output").inner_text()
    assert '"customer"' in preview and '"items"' in preview and "order.reminder" in preview
    await shots.take(page, "create-webhook")
    await page.click("form#route-form .actions-row button[type=submit]")
    await page.wait_for_selector("text=Webhook created")
    [route] = (await client.ok("GET", "/v1/routes", 200, client.merchant_key))["data"]
    assert route["snapshot"] == {"order": ["addresses", "customer", "items"], "subscription": ["customer"]}
    assert route["event_types"] == ["order.*", "subscription.cancel"]
    keys = await client.ok("GET", f"/v1/targets/{route['target_id']}/signing-key", 200, client.merchant_key)
    assert await page.locator(f"#key-{route['id']}").input_value() == keys["signing_key"]
    await shots.take(page, "webhooks")
    return dict(route)


async def send_test_events(
    page: Any, client: Api, receiver: Receiver, route: dict[str, Any], key: str, shots: Shots
) -> None:
    row = page.locator(f"#route-{route['id']}")
    await row.locator(".menu-button").click()
    await row.locator("text=Send test events").click()
    await page.click("button:has-text('Send test events')")
    await page.wait_for_selector("text=Test events sent")
    sent = len(
        (await client.ok("GET", f"/v1/deliveries?route_id={route['id']}", 200, client.merchant_key))["data"]
    )
    assert sent >= 2
    arrived = await receiver.wait_for(sent, timeout=60, path="/hooks")
    for request in arrived:
        assert signed_by(key, request.headers["ordergroove-signature"], request.body)
        body = request.json()
        assert body["id"].startswith("test_")
        if body["type"].startswith("order."):
            assert set(body["snapshot"]) == {"customer", "items", "addresses"}
    await until_shown(page, "table.deliveries .badge.status-success", sent)
    await shots.take(page, "webhook-details")
    await page.select_option("#s-type", "order.reminder")
    await page.click("button:has-text('Search')")
    assert await page.locator("table.deliveries tbody tr").count() == 1


async def open_an_attempt(page: Any, shots: Shots) -> None:
    await page.locator("table.deliveries tbody tr a").first.click()
    await page.wait_for_selector("text=Attempt 1")
    card = await page.locator("#attempt-1").inner_text()
    assert "HTTP 200" in card and "Ordergroove-Signature" in card and '"order.reminder"' in card
    await shots.take(page, "delivery")
    await page.locator(".crumbs a").nth(1).click()


async def halt_and_resume(page: Any, client: Api, receiver: Receiver, route: dict[str, Any]) -> None:
    before = len(receiver.on("/hooks"))
    await page.click("button:has-text('Halt')")
    await page.wait_for_selector("text=This webhook is halted")
    path = f"/v1/routes/{route['id']}/test-events"
    await client.ok("POST", path, 202, client.merchant_key, json={"event_types": ["order.reminder"]})
    await until_shown(page, "table.deliveries .badge.status-held", 1)
    assert len(receiver.on("/hooks")) == before  # held: not tried
    await page.click("button:has-text('Resume')")
    await page.wait_for_selector("text=Webhook active again")
    await receiver.wait_for(before + 1, timeout=60, path="/hooks")
    assert (await client.ok("GET", f"/v1/routes/{route['id']}", 200, client.merchant_key))[
        "state"
    ] == "active"


async def regenerate_key(page: Any, client: Api, route: dict[str, Any], old_key: str) -> None:
    await page.click("a:has-text('Rotate signing key')")
    await page.click("button:has-text('Confirm')")
    await page.wait_for_selector("text=New signing key created")
    # Asked for from the webhook's page, the new key is shown there, revealed.
    shown = await page.locator("#secret-signing_key").input_value()
    keys = await client.ok("GET", f"/v1/targets/{route['target_id']}/signing-key", 200, client.merchant_key)
    assert shown == keys["signing_key"] != old_key
    assert keys["expiring_signing_key"] == old_key
    # On the list, without ?reveal, the key stays hidden until asked for; then it can be copied.
    await page.goto(page.url.split("/routes/")[0] + "/")
    row = page.locator(f"#route-{route['id']}")
    assert not await row.locator("input.key").is_visible()
    await row.locator("a.reveal").click()
    await expect(row.locator("input.key")).to_have_value(keys["signing_key"])
    await row.locator("button.copy").click()
    await expect(row.locator("button.copy")).to_have_text("Copied")
