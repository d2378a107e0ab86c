"""``hookline listen``'s server side: each listener's stream of deliveries, and the reports it sends back.

A listener opens a server-sent events stream on ``GET /v1/routes/{id}/listen`` (the route's target is a
``listen://`` one). While it is open, this process claims the route's due deliveries from the database one
at a time (the workers leave a route with a live listener alone: ``storage.listeners``), sends each as a
``delivery`` event carrying the exact request an HTTP target would get (signed as the worker signs), and
waits for the listener's report (``POST /v1/routes/{id}/listen/{delivery id}``): what the local URL
answered. The attempt is then recorded as the worker records one, retries and auto-halt included; no report
within the route's timeout plus ``REPORT_GRACE_S`` is a ``listener`` failure, retried.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import orjson

from hookline import telemetry
from hookline.core import autohalt_policy, ids, signing
from hookline.core.errors import Conflict, NotFound
from hookline.core.models import Job, Outcome
from hookline.sender import listener, verdict, vocabulary
from hookline.service.context import Context
from hookline.storage import events as stored_events
from hookline.storage import listeners, queue, records

T = TypeVar("T")
POLL_S = 0.5  # how often an idle stream looks for due deliveries
REPORT_GRACE_S = 10.0  # beyond the route's timeout, for the report to come back
NOT_A_LISTENER = (
    "route {route} sends to {url}, not to a listener target (listen://<name>); see docs/listen.md"
)


@dataclass(frozen=True, slots=True)
class ListenSettings:
    lease_s: float = 60.0
    stream_s: float = 900.0  # a stream's life: then it ends, between deliveries, and the listener comes back
    auto_halt: autohalt_policy.Policy = field(default_factory=autohalt_policy.Policy)


@dataclass(frozen=True, slots=True)
class _Waiter:
    merchant_id: str
    route_id: str
    report: asyncio.Future[listener.Report]


class Hub:
    """The listeners connected to this process and the reports their deliveries wait for."""

    def __init__(
        self, settings: ListenSettings | None = None, *, rand: Callable[[], float] = random.random
    ) -> None:
        self._settings = settings or ListenSettings()
        self._rand = rand
        self._waiting: dict[str, _Waiter] = {}  # by delivery id

    @property
    def lease_s(self) -> float:
        return self._settings.lease_s

    @property
    def stream_s(self) -> float:
        return self._settings.stream_s

    async def open(self, ctx: Context, merchant_id: str, route_id: str) -> Session:
        """A stream of the merchant's route (NotFound for another merchant's); Conflict when the route's
        target is not a listener. Nothing is claimed until the stream is read."""
        route = await records.get(ctx.db, records.ROUTES, merchant_id, route_id)
        target = await records.get(ctx.db, records.TARGETS, merchant_id, route.target_id)
        if not listener.is_listener(target.url):
            raise Conflict(NOT_A_LISTENER.format(route=route_id, url=target.url))
        return Session(self, ctx, merchant_id, route_id)

    def report(self, merchant_id: str, route_id: str, delivery_id: str, report: listener.Report) -> None:
        """Hand a listener's report to the stream waiting for it; NotFound when none here waits for it."""
        waiter = self._waiting.get(delivery_id)
        if waiter is None or (waiter.merchant_id, waiter.route_id) != (merchant_id, route_id):
            raise NotFound(f"no listener of route {route_id} waits for a report of delivery {delivery_id}")
        if not waiter.report.done():
            waiter.report.set_result(report)

    def expect(self, session: Session, delivery_id: str) -> asyncio.Future[listener.Report]:
        """The report of ``delivery_id`` that ``session`` waits for (until ``forget``)."""
        report: asyncio.Future[listener.Report] = asyncio.get_running_loop().create_future()
        self._waiting[delivery_id] = _Waiter(session.merchant_id, session.route_id, report)
        return report

    def forget(self, delivery_id: str) -> None:
        self._waiting.pop(delivery_id, None)

    async def record(self, ctx: Context, job: Job, outcome: Outcome) -> None:
        result = verdict.decide(job, outcome, ctx.clock(), self._rand())
        halted = await queue.record(ctx.db, [result], policy=self._settings.auto_halt, now=ctx.clock())
        telemetry.observe([result])
        if halted or queue.releases([result]):
            ctx.wakeup.ring()  # notices of a halt, or the next delivery of a key, are due now


class Session:
    """One listener's stream; ``events`` yields it as server-sent events until the listener goes away."""

    def __init__(self, hub: Hub, ctx: Context, merchant_id: str, route_id: str) -> None:
        self._hub = hub
        self._ctx = ctx
        self.merchant_id = merchant_id
        self.route_id = route_id
        self.id = ids.new("lsn")

    async def _step(self, work: Awaitable[T]) -> T:
        """``work`` with a database deadline of its own: a stream lasts longer than any one request's."""
        with self._ctx.db.deadline():
            return await work

    async def events(self) -> AsyncIterator[bytes]:
        db, lease_s = self._ctx.db, self._hub.lease_s
        woken = await self._step(listeners.connect(db, self.id, self.route_id, self._ctx.clock()))
        try:
            yield _event("ready", {"route_id": self.route_id, "session": self.id, "waiting": woken})
            beat = opened = time.monotonic()
            while time.monotonic() - opened < self._hub.stream_s:
                if time.monotonic() - beat >= listeners.BEAT_S:
                    await self._step(listeners.beat(db, self.id, self._ctx.clock()))
                    beat = time.monotonic()
                    yield b": still here\n\n"  # a comment: keeps proxies from closing an idle stream
                jobs = await self._step(queue.claim(db, self._ctx.clock(), 1, lease_s, route=self.route_id))
                if not jobs:
                    await asyncio.sleep(POLL_S)
                    continue
                job = jobs[0]
                started = self._ctx.clock()
                sent = vocabulary.request_headers(signing.attempt_headers(job, int(started)))
                report = self._hub.expect(self, job.delivery_id)
                wait_s = job.timeout_s + REPORT_GRACE_S
                outcome: Outcome | None = None
                try:
                    delivery = await self._step(_delivery(self._ctx, self.merchant_id, job, sent))
                    yield _event("delivery", delivery, job.delivery_id)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait_s):
                            outcome = listener.reported(started, sent, await report)
                finally:
                    self._hub.forget(job.delivery_id)
                    # Recorded even when the listener went away meanwhile (then as a ``listener`` failure).
                    with anyio.CancelScope(shield=True):
                        await self._step(
                            self._hub.record(self._ctx, job, outcome or listener.gone(started, sent, wait_s))
                        )
        finally:
            with anyio.CancelScope(shield=True):
                await self._step(listeners.disconnect(db, self.id))


async def _delivery(ctx: Context, merchant_id: str, job: Job, headers: dict[str, str]) -> dict[str, object]:
    event = await stored_events.get(ctx.db, merchant_id, job.event_id)
    return {
        "delivery_id": job.delivery_id,
        "event_id": job.event_id,
        "event_type": event.event.type,
        "attempt": job.attempts + 1,
        "timeout_s": job.timeout_s,
        "headers": headers,
        "body": base64.b64encode(job.payload).decode(),
    }


def _event(name: str, data: dict[str, object], event_id: str | None = None) -> bytes:
    head = f"event: {name}\n" + (f"id: {event_id}\n" if event_id else "")
    return head.encode() + b"data: " + orjson.dumps(data) + b"\n\n"
