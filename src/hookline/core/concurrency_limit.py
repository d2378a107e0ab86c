"""Per-target flow control: how many requests a target may have in flight, learned from its answers.

AIMD with slow start, as TCP does it: until the target first shows overload, every acknowledged delivery
that came back in good time adds a slot (the limit doubles each round of requests); after that, each adds
``1 / limit`` (about one slot per round). A sign of overload (429, 503, a timeout, a refused connection)
halves the limit, and ends slow start there, at most once per cool-down, so one burst of failures does not
collapse it to the floor. A
``Retry-After`` on a 429 or 503 also pauses the target until then. A target that answers fast grows to the
ceiling; a struggling one is sent less, and the capacity it does not use goes to the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OVERLOAD_STATUSES = frozenset({429, 503})
RETRY_AFTER_CAP_S = 300.0


@dataclass(slots=True)
class Flow:
    """The flow state of one target. ``now`` is always passed in: the core has no clock."""

    ceiling: int
    floor: int = 1
    slow_s: float = 1.0  # an answer slower than this is not a reason to grow
    cool_down_s: float = 1.0
    limit: float = field(default=0.0)
    paused_until: float = 0.0
    last_cut: float = float("-inf")
    slow_start_until: float = float("inf")  # the limit up to which it grows by a whole slot per success

    def __post_init__(self) -> None:
        if self.limit <= 0:
            # Start modestly: a new target has to earn its concurrency.
            self.limit = float(min(self.ceiling, max(self.floor, 4)))

    def allows(self, in_flight: int, now: float) -> bool:
        """May one more request start now?"""
        return now >= self.paused_until and in_flight < int(self.limit)

    def answered(
        self, status: int | None, duration_s: float, now: float, retry_after_s: float | None
    ) -> None:
        """Learn from one finished attempt (``status`` None: no answer, e.g. a timeout or a reset)."""
        if status is not None and 200 <= status < 300:
            if duration_s <= self.slow_s:
                step = 1.0 if self.limit < self.slow_start_until else 1.0 / self.limit
                self.limit = min(float(self.ceiling), self.limit + step)
            return
        if status is None or status in OVERLOAD_STATUSES:
            self._cut(now)
            if status in OVERLOAD_STATUSES and retry_after_s:
                self.paused_until = max(self.paused_until, now + min(retry_after_s, RETRY_AFTER_CAP_S))
        # Other answers (a 404, a 400) say nothing about load: the limit stays.

    def _cut(self, now: float) -> None:
        if now - self.last_cut < self.cool_down_s:
            return
        self.last_cut = now
        self.limit = max(float(self.floor), self.limit / 2)
        self.slow_start_until = self.limit
