"""Sends the model's steps to a hookline server through its public API, at a steady rate.

For each step the objects go first (``POST /v1/objects``), then the events (``POST /v1/events``, one at a
time or in batches), so that hookline knows every object an event mentions when it builds the snapshot.
Events wait in a batch; a step that changes an object a waiting event mentions sends the batch first, so
each event's snapshot shows the objects as they were when it fired.

The rate is a token bucket over events (objects are not counted); the run ends after ``events`` events or
``duration_s`` seconds, or never (the demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hookline.simulator.api_client import ApiClient, ApiError, open_api_client
from hookline.simulator.model import SimEvent, Simulation, Step, Upsert, seeded

#: Answers to ``POST /v1/events`` after which sending more is pointless: a wrong key, URL or merchant.
FATAL = {0, 401, 403, 404}
#: Answers to ``POST /v1/objects`` meaning this server has no objects API (yet): carry on without objects.
NO_OBJECTS_API = {404, 405}
OBJECTS_PER_CALL = 250  # the API takes up to 500


def _fatal(exc: ApiError, *, first: bool) -> bool:
    """Whether to stop: a wrong key, URL or merchant, or a first request refused (a wrong set-up, such
    as the operator key without ``--merchant``). A later refusal (a replay's 409) is counted; the run goes on.
    """
    return exc.status in FATAL or (first and 400 <= exc.status < 500 and exc.status != 409)


@dataclass(frozen=True, slots=True)
class Options:
    rate: float = 10.0  # events per second
    events: int | None = None  # stop after this many events
    duration_s: float | None = None  # or after this many seconds
    batch: int = 1  # events per POST /v1/events
    merchant: str | None = None  # ?merchant= (needed with the operator key)


@dataclass(slots=True)
class Progress:
    started: float = field(default_factory=time.monotonic)
    sent: int = 0  # events accepted (202)
    errors: int = 0  # events refused
    objects: int = 0  # objects upserted
    object_errors: int = 0
    deliveries: int = 0  # deliveries the accepted events made
    objects_api: bool = True  # False once the server said it has no objects API
    last_error: str = ""

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.sent / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        objects = f"{self.objects} objects" if self.objects_api else "no objects API"
        return (
            f"{self.elapsed_s:6.1f}s  {self.sent} events sent ({self.rate:.1f}/s), {self.errors} errors, "
            f"{objects}, {self.deliveries} deliveries"
        )


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``take`` waits for its tokens."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._tokens = self.burst
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def wait_s(self, count: float) -> float:
        """How long until ``count`` tokens are there (0: now)."""
        self._refill()
        return max(0.0, (min(count, self.burst) - self._tokens) / self.rate)

    async def take(self, count: float) -> None:
        while (pause := self.wait_s(count)) > 0:
            await asyncio.sleep(pause)
        self._tokens -= min(count, self.burst)


class Driver:
    """Runs one ``Simulation`` against one server until the options' bound (or cancellation)."""

    def __init__(
        self,
        client: ApiClient,
        simulation: Simulation,
        options: Options,
        notice: Callable[[str], None] = lambda _: None,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.simulation = simulation
        self.options = options
        self.progress = progress or Progress()
        self._notice = notice
        self._bucket = TokenBucket(options.rate, options.batch)
        self._params = {"merchant": options.merchant} if options.merchant else None
        self._pending: list[SimEvent] = []
        self._pending_refs: set[tuple[str, str]] = set()
        self._queued = 0

    def _done(self) -> bool:
        if self.options.events is not None and self._queued >= self.options.events:
            return True
        return self.options.duration_s is not None and self.progress.elapsed_s >= self.options.duration_s

    async def run(self) -> Progress:
        """Send until done; the figures. ``ApiError`` when the server refuses the key, URL or merchant."""
        self.progress.started = time.monotonic()
        for step in self.simulation.steps():
            if self._done():
                break
            await self._send_step(step)
        await self._flush()
        return self.progress

    async def _send_step(self, step: Step) -> None:
        refs = {(o.kind, o.public_id) for o in step.objects}
        if refs & self._pending_refs:
            await self._flush()
        await self._upsert(step.objects)
        self._pending_refs |= refs
        for event in step.events:
            if self._done():
                return
            self._pending.append(event)
            self._queued += 1
            if len(self._pending) >= self.options.batch:
                await self._flush()

    async def _upsert(self, objects: Iterable[Upsert]) -> None:
        bodies = [o.body() for o in objects]
        for start in range(0, len(bodies), OBJECTS_PER_CALL):
            if not self.progress.objects_api:
                return
            await self._upsert_chunk(bodies[start : start + OBJECTS_PER_CALL])

    async def _upsert_chunk(self, bodies: list[dict[str, Any]]) -> None:
        try:
            await self.client.post("/v1/objects", {"objects": bodies}, self._params)
        except ApiError as exc:
            if exc.status in NO_OBJECTS_API:
                self.progress.objects_api = False
                self._notice(f"the server has no objects API ({exc}); events go without platform objects")
                return
            if _fatal(exc, first=self.progress.objects == 0):
                raise
            self.progress.object_errors += len(bodies)
            self.progress.last_error = str(exc)
            return
        self.progress.objects += len(bodies)

    async def _flush(self) -> None:
        events, self._pending, self._pending_refs = self._pending, [], set()
        if not events:
            return
        await self._bucket.take(len(events))
        single = self.options.batch == 1 and len(events) == 1
        body: Any = events[0].body() if single else {"events": [e.body() for e in events]}
        try:
            answer = await self.client.post("/v1/events", body, self._params)
        except ApiError as exc:
            if _fatal(exc, first=self.progress.sent == 0):
                raise
            self.progress.errors += len(events)
            self.progress.last_error = str(exc)
            return
        answers = [answer] if single else answer
        self.progress.sent += len(events)
        self.progress.deliveries += sum(len(a.get("deliveries") or []) for a in answers)


async def _tick(driver: Driver, every_s: float, on_tick: Callable[[Progress], None]) -> None:
    while True:
        await asyncio.sleep(every_s)
        on_tick(driver.progress)


async def run_driver(
    driver: Driver, on_tick: Callable[[Progress], None] | None = None, every_s: float = 1.0
) -> Progress:
    """``driver.run()``, calling ``on_tick`` with the figures every ``every_s`` seconds meanwhile."""
    ticker = asyncio.create_task(_tick(driver, every_s, on_tick)) if on_tick else None
    try:
        return await driver.run()
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker


async def simulate(
    base_url: str,
    key: str,
    options: Options,
    *,
    seed: int,
    start: int,
    on_tick: Callable[[Progress], None] | None = None,
    notice: Callable[[str], None] = lambda _: None,
    progress: Progress | None = None,
) -> Progress:
    """A whole run: a fresh ``Simulation`` from ``seed`` starting at ``start``, sent to ``base_url``.

    ``progress``, when given, is filled in as the run goes (so an interrupted run can still report).
    """
    simulation = Simulation(seeded(seed, start), merchant=options.merchant or "merchant", start=start)
    async with open_api_client(base_url, key) as client:
        return await run_driver(Driver(client, simulation, options, notice, progress), on_tick)
