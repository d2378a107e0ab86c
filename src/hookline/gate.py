"""Admission per target: which claimed deliveries start now, wait in a short line, or go back to the queue.

Each target has a learned concurrency limit (``flow.Flow``): a delivery starts when its target is under it,
waits in the target's line (started the moment one of its requests ends) while the line is short, and is
otherwise handed back to the queue (no attempt counted), due again soon, or when a ``Retry-After`` pause
ends. One slow or failing target therefore holds at most its own limit plus its line, never the worker.
Pure bookkeeping: no I/O and no clock of its own, so the decisions are tested directly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from hookline.flow import Flow
from hookline.models import Job

DEFER_S = 0.25  # how soon a delivery handed back for a busy target is due again, at first
MAX_DEFER_S = (
    5.0  # ... doubling while the target stays busy, so a stalled target is not re-claimed 4x a second
)
LINE_FACTOR = 4  # a target's line holds this many times its current limit


class Admission(Enum):
    START = "start"
    WAIT = "wait"
    BACK = "back"


@dataclass(slots=True)
class _Target:
    flow: Flow
    in_flight: int = 0
    line: deque[tuple[float, Job]] = field(default_factory=deque)
    defer_s: float = DEFER_S
    back_until: float = 0.0  # deliveries handed back until then are all due then


@dataclass(slots=True)
class Released:
    """What a finished request frees: deliveries to start now, and deliveries to hand back (id, due)."""

    start: list[Job] = field(default_factory=list)
    back: list[tuple[str, float]] = field(default_factory=list)


class Gate:
    def __init__(self, ceiling: int, *, max_wait_s: float = 30.0) -> None:
        self._ceiling = ceiling
        self._max_wait_s = max_wait_s  # a delivery waiting longer goes back (its lease is running out)
        self._targets: dict[str, _Target] = {}

    def limit(self, target_id: str) -> float:
        found = self._targets.get(target_id)
        return found.flow.limit if found else 0.0

    def admit(self, job: Job, now: float) -> tuple[Admission, float]:
        """START (counted in flight), WAIT (in the target's line) or BACK with the time it is due again."""
        target = self._targets.get(job.target_id)
        if target is None:
            target = self._targets[job.target_id] = _Target(Flow(ceiling=self._ceiling))
        if now < target.flow.paused_until:
            return Admission.BACK, target.flow.paused_until
        if target.flow.allows(target.in_flight, now):
            target.in_flight += 1
            return Admission.START, now
        if len(target.line) < max(1, int(target.flow.limit)) * LINE_FACTOR:
            target.line.append((now, job))
            return Admission.WAIT, now
        if now >= target.back_until:
            # Once per deferral period, not per delivery: a whole claimed batch goes back for one period.
            target.back_until = now + target.defer_s
            target.defer_s = min(target.defer_s * 2, MAX_DEFER_S)
        return Admission.BACK, target.back_until

    def done(
        self, job: Job, status: int | None, duration_s: float, retry_after_s: float | None, now: float
    ) -> Released:
        """A request of ``job`` ended: learn from it, and say what its target's line can do now."""
        target = self._targets[job.target_id]
        target.in_flight -= 1
        target.flow.answered(status, duration_s, now, retry_after_s)
        if status is not None and 200 <= status < 300 and duration_s <= target.flow.slow_s:
            target.defer_s = DEFER_S  # answering well again: its overflow may come back soon
        released = Released()
        while target.line and target.flow.allows(target.in_flight, now):
            queued_at, waiting = target.line.popleft()
            if now - queued_at > self._max_wait_s:
                released.back.append((waiting.delivery_id, now))
                continue
            target.in_flight += 1
            released.start.append(waiting)
        if target.line and target.in_flight == 0:
            # Paused (Retry-After) with nothing in flight: no request will end to start the line.
            due = max(target.flow.paused_until, now + DEFER_S)
            released.back.extend((waiting.delivery_id, due) for _, waiting in target.line)
            target.line.clear()
        return released

    def waiting(self) -> list[str]:
        """Every delivery waiting in a line (to hand back when stopping); the lines are emptied."""
        ids = [job.delivery_id for target in self._targets.values() for _, job in target.line]
        for target in self._targets.values():
            target.line.clear()
        return ids
