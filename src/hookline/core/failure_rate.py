"""Failure rates of routes over a sliding window, counted from the attempts a worker records.

A route is *failing* when at least ``rate`` of its attempts in the last ``window_s`` seconds failed, and
there were at least ``min_attempts`` of them (a quiet route's two failures in a row are no trend). Counts
are kept in buckets of ``BUCKET_S`` seconds, so memory is bounded by the routes and the window, whatever
the traffic. Pure: the caller passes the times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

BUCKET_S = 10.0


@dataclass(frozen=True, slots=True)
class Threshold:
    rate: float = 0.5
    min_attempts: int = 20
    window_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Rate:
    route_id: str
    failed: int
    total: int


class Windows:
    """Per route, attempts and failures in buckets; ``crossed`` names the routes over the threshold."""

    def __init__(self, threshold: Threshold) -> None:
        self.threshold = threshold
        self._buckets: dict[str, deque[list[float]]] = {}  # [bucket start, attempts, failures]
        self._seen: set[str] = set()  # routes with attempts since the last ``crossed``

    def add(self, route_id: str, failed: bool, at: float) -> None:
        start = at - at % BUCKET_S
        buckets = self._buckets.setdefault(route_id, deque())
        if buckets and buckets[-1][0] >= start:
            bucket = buckets[-1]
        else:
            bucket = [start, 0.0, 0.0]
            buckets.append(bucket)
        bucket[1] += 1
        bucket[2] += failed
        self._seen.add(route_id)

    def crossed(self, now: float) -> list[Rate]:
        """Routes with new attempts whose rate is over the threshold now; old buckets are dropped."""
        horizon = now - self.threshold.window_s
        for route_id in list(self._buckets):
            buckets = self._buckets[route_id]
            while buckets and buckets[0][0] + BUCKET_S <= horizon:
                buckets.popleft()
            if not buckets:
                del self._buckets[route_id]
        found = []
        for route_id in sorted(self._seen):
            buckets = self._buckets.get(route_id, deque())
            total = int(sum(b[1] for b in buckets))
            failed = int(sum(b[2] for b in buckets))
            if total >= max(1, self.threshold.min_attempts) and failed >= self.threshold.rate * total:
                found.append(Rate(route_id, failed, total))
        self._seen.clear()
        return found
