"""Traffic for the database-fault tests: clients posting events through a fault, as a platform would.

Each poster posts batches of new events; a batch answered 503 (or 507) is posted again with the same ids
after its ``Retry-After``, as a client that wants its events delivered does, until it is accepted. Every
request is timed, so a test can tell how long the slowest answer took.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from crash.helpers import Api, event

REFUSALS = (503, 507)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    sent: float  # time.monotonic() when the request left
    took: float  # seconds until its answer


@dataclass
class Traffic:
    """What the posters sent and were answered."""

    answers: list[Answer] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # delivery ids of every accepted event
    problems: list[str] = field(default_factory=list)  # answers that were neither 202 nor a proper refusal

    @property
    def refused(self) -> int:
        return sum(a.status in REFUSALS for a in self.answers)

    @property
    def slowest(self) -> float:
        return max((a.took for a in self.answers), default=0.0)


class Posters:
    """``count`` clients posting batches of ``batch`` events, ``pause`` seconds apart, until ``stop``."""

    def __init__(self, client: Api, count: int = 3, batch: int = 10, pause: float = 0.05) -> None:
        self.client = client
        self.traffic = Traffic()
        self._count = count
        self._batch = batch
        self._pause = pause
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._post_forever(n)) for n in range(self._count)]

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop posting new batches; wait until every batch already begun is accepted."""
        self._stopping.set()
        done, pending = await asyncio.wait(self._tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        assert not pending, f"refused batches still not accepted {timeout}s after the traffic stopped"
        for task in done:
            task.result()

    async def _post_forever(self, poster: int) -> None:
        sequence = 0
        while not self._stopping.is_set():
            sequence += 1
            ids = [f"p{poster}-{sequence}-{i}" for i in range(self._batch)]
            await self._post_until_accepted([event(i) for i in ids])
            await asyncio.sleep(self._pause)

    async def _post_until_accepted(self, batch: list[dict[str, Any]]) -> None:
        while True:
            sent = time.monotonic()
            try:
                response = await self.client.post_events(batch)
            except httpx.TransportError as exc:  # the client gave up waiting: a problem in itself
                self.traffic.problems.append(f"no answer: {exc!r}")
                self.traffic.answers.append(Answer(0, sent, time.monotonic() - sent))
                continue
            self.traffic.answers.append(Answer(response.status_code, sent, time.monotonic() - sent))
            if response.status_code == 202:
                self.traffic.accepted += [d for answer in response.json() for d in answer["deliveries"]]
                return
            if not _proper_refusal(response):
                self.traffic.problems.append(f"{response.status_code} {response.headers} {response.text}")
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 1.0) / 4)


def _proper_refusal(response: httpx.Response) -> bool:
    return (
        response.status_code in REFUSALS
        and response.headers.get("content-type", "").startswith("application/problem+json")
        and response.headers.get("retry-after", "").isdigit()
    )


@contextlib.asynccontextmanager
async def posting(client: Api, **options: Any) -> AsyncIterator[Posters]:
    """Posters running for the block; stopped (and every begun batch accepted) when it ends."""
    posters = Posters(client, **options)
    posters.start()
    try:
        yield posters
    finally:
        await posters.stop()
