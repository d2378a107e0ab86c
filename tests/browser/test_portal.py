"""The embedded portal in a real browser (docs/portal.md): a platform's page frames the dashboard.

hookline runs as ``hookline serve`` on ``http://localhost:<port>`` with ``HOOKLINE_PORTAL_FRAME_ANCESTORS``
naming the platform's origin (``http://127.0.0.1:<another port>``: another site, so the session cookie
crosses sites, ``SameSite=None; Secure; Partitioned``; Chromium counts ``http://localhost`` as secure). The
platform's page mints a link server-side, as docs/portal.md shows, and puts it in an iframe: the merchant is
signed in inside the frame, sees the platform's brand and creates a webhook there. A page on an origin not
named cannot frame the dashboard.

With ``HOOKLINE_TEST_SCREENSHOTS=1`` the screenshot of the framed dashboard is written to
``docs/screenshots/portal.png``; otherwise to the test's tmp directory.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from playwright.async_api import async_playwright, expect

from browser.test_dashboard import ARGS, CHROMIUM, DOCS, LAPTOP, WAIT_MS, chromium  # noqa: F401
from conftest import OPERATOR_KEY
from crash.helpers import Api, api, free_port, processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28" viewBox="0 0 28 28">'
    '<rect width="28" height="28" rx="6" fill="#fff"/><circle cx="14" cy="14" r="7" fill="#7a1fa2"/></svg>'
)


class Platform:
    """The commerce platform's web server: a settings page framing the merchant's webhooks."""

    def __init__(self, hookline_api: str, hookline_host: str, merchant_id: str) -> None:
        self.hookline_api = hookline_api
        self.hookline_host = hookline_host  # the Host the links are minted for (what the browser opens)
        self.merchant_id = merchant_id
        self.minted: list[str] = []

    async def mint(self, read_only: bool = False) -> str:
        """Server-side, with the operator key (never in the browser): a fresh single-use link."""
        async with httpx.AsyncClient(base_url=self.hookline_api, timeout=10) as http:
            answer = await http.post(
                f"/v1/merchants/{self.merchant_id}/portal-links",
                headers={"Authorization": f"Bearer {OPERATOR_KEY}", "Host": self.hookline_host},
                json={"return_url": f"{self.origin}/settings", "read_only": read_only},
            )
        answer.raise_for_status()
        url: str = answer.json()["url"]
        self.minted.append(url)
        return url

    async def settings_page(self, _: web.Request) -> web.Response:
        link = await self.mint()
        html = (
            "<!doctype html><title>Platform Co · Settings</title>"
            '<body style="font-family:sans-serif;margin:0;background:#f3eef6">'
            '<div style="padding:12px 24px;background:#2d0a3e;color:#fff">'
            "<b>Platform Co</b> admin · Settings</div>"
            '<div style="padding:16px 24px"><h2 style="margin:0 0 12px">Webhooks</h2>'
            f'<iframe src="{link}" title="Webhooks" style="width:100%;height:760px;border:1px solid #ccc;'
            'background:#fff"></iframe></div></body>'
        )
        return web.Response(text=html, content_type="text/html")

    async def logo(self, _: web.Request) -> web.Response:
        return web.Response(text=LOGO, content_type="image/svg+xml")

    origin = ""


@pytest.fixture
async def platform_port() -> int:
    return free_port()


async def _serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.fixture
async def portal(tmp_path: Path, platform_port: int) -> AsyncIterator[tuple[Platform, Api]]:
    origin = f"http://127.0.0.1:{platform_port}"
    brand = {"name": "Platform Co", "logo_url": f"{origin}/logo.svg", "accent": "#7a1fa2"}
    async with processes(
        tmp_path,
        f"sqlite:///{tmp_path}/hookline.db",
        portal_frame_ancestors=origin,
        portal_brand=json.dumps(brand),
    ) as group:
        proc = await group.server("serve")
        async with api(proc) as client:
            merchant = await client.ok("POST", "/v1/merchants", 201, json={"name": "Acme Coffee"})
            platform = Platform(proc.url, f"localhost:{proc.port}", merchant["id"])
            platform.origin = origin
            app = web.Application()
            app.router.add_get("/settings", platform.settings_page)
            app.router.add_get("/logo.svg", platform.logo)
            runner = await _serve(app, platform_port)
            client.merchant_id = merchant["id"]
            try:
                yield platform, client
            finally:
                await runner.cleanup()


async def test_a_platform_frames_the_themed_dashboard_and_the_merchant_creates_a_webhook(
    chromium: Path,  # noqa: F811
    portal: tuple[Platform, Api],
    platform_port: int,
    tmp_path: Path,
) -> None:
    platform, client = portal
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            context = await browser.new_context(viewport=LAPTOP)
            page = await context.new_page()
            page.set_default_timeout(WAIT_MS)
            await page.goto(f"{platform.origin}/settings")
            [link] = platform.minted
            assert link.startswith("http://localhost:")
            frame = page.frame_locator("iframe")
            await expect(frame.locator("main")).to_be_visible()
            assert page.frames[1].url == f"{link.split('/dashboard/')[0]}/dashboard/"
            await expect(frame.locator("main")).to_contain_text("No webhooks yet")
            header = frame.locator("header")
            await expect(header).to_contain_text("Platform Co")
            assert "hookline" not in (await header.inner_text()).lower()
            await expect(frame.locator("a.back")).to_have_attribute("href", f"{platform.origin}/settings")
            await expect(frame.locator("img.brand-logo")).to_be_visible()
            await frame.locator("text=Create webhook >> nth=0").click()
            await frame.locator("#f-name").fill("Orders to the ERP")
            await frame.locator("#f-new_url").fill("http://127.0.0.1:9/hooks")
            await frame.locator('input[data-family-toggle="order"]').check()
            await frame.locator("form#route-form .actions-row button[type=submit]").click()
            await expect(frame.locator("main")).to_contain_text("Webhook created")
            [route] = (await client.ok("GET", f"/v1/routes?merchant={client.merchant_id}", 200))["data"]
            assert route["name"] == "Orders to the ERP" and route["event_types"] == ["order.*"]
            await expect(frame.locator("main")).to_contain_text("Orders to the ERP")
            # A second task inside the frame: test events for the new webhook.
            row = frame.locator(f"#route-{route['id']}")
            await row.locator(".menu-button").click()
            await row.locator("text=Send test events").click()
            await frame.locator("button:has-text('Send test events')").click()
            await expect(frame.locator("main")).to_contain_text("Test events sent")
            sent = (
                await client.ok(
                    "GET", f"/v1/deliveries?merchant={client.merchant_id}&route_id={route['id']}", 200
                )
            )["data"]
            assert sent and all(d["event_id"].startswith("test_") for d in sent)
            shot = tmp_path / "portal.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000
            if os.environ.get("HOOKLINE_TEST_SCREENSHOTS"):
                DOCS.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, DOCS / "portal.png")

            # The link is used up: opened again (even by the same browser), it is refused.
            again = await context.new_page()
            answer = await again.goto(link)
            assert answer is not None and answer.status == 410

            # A read-only link: everything shown, nothing to change offered.
            viewer = await context.new_page()
            await viewer.goto(await platform.mint(read_only=True))
            await expect(viewer.locator("main")).to_contain_text("View only")
            await expect(viewer.locator("main")).to_contain_text("Orders to the ERP")
            await expect(viewer.locator("text=Create webhook")).to_be_hidden()
            await viewer.goto(viewer.url + f"routes/{route['id']}")
            await expect(viewer.locator("main")).to_contain_text("Orders to the ERP")
            # In the page, but not shown (the server refuses them anyway: test_dashboard_portal.py).
            for change in (
                "main a:has-text('Edit')",
                "main button:has-text('Halt')",
                "text=Send test events",
            ):
                assert await viewer.locator(change).count() > 0, change
                await expect(viewer.locator(change).first).to_be_hidden()

            # A page on an origin not named in HOOKLINE_PORTAL_FRAME_ANCESTORS cannot frame it.
            other = web.Application()
            other.router.add_get("/settings", platform.settings_page)
            other_port = free_port()
            runner = await _serve(other, other_port)
            try:
                stranger = await context.new_page()
                await stranger.goto(f"http://127.0.0.1:{other_port}/settings")
                await stranger.wait_for_timeout(1500)
                assert stranger.frames[1].url.startswith("chrome-error://")  # refused by the CSP
                framed = stranger.frame_locator("iframe")
                assert await framed.locator("main").count() == 0
                assert await framed.locator("text=Acme Coffee").count() == 0
            finally:
                await runner.cleanup()
        finally:
            await browser.close()
    # Links are not secrets in the logs: hookline names them by id.
    log = (tmp_path / "serve-1.log").read_text()
    assert link.rsplit("/", 1)[1] not in log and "portal link plk_" in log
