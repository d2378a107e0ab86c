"""Shaping work (the routes' transformations, ``transform``) bounded per request, per event and per
merchant, and run off the event loop.

Each transformation has its own work budget, but one event goes to many routes and one request carries many
events: one 2.9 MB event with a heavy expression on 50 routes held the event loop (and so ``/healthz``,
every other merchant's calls and, in ``serve``, every delivery) for 22 s. So:

- a request's shaping pays from one ``transform.Budget``: ``request_units`` in all and ``event_units`` per
  event, counting transformation steps and the values walked (each event's once, however many routes read
  it). A request that needs more is refused (413) and changes nothing; the budgets count work, not time,
  so the same request always gets the same answer;
- a merchant's shaping work is metered (``merchant_units_per_s``, with one request's worth in hand): past
  it, the merchant's next requests that shape are refused (429, ``Retry-After``) until the meter has
  caught up, so one merchant cannot take the process's time from the others;
- work with a transformation in it runs on a small pool of worker threads, so the event loop keeps
  answering while it runs (the thread gives way to the loop every few milliseconds).

Work without a transformation (field selection and serialising, in C) runs inline: it is cheap, and a
thread hop would slow the common case.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, TypeVar

from hookline.core import transform
from hookline.core.errors import TooLarge, TooManyRequests

T = TypeVar("T")

WORKERS: Final = 2
SWITCH_INTERVAL_S: Final = 0.001
MAX_METERS: Final = 10_000  # merchants metered at once; full meters are forgotten past it


@dataclass(frozen=True, slots=True)
class Limits:
    event_units: int = 250_000
    request_units: int = 1_000_000
    merchant_units_per_s: float = 300_000.0


@dataclass(slots=True)
class _Meter:
    """A token bucket of work units: one request's worth in hand, refilled at the merchant's rate."""

    units: float
    at: float


@dataclass
class Shaping:
    limits: Limits = field(default_factory=Limits)
    _meters: dict[str, _Meter] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    def budget(self) -> transform.Budget:
        return transform.Budget(self.limits.request_units, self.limits.event_units)

    async def run(
        self,
        merchant_id: str,
        work: Callable[[transform.Budget], T],
        *,
        transforms: bool,
        background: bool = False,
    ) -> T:
        """``work`` with a fresh budget. When it ``transforms`` (a route has a transformation) it runs on
        the pool and is metered to the merchant: TooManyRequests when the merchant's meter is spent (or,
        for ``background`` work such as a replay, a wait until it has caught up). TooLarge when it runs
        out of budget."""
        budget = self.budget()
        try:
            if not transforms:
                return work(budget)
            if background:
                while (wait := self._wait(merchant_id)) > 0:
                    await asyncio.sleep(wait)
            else:
                self._admit(merchant_id)
            if self._pool is None:
                # A thread that computes holds the interpreter until it is asked to let go, after the switch
                # interval (5 ms by default), and the loop asks again at every wake-up: a shorter interval
                # keeps each of the loop's turns short while shaping runs.
                sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="hookline-shaping")
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool, work, budget)
            finally:
                self._charge(merchant_id, budget.spent)
        except transform.OverBudget as exc:
            raise TooLarge(str(exc), fields={"events": "too much shaping work"}) from None

    def _meter(self, merchant_id: str) -> _Meter:
        now = time.monotonic()
        meter = self._meters.get(merchant_id)
        if meter is None:
            if len(self._meters) >= MAX_METERS:
                self._forget_full(now)
            meter = self._meters[merchant_id] = _Meter(self.limits.request_units, now)
        meter.units = min(
            self.limits.request_units, meter.units + (now - meter.at) * self.limits.merchant_units_per_s
        )
        meter.at = now
        return meter

    def _wait(self, merchant_id: str) -> float:
        """Seconds until the merchant's meter is above zero again (0: it is)."""
        meter = self._meter(merchant_id)
        return 0.0 if meter.units > 0 else (1 - meter.units) / self.limits.merchant_units_per_s

    def _admit(self, merchant_id: str) -> None:
        wait = math.ceil(self._wait(merchant_id))
        if wait > 0:
            raise TooManyRequests(
                "this merchant's routes have used their share of shaping work (transformations) for now; "
                f"retry in {wait} s",
                retry_after=wait,
            )

    def _charge(self, merchant_id: str, units: int) -> None:
        if units:
            self._meter(merchant_id).units -= units

    def _forget_full(self, now: float) -> None:
        rate, full = self.limits.merchant_units_per_s, self.limits.request_units
        for merchant_id, meter in list(self._meters.items()):
            if meter.units + (now - meter.at) * rate >= full:
                del self._meters[merchant_id]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
