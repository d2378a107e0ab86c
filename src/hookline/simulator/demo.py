"""``hookline serve --demo``: a receiver, a demo merchant's webhooks pointed at it, and the simulator.

Everything goes through the public API with the demo merchant's key, as a merchant's own set-up would: the
target (created once, its URL corrected if the receiver's port changed), two routes (created once, by
name), then the simulator's objects and events at a gentle rate. Set-up is idempotent, so a restart on the
same database reuses what the first start made.

The keys are what a newcomer needs and what scrolls away first, so they are also written to a file (mode
0600, shell syntax: ``. ./hookline-demo.env`` sets ``$MERCHANT_KEY`` and the rest) and printed again when
the demo stops; ``--quiet`` prints a summary every few seconds instead of a line per webhook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from hookline.simulator.api_client import ApiClient, ApiError, open_api_client
from hookline.simulator.demo_receiver import DEFAULT_PORT, PATH, DemoReceiver, Webhook
from hookline.simulator.driver import Driver, Options
from hookline.simulator.model import Simulation, seeded

logger = logging.getLogger(__name__)

MERCHANT_NAME: Final = "Demo Coffee Co."
RECEIVER_PORT: Final = DEFAULT_PORT
KEYS_FILE: Final = "hookline-demo.env"
SUMMARY_EVERY_S: Final = 5.0  # --quiet's summary line
RATE: Final = 5.0
# Short retries, so a newcomer sees a 503 retried within seconds rather than a minute.
DEMO_RETRY: Final = {"initial_interval_s": 5, "max_interval_s": 60, "max_attempts": 20}
ROUTES: Final = (
    {
        "name": "Orders (demo)",
        "event_types": ["order.*"],
        "snapshot": {"order": ["customer", "items", "products", "addresses", "payments"]},
        "retry": DEMO_RETRY,
    },
    {
        "name": "Subscriptions (demo)",
        "event_types": ["subscriber.*", "subscription.*"],
        "snapshot": {"subscription": ["customer", "products"]},
        "retry": DEMO_RETRY,
    },
)


@dataclass(frozen=True, slots=True)
class Launch:
    """What the command line chose for the demo."""

    receiver: socket.socket | None = None  # bound by the caller (a busy port is its error); None: any port
    quiet: bool = False  # a summary line every SUMMARY_EVERY_S instead of a line per webhook
    keys_file: Path | None = None  # where the keys are written; None: nowhere


@dataclass(frozen=True, slots=True)
class DemoSettings:
    base_url: str  # where this process's API answers
    merchant_id: str
    merchant_key: str
    operator_key: str | None  # None: shown at the first start only, and not written down since
    rate: float = RATE
    seed: int | None = None
    launch: Launch = field(default_factory=Launch)


@dataclass(slots=True)
class Tally:
    """What the receiver got, for ``--quiet``'s summary lines."""

    total: int = 0
    recent: Counter[str] = field(default_factory=Counter)

    def add(self, webhook: Webhook) -> None:
        self.total += 1
        self.recent["verified" if webhook.verified else "unverified"] += 1
        if webhook.status != 200:
            self.recent[str(webhook.status)] += 1

    def line(self, every_s: float, events: int) -> str:
        """The summary since the last line, then forgets it."""
        got = self.recent["verified"] + self.recent["unverified"]
        parts = [f"{self.recent['verified']} signature ✓"]
        if self.recent["unverified"]:
            parts.append(f"{self.recent['unverified']} not verified")
        if self.recent["503"]:
            parts.append(f"{self.recent['503']} answered 503, to be retried")
        self.recent.clear()
        return (
            f"demo: {got} webhooks in the last {every_s:g} s ({', '.join(parts)}); "
            f"{self.total} received and {events} events sent since start"
        )


def say(line: str) -> None:
    """Print one line; a terminal that cannot show ✓ gets the line without it, never an error."""
    try:
        print(line, flush=True)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "ascii"
        print(line.encode(encoding, errors="replace").decode(encoding), flush=True)


def webhook_line(webhook: Webhook) -> str:
    """One compact line per webhook the receiver got."""
    mark = {True: "signature ✓", False: "signature ✗ BAD", None: "signature ?"}[webhook.verified]
    snapshot = f"  snapshot: {', '.join(webhook.snapshot)}" if webhook.snapshot else ""
    return (
        f"demo receiver: {webhook.status} {webhook.event_type:<30} {webhook.delivery_id}  {mark}"
        f"  {webhook.size} B{snapshot}"
    )


async def _target(client: ApiClient, url: str) -> dict[str, Any]:
    """The demo target, pointed at ``url``: the one made at an earlier start, or a new one."""
    async for target in client.pages("/v1/targets"):
        if target["url"].startswith("http://127.0.0.1:") and target["url"].endswith(PATH):
            if target["url"] != url or not target["enabled"]:
                target = await client.patch(f"/v1/targets/{target['id']}", {"url": url, "enabled": True})
            return dict(target)
    return dict(await client.post("/v1/targets", {"url": url, "enabled": True}))


async def _routes(client: ApiClient, target_id: str) -> list[dict[str, Any]]:
    """The two demo routes on ``target_id``, created the first time (found by name afterwards)."""
    existing = {route["name"]: route async for route in client.pages("/v1/routes")}
    routes = []
    for spec in ROUTES:
        route = existing.get(str(spec["name"]))
        if route is None:
            route = await client.post("/v1/routes", {**spec, "target_id": target_id})
        elif route["target_id"] != target_id:
            route = await client.patch(f"/v1/routes/{route['id']}", {"target_id": target_id})
        routes.append(route)
    return routes


