"""``/docs`` and ``/redoc`` in a real browser: they render, and ask nothing of any other server.

Self-hosters behind a firewall get the same pages as anyone: Chromium (Debian's, nothing downloaded) loads
each page from ``hookline serve``, and every request that reaches the network is intercepted and recorded;
one for any other server (it is aborted, so nothing leaves the machine) fails the test, and so does a page
that does not show the operations. A request the page's Content-Security-Policy stops in the browser never
reaches the network (ReDoc's logo from its maker's CDN is one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright

from browser import test_dashboard
from browser.test_dashboard import ARGS, LAPTOP, WAIT_MS
from crash.helpers import processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

chromium = test_dashboard.chromium  # the same fixture: Debian's Chromium, or a skip (a failure under CI)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[str]:
    async with processes(tmp_path, f"sqlite:///{tmp_path}/hookline.db") as group:
        proc = await group.server("serve")
        yield proc.url


async def _visit(browser: Any, origin: str, page_path: str) -> tuple[Any, list[str], list[str]]:
    """The page, what it sent to this server, and what it tried to send elsewhere (aborted)."""
    context = await browser.new_context(viewport=LAPTOP)
    here: list[str] = []
    elsewhere: list[str] = []

    async def network(route: Any) -> None:
        url = route.request.url
        if url.startswith(origin + "/"):
            here.append(url)
            await route.continue_()
        else:
            elsewhere.append(url)
            await route.abort()

    await context.route("**/*", network)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(origin + page_path)
    return page, here, elsewhere


async def test_docs_and_redoc_render_from_this_server_alone(
    chromium: Path, server: str, tmp_path: Path
) -> None:
    shots = tmp_path
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            page, here, elsewhere = await _visit(browser, server, "/docs")
            await page.locator(".opblock").first.wait_for()
            operations = await page.locator(".opblock").count()
            assert operations >= 50, f"Swagger UI shows {operations} operations"
            assert await page.locator(".btn.authorize").count() == 1  # the security schemes
            await page.wait_for_load_state("networkidle")
            assert f"{server}/openapi.json" in here
            assert not elsewhere, elsewhere
            await page.screenshot(path=str(shots / "docs.png"))

            page, here, elsewhere = await _visit(browser, server, "/redoc")
            await page.locator("h2", has_text="Create Merchant").first.wait_for()
            await page.get_by_text("Authorization: Bearer").first.wait_for(state="attached")
            await page.wait_for_load_state("networkidle")
            assert f"{server}/openapi.json" in here
            assert not elsewhere, elsewhere
            await page.screenshot(path=str(shots / "redoc.png"))
        finally:
            await browser.close()
