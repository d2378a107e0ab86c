"""Admission per target: which claimed deliveries start now, wait in a short line, or go back to the queue.

Each target has a learned concurrency limit (``concurrency_limit.Flow``): a delivery starts when its
target is under it, waits in the target's line (started the moment one of its requests ends) while the
line is short, and is otherwise handed back to the queue (no attempt counted), due again soon, or when a
``Retry-After`` pause ends. One slow or failing target therefore holds at most its own limit plus its
line, never the worker; and a target that would take nothing more is ``saturated``, so that claims leave
its deliveries in the queue. A delivery in a line starts only while its lease still covers its timeout,
else it goes back. Pure bookkeeping: no I/O and no clock of its own, so the decisions are tested directly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from hookline.core.concurrency_limit import Flow
from hookline.core.models import Job

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
    line: deque[Job] = field(default_factory=deque)
    defer_s: float = DEFER_S
    back_until: float = 0.0  # deliveries handed back until then are all due then

    @property
    def line_capacity(self) -> int:
        return max(1, int(self.flow.limit)) * LINE_FACTOR


@dataclass(slots=True)
class Released:
    """What a finished request frees: deliveries to start now, and deliveries to hand back (job, due)."""

    start: list[Job] = field(default_factory=list)
    back: list[tuple[Job, float]] = field(default_factory=list)


class Gate:
    def __init__(self, ceiling: int) -> None:
        self._ceiling = ceiling
        self._targets: dict[str, _Target] = {}

    def limit(self, target_id: str) -> float:
        found = self._targets.get(target_id)
        return found.flow.limit if found else 0.0

    def saturated(self, now: float) -> list[str]:
        """Targets that would take nothing more now (paused, or at their limit with a full line).

        Claims leave their deliveries in the queue: claiming them only to hand them back would cost two
        writes each and push healthy targets' deliveries out of the claimed batch.
        """
        return [
            target_id
            for target_id, target in self._targets.items()
            if now < target.flow.paused_until
            or (not target.flow.allows(target.in_flight, now) and len(target.line) >= target.line_capacity)
        ]

    def has_room(self, target_id: str, now: float) -> bool:
        """Would a claim for this target be worth it: not paused, and its line at most half full."""
        target = self._targets.get(target_id)
        if target is None:
            return True
        if now < target.flow.paused_until:
            return False
        return target.flow.allows(target.in_flight, now) or len(target.line) * 2 <= target.line_capacity

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
        if len(target.line) < target.line_capacity:
            target.line.append(job)
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
            waiting = target.line.popleft()
            if now + waiting.timeout_s > waiting.leased_until:
                # Its lease would run out before the attempt could: another worker might send it meanwhile.
                released.back.append((waiting, now))
                continue
            target.in_flight += 1
            released.start.append(waiting)
        if target.line and target.in_flight == 0:
            # Paused (Retry-After) with nothing in flight: no request will end to start the line.
            due = max(target.flow.paused_until, now + DEFER_S)
            released.back.extend((waiting, due) for waiting in target.line)
            target.line.clear()
        return released

    def waiting(self) -> list[Job]:
        """Every delivery waiting in a line (to hand back when stopping); the lines are emptied."""
        jobs = [job for target in self._targets.values() for job in target.line]
        for target in self._targets.values():
            target.line.clear()
        return jobs