async def prepare(client: ApiClient, receiver: DemoReceiver) -> list[dict[str, Any]]:
    """Target and routes for the receiver, and the receiver told the signing key; the routes."""
    target = await _target(client, receiver.url)
    keys = await client.get(f"/v1/targets/{target['id']}/signing-key")
    receiver.set_signing_key(keys["signing_key"])
    return await _routes(client, target["id"])


def banner(settings: DemoSettings, receiver: DemoReceiver, routes: list[dict[str, Any]], seed: int) -> str:
    base = settings.base_url
    names = ", ".join(f"{r['name']} ({', '.join(r['event_types'])})" for r in routes)
    return "\n".join(
        [
            "",
            "hookline demo: running",
            f"  dashboard     {base}/dashboard   (sign in with the merchant key)",
            f"  API           {base}/v1   reference at {base}/docs",
            *_key_lines(settings),
            f"  routes        {names}",
            f"  receiver      {receiver.url}   (checks signatures; every 20th answer is a 503: retries)",
            f"  simulator     {settings.rate:g} events/s, seed {seed}",
            f"  try           curl -s '{base}/v1/deliveries?limit=5' -H 'Authorization: Bearer "
            f"{settings.merchant_key}'",
            "",
        ]
    )


def _key_lines(settings: DemoSettings) -> list[str]:
    lines = [
        f"  operator key  {settings.operator_key or '(shown at the first start only)'}",
        f"  merchant      {MERCHANT_NAME} ({settings.merchant_id})",
        f"  merchant key  {settings.merchant_key}",
    ]
    keys_file = settings.launch.keys_file
    if keys_file is not None:
        lines.append(
            f"  keys file     {keys_file.absolute()}   ({_sourcing(keys_file)} sets $MERCHANT_KEY, …)"
        )
    return lines


def _sourcing(path: Path) -> str:
    """The shell command that reads the keys file (a bare name would be looked up in $PATH)."""
    shown = str(path)
    return f". {shown}" if "/" in shown else f". ./{shown}"


def farewell(settings: DemoSettings) -> str:
    """What the demo prints when it stops: the keys again, as they scrolled away long ago."""
    return "\n".join(["", "hookline demo: stopped; the keys again:", *_key_lines(settings), ""])


def write_keys(settings: DemoSettings, receiver_url: str) -> None:
    """The keys in shell syntax, readable by this user only (they are as good as passwords)."""
    path = settings.launch.keys_file
    if path is None:
        return
    lines = [
        "# hookline serve --demo: the demo's keys (rewritten at each start; keep this file private)",
        f"API_URL={settings.base_url}",
        f"OPERATOR_KEY={settings.operator_key}"
        if settings.operator_key
        else "# OPERATOR_KEY: shown at the first start only",
        f"MERCHANT_ID={settings.merchant_id}",
        f"MERCHANT_KEY={settings.merchant_key}",
        f"RECEIVER_URL={receiver_url}",
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
        file.write("\n".join(lines) + "\n")


def written_operator_key(path: Path | None) -> str | None:
    """The operator key an earlier start wrote to the keys file, if any (its caller checks it still works)."""
    if path is None:
        return None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if name == "OPERATOR_KEY" and value.strip():
                return value.strip()
    return None


async def run_demo(
    settings: DemoSettings, out: Callable[[str], None] = say, ready: Callable[[], None] = lambda: None
) -> None:
    """Receiver, set-up, then the simulator until cancelled; ``ready`` is called once the keys are out."""
    launch = settings.launch
    tally = Tally()
    on_webhook = tally.add if launch.quiet else lambda webhook: out(webhook_line(webhook))
    receiver = DemoReceiver(on_webhook, sock=launch.receiver, port=0)
    await receiver.start()
    try:
        async with open_api_client(settings.base_url, settings.merchant_key) as client:
            await client.wait_ready()
            routes = await prepare(client, receiver)
            seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(10**6)
            write_keys(settings, receiver.url)
            out(banner(settings, receiver, routes, seed))
            ready()
            start = int(time.time())
            simulation = Simulation(seeded(seed, start), merchant=settings.merchant_id, start=start)
            options = Options(rate=settings.rate, merchant=settings.merchant_id)
            driver = Driver(client, simulation, options, notice=lambda text: out(f"demo: {text}"))
            async with _summaries(tally, driver, out) if launch.quiet else contextlib.nullcontext():
                await driver.run()
    finally:
        await receiver.stop()


@contextlib.asynccontextmanager
async def _summaries(tally: Tally, driver: Driver, out: Callable[[str], None]) -> AsyncIterator[None]:
    async def every_few_seconds() -> None:
        while True:
            await asyncio.sleep(SUMMARY_EVERY_S)
            out(tally.line(SUMMARY_EVERY_S, driver.progress.sent))

    task = asyncio.create_task(every_few_seconds())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _guarded(settings: DemoSettings, out: Callable[[str], None], ready: Callable[[], None]) -> None:
    """The demo must not take the server down with it: a failure is printed, and the server keeps going."""
    try:
        await run_demo(settings, out, ready)
    except ApiError as exc:
        out(f"demo: stopped: {exc}")
    except Exception:
        logger.exception("the demo stopped")
        out("demo: stopped after an unexpected error (see the log); the server keeps running")


@contextlib.asynccontextmanager
async def running(settings: DemoSettings, out: Callable[[str], None] = say) -> AsyncIterator[None]:
    """The demo in the background for the duration of the block (the app's lifespan); the keys again at
    its end, if they were shown."""
    shown = asyncio.Event()
    task = asyncio.create_task(_guarded(settings, out, shown.set), name="hookline-demo")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if shown.is_set():
            out(farewell(settings))
