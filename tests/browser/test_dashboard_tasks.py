"""A merchant's tasks in the dashboard, at 1280x800 and at 390x844 in Debian's Chromium; each asserts what
the user sees (and what the receiver, the API or the mailbox then has).

- Create a webhook, then from the LAST row's Actions menu use every item: Edit, Details, Send test events
  (they arrive), Halt and Resume, Rotate signing key (both keys shown on the details page), Disable.
- Find a failed delivery by the customer's e-mail on the Deliveries page and resend it.
- Be told by e-mail when a webhook halts itself: the address is set on the Notifications page, the mail
  reaches a real local SMTP server (aiosmtpd), and the list shows the webhook halted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ViewportSize, async_playwright, expect

from browser import test_dashboard
from browser.test_dashboard import ARGS, WAIT_MS, signed_by, until_shown
from browser.test_dashboard_actions import HIT, SIZES, make_routes, until_status
from crash.helpers import Api, api, processes
from support.events import event
from support.receiver import Receiver, Status
from support.smtp import SmtpServer, smtp_server_fixture  # noqa: F401  (the fixture smtp_server)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

chromium = test_dashboard.chromium
hookline = test_dashboard.hookline


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> ViewportSize:
    return SIZES[request.param]


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Any]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def signed_in(browser: Any, url: str, key: str, size: ViewportSize) -> Any:
    page = await (await browser.new_context(viewport=size)).new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(f"{url}/dashboard/sign-in")
    await page.fill("#key", key)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/dashboard/")
    return page


async def last_rows_menu(page: Any, url: str, item: str) -> None:
    """Open the webhook list, then the last row's Actions menu, and click ``item`` (seen and not covered)."""
    await page.goto(f"{url}/dashboard/")
    last = page.locator("table.routes tbody tr").last
    await last.locator(".menu-button").click()
    link = last.locator("[data-menu]").get_by_text(item, exact=True)
    await expect(link).to_be_visible()
    assert await link.evaluate(HIT), f"{item} is covered or outside the window"
    await link.click()


async def test_create_then_every_action_of_the_last_rows_menu(
    browser: Any, hookline: tuple[str, Api], receiver: Receiver, size: ViewportSize
) -> None:
    url, client = hookline
    page = await signed_in(browser, url, client.merchant_key, size)
    # Create; three more webhooks made after it put it on the list's last row (newest first).
    await page.get_by_role("link", name="Create webhook").first.click()
    await page.fill("#f-name", "Zebra orders")
    await page.fill("#f-new_url", receiver.url + "/zebra")
    await page.check('input[data-family-toggle="order"]')
    await page.click("form#route-form .actions-row button[type=submit]")
    await expect(page.locator("p.notice")).to_contain_text("Webhook created")
    await make_routes(client, receiver.url, 3)
    await page.reload()
    last = page.locator("table.routes tbody tr").last
    await expect(last).to_contain_text("Zebra orders")
    route_id = str(await last.get_attribute("id")).removeprefix("route-")
    route = await client.ok("GET", f"/v1/routes/{route_id}", 200, client.merchant_key)
    keys_path = f"/v1/targets/{route['target_id']}/signing-key"
    old_key = (await client.ok("GET", keys_path, 200, client.merchant_key))["signing_key"]

    await last_rows_menu(page, url, "Edit")
    await expect(page.locator("h1")).to_have_text("Edit webhook")
    await expect(page.locator("#f-name")).to_have_value("Zebra orders")

    await last_rows_menu(page, url, "Details")
    await expect(page.locator("h1")).to_contain_text("Zebra orders")

    await last_rows_menu(page, url, "Send test events")
    await page.get_by_role("button", name="Send test events").click()
    await expect(page.locator("p.notice")).to_contain_text("Test events sent")
    [request, *_] = await receiver.wait_for(1, timeout=30, path="/zebra")
    assert signed_by(old_key, request.headers["ordergroove-signature"], request.body)
    await until_shown(page, "table.deliveries .badge.status-success", 1, at_least=True)

    await last_rows_menu(page, url, "Halt")
    await expect(page.locator("p.notice")).to_contain_text("halted")
    await expect(page.locator("table.routes tbody tr").last.locator(".badge")).to_contain_text("halted")
    await last_rows_menu(page, url, "Resume")
    await expect(page.locator("table.routes tbody tr").last.locator(".badge")).to_contain_text("active")

    # Rotate signing key: asked first; then the details page shows the new key and the previous one, and until
    # when the previous one also signs.
    await last_rows_menu(page, url, "Rotate signing key")
    await expect(page.locator("main")).to_contain_text("Create a new signing key?")
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.locator("p.notice")).to_contain_text("New signing key created")
    keys = await client.ok("GET", keys_path, 200, client.merchant_key)
    assert keys["expiring_signing_key"] == old_key != keys["signing_key"]
    await page.goto(f"{url}/dashboard/routes/{route_id}")
    await expect(page.locator("#rotation-note")).to_contain_text("the previous one also signs until")
    for field, value in (("signing_key", keys["signing_key"]), ("expiring_signing_key", old_key)):
        box = page.locator(f".key-box:has(#secret-{field})")
        await box.locator("a.reveal").click()
        await expect(box.locator("input")).to_have_value(value)
    await expect(page.locator("label[for=secret-expiring_signing_key]")).to_contain_text(
        "Previous signing key"
    )

    await last_rows_menu(page, url, "Disable")
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.locator("table.routes tbody tr").last.locator(".badge")).to_contain_text("disabled")
    state = (await client.ok("GET", f"/v1/routes/{route_id}", 200, client.merchant_key))["state"]
    assert state == "disabled"


