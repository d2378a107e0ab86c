"""Every dashboard page (``tour.pages``), at 1280x800 and at 390x844 in Debian's Chromium:

- axe-core (vendored, ``tests/browser/vendor/``) finds no WCAG 2.x A or AA violation;
- nothing is written to the console as an error, no request fails (a 4xx or 5xx answer, or no answer);
- nothing is wider than the window (the page does not scroll sideways; wide tables and the snapshot matrix
  scroll inside their own box).

With ``HOOKLINE_TEST_SCREENSHOTS=1`` (``scripts/screenshots``) each page's screenshot, ``<name>-desktop.png``
and ``<name>-phone.png``, is written to ``docs/screenshots/pages/`` (``docs/dashboard.md`` shows them).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ViewportSize, async_playwright

from browser import test_dashboard, tour
from browser.test_dashboard import ARGS, DOCS, WAIT_MS
from browser.test_dashboard_actions import SIZES
from conftest import OPERATOR_KEY
from crash.helpers import Api
from support.receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

chromium = test_dashboard.chromium
hookline = test_dashboard.hookline

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ") + ": " + n.failureSummary),
  }));
}"""
# Whether the page scrolls sideways, and the first elements that stick out of the window on the right
# without a box of their own that scrolls (or clips) them.
WIDER = """() => {
  const width = document.documentElement.clientWidth;
  const boxed = (e) => {
    for (let up = e.parentElement; up && up !== document.body; up = up.parentElement) {
      if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(up).overflowX)) return true;
    }
    return false;
  };
  const out = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 1 && !boxed(e))
    .slice(0, 5).map((e) => e.tagName.toLowerCase() + "." + e.className);
  return document.documentElement.scrollWidth > width + 1 ? ["the page scrolls sideways", ...out] : out;
}"""


class Watch:
    """The console errors and failed requests of a page, as they happen, until ``stop``."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self.console)
        page.on("requestfailed", self.failed)
        page.on("response", self.response)

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text}")

    def failed(self, request: Any) -> None:
        self.problems.append(f"{request.url}: {request.failure}")

    def response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"{response.url}: HTTP {response.status}")

    def stop(self) -> None:
        self.page.remove_listener("console", self.console)
        self.page.remove_listener("requestfailed", self.failed)
        self.page.remove_listener("response", self.response)


@pytest.fixture(params=sorted(SIZES))
def size(request: pytest.FixtureRequest) -> tuple[str, ViewportSize]:
    return request.param, SIZES[request.param]


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Any]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def signed_in(browser: Any, url: str, viewport: ViewportSize, key: str | None) -> Any:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    if key is not None:
        await page.goto(f"{url}/dashboard/sign-in")
        await page.fill("#key", key)
        await page.click("button[type=submit]")
        await page.wait_for_load_state()
    return page


async def test_every_page_passes_axe_with_no_console_error_or_failed_request(
    browser: Any,
    hookline: tuple[str, Api],
    receiver: Receiver,
    size: tuple[str, ViewportSize],
    tmp_path: Path,
) -> None:
    url, client = hookline
    staged = await tour.stage(client, receiver)
    keys = {"anyone": None, "merchant": client.merchant_key, "operator": OPERATOR_KEY}
    signed = {who: await signed_in(browser, url, size[1], key) for who, key in keys.items()}
    axe = AXE.read_text(encoding="utf-8")
    found: dict[str, list[Any]] = {}
    shots = DOCS / "pages" if os.environ.get("HOOKLINE_TEST_SCREENSHOTS") else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    for shown in tour.pages(staged):
        page = signed[shown.who]
        watch = Watch(page)
        answer = await page.goto(f"{url}/dashboard{shown.path}")
        await page.wait_for_load_state("networkidle")
        assert answer is not None and answer.status == 200, f"{shown.name}: HTTP {answer and answer.status}"
        await page.screenshot(path=str(shots / f"{shown.name}-{size[0]}.png"), full_page=True)
        # What is folded away is checked too (the snippets, the snapshot matrix, the tables behind charts).
        await page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
        await page.evaluate(axe)  # not a <script> tag: the dashboard's CSP forbids inline scripts
        problems = [*watch.problems, *await page.evaluate(RUN_AXE, WCAG_A_AA)]
        wide = await page.evaluate(WIDER)
        if wide:
            problems.append({"wider than the window": wide})
        if problems:
            found[shown.name] = problems
        watch.stop()
    assert not found, "\n".join(f"{name}: {problems}" for name, problems in found.items())
