"""``hookline serve --demo``: a receiver, a demo merchant's webhooks pointed at it, and the simulator.

Everything goes through the public API with the demo merchant's key, as a merchant's own set-up would: the
target (created once, its URL corrected if the receiver's port changed), two routes (created once, by
name), then the simulator's objects and events at a gentle rate. Set-up is idempotent, so a restart on the
same database reuses what the first start made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

from hookline.sender.api_client import ApiClient, ApiError, open_api_client
from hookline.sender.demo_receiver import DEFAULT_PORT, PATH, DemoReceiver, Webhook
from hookline.simulator.driver import Driver, Options
from hookline.simulator.model import Simulation, seeded

logger = logging.getLogger(__name__)

MERCHANT_NAME: Final = "Demo Coffee Co."
RECEIVER_PORT: Final = DEFAULT_PORT  # or a free port when it is taken
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
class DemoSettings:
    base_url: str  # where this process's API answers
    merchant_id: str
    merchant_key: str
    operator_key: str  # or a sentence saying why it is not shown
    rate: float = RATE
    receiver_port: int = RECEIVER_PORT
    seed: int | None = None


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
            f"  operator key  {settings.operator_key}",
            f"  merchant      {MERCHANT_NAME} ({settings.merchant_id})",
            f"  merchant key  {settings.merchant_key}",
            f"  routes        {names}",
            f"  receiver      {receiver.url}   (checks signatures; every 20th answer is a 503: retries)",
            f"  simulator     {settings.rate:g} events/s, seed {seed}",
            f"  try           curl -s '{base}/v1/deliveries?limit=5' -H 'Authorization: Bearer "
            f"{settings.merchant_key}'",
            "",
        ]
    )


async def run_demo(settings: DemoSettings, out: Callable[[str], None] = say) -> None:
    """Receiver, set-up, then the simulator until cancelled."""
    receiver = DemoReceiver(lambda webhook: out(webhook_line(webhook)), port=settings.receiver_port)
    await receiver.start()
    try:
        async with open_api_client(settings.base_url, settings.merchant_key) as client:
            await client.wait_ready()
            routes = await prepare(client, receiver)
            seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(10**6)
            out(banner(settings, receiver, routes, seed))
            start = int(time.time())
            simulation = Simulation(seeded(seed, start), merchant=settings.merchant_id, start=start)
            options = Options(rate=settings.rate, merchant=settings.merchant_id)
            await Driver(client, simulation, options, notice=lambda text: out(f"demo: {text}")).run()
    finally:
        await receiver.stop()


async def _guarded(settings: DemoSettings, out: Callable[[str], None]) -> None:
    """The demo must not take the server down with it: a failure is printed, and the server keeps going."""
    try:
        await run_demo(settings, out)
    except ApiError as exc:
        out(f"demo: stopped: {exc}")
    except Exception:
        logger.exception("the demo stopped")
        out("demo: stopped after an unexpected error (see the log); the server keeps running")


@contextlib.asynccontextmanager
async def running(settings: DemoSettings, out: Callable[[str], None] = say) -> AsyncIterator[None]:
    """The demo in the background for the duration of the block (the app's lifespan)."""
    task = asyncio.create_task(_guarded(settings, out), name="hookline-demo")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