async def test_a_failed_delivery_found_by_email_is_resent(
    browser: Any, hookline: tuple[str, Api], receiver: Receiver, size: ViewportSize
) -> None:
    url, client = hookline
    receiver.respond("/down", Status(503))
    for customer, email in (("cust-ada", "ada@example.com"), ("cust-bob", "bob@example.com")):
        body = {"merchant_user_id": customer, "email": email}
        put = await client.call("PUT", f"/v1/objects/customer/{customer}", client.merchant_key, json=body)
        assert put.status_code in (200, 201), put.text
    target = await client.ok(
        "POST", "/v1/targets", 201, client.merchant_key, json={"url": receiver.url + "/down"}
    )
    spec = {
        "name": "Loyalty",
        "target_id": target["id"],
        "event_types": ["order.*"],
        "retry": {"max_attempts": 1},
    }
    await client.ok("POST", "/v1/routes", 201, client.merchant_key, json=spec)
    made: dict[str, str] = {}
    for customer in ("cust-ada", "cust-bob"):
        path = f"/v1/events?merchant={client.merchant_id}"
        answer = await client.ok(
            "POST", path, 202, json=event("order.reminder", f"evt-{customer}", customer=customer)
        )
        [made[customer]] = answer["deliveries"]
        await until_status(client, made[customer], "failed")
    page = await signed_in(browser, url, client.merchant_key, size)
    await page.get_by_role("link", name="Deliveries").first.click()
    await page.fill("#d-customer", "Ada@Example.com")  # an e-mail, in any case
    await page.check("input[name=status][value=failed]")
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.deliveries tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("evt-cust-ada")
    await expect(rows.first.locator(".badge")).to_contain_text("failed")
    await rows.first.locator("a[href*='/deliveries/']").first.click()
    await expect(page.locator("h1")).to_contain_text("Delivery")
    receiver.respond("/down", Status(200))  # the receiver is back
    resend = page.locator(".page-head").get_by_role("link", name="Resend…")
    assert await resend.evaluate(HIT)
    await resend.click()
    await expect(page.locator("h1")).to_have_text("Resend this delivery?")  # it asks first
    await page.click("[data-confirm]")
    await expect(page.locator("p.notice")).to_contain_text("Delivery queued to be sent again")
    await until_status(client, made["cust-ada"], "success")
    await page.reload()
    await expect(page.locator("h1 .badge")).to_contain_text("success")
    other = await client.ok("GET", f"/v1/deliveries/{made['cust-bob']}", 200, client.merchant_key)
    assert other["status"] == "failed"  # only the one found was resent


@pytest.fixture
async def hookline_with_mail(tmp_path: Path, smtp_server: SmtpServer) -> AsyncIterator[tuple[str, Api]]:
    """``hookline serve`` that sends notices through the local SMTP server; auto-halt after 2 failures."""
    async with processes(tmp_path, f"sqlite:///{tmp_path}/hookline.db") as group:
        proc = await group.server("serve", smtp_url=smtp_server.url, smtp_from="hookline@example.com")
        async with api(proc) as client:
            merchant = await client.ok("POST", "/v1/merchants", 201, json={"name": "Acme Coffee"})
            client.merchant_id, client.merchant_key = merchant["id"], merchant["api_key"]
            yield proc.url, client


async def test_the_auto_halt_email_arrives(
    browser: Any,
    hookline_with_mail: tuple[str, Api],
    receiver: Receiver,
    smtp_server: SmtpServer,
    size: ViewportSize,
) -> None:
    url, client = hookline_with_mail
    page = await signed_in(browser, url, client.merchant_key, size)
    await page.get_by_role("link", name="Notifications").first.click()
    await page.fill("#f-emails", "ops@acme.example")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("p.notice")).to_be_visible()
    await expect(page.locator("#f-emails")).to_have_value("ops@acme.example")
    receiver.respond("/down", Status(503))
    target = await client.ok(
        "POST", "/v1/targets", 201, client.merchant_key, json={"url": receiver.url + "/down"}
    )
    spec = {
        "name": "Orders to the ERP",
        "target_id": target["id"],
        "event_types": ["order.*"],
        "auto_halt": {"failures": 2, "window_s": 0},
        "retry": {"initial_interval_s": 1, "max_interval_s": 1},
    }
    route = await client.ok("POST", "/v1/routes", 201, client.merchant_key, json=spec)
    await client.ok("POST", f"/v1/events?merchant={client.merchant_id}", 202, json=event("order.reminder"))
    [mail] = await smtp_server.wait_for(1, timeout=60)
    assert mail["To"] == "ops@acme.example"
    assert mail["Subject"] == "hookline: route 'Orders to the ERP' was halted"
    assert route["id"] in mail.get_content()
    await page.goto(f"{url}/dashboard/")
    row = page.locator(f"#route-{route['id']}")
    await expect(row.locator(".badge")).to_contain_text("halted")
    await page.goto(f"{url}/dashboard/routes/{route['id']}")
    await expect(page.locator("p.warning").first).to_contain_text("This webhook is halted")
