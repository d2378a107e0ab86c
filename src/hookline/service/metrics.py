"""Route metrics for merchants: 30-day counters, time series, latency percentiles; queue depth for operators.

Latency percentiles are computed here, in Python, from a bounded sample (the newest ``SAMPLE_LIMIT`` rows
of the window) on both engines: one code path, the same numbers on SQLite and PostgreSQL, and a cost that
does not grow with the route's history. ``percentile`` interpolates linearly between the closest ranks,
as PostgreSQL's ``percentile_cont`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hookline.core.errors import Invalid, Unavailable
from hookline.service import routes
from hookline.service.context import Context
from hookline.storage import metrics as store

WINDOW_DAYS = 30
WINDOW_S = WINDOW_DAYS * 86_400
SAMPLE_LIMIT = 10_000
MAX_BUCKETS = 2_000
# Bucket width, and how far back a series reaches when ``since`` is not given.
SERIES: dict[str, tuple[int, int]] = {
    "15m": (900, 6 * 3600),
    "1h": (3600, 24 * 3600),
    "1d": (86_400, WINDOW_S),
}
PERCENTILES = (50, 95, 99)
QUEUE_DEPTH_TTL_S = 5.0


async def counts(ctx: Context, merchant_id: str, route_id: str) -> dict[str, int]:
    """``failed``, ``successful``, ``successful_retries``, ``pending``, ``held`` of one route's deliveries
    created in the last 30 days. A route of another merchant (or a deleted one) is NotFound."""
    await routes.get(ctx, merchant_id, route_id)
    return await store.counts(ctx.db, merchant_id, ctx.clock() - WINDOW_S, route_id)


async def summary(ctx: Context, merchant_id: str) -> dict[str, Any]:
    """The same counters over all of a merchant's routes, in total and per route (routes with deliveries)."""
    by_route = await store.counts_by_route(ctx.db, merchant_id, ctx.clock() - WINDOW_S)
    total = dict.fromkeys(store.COUNTERS, 0)
    for row in by_route.values():
        for name, n in row.items():
            total[name] += n
    return {"total": total, "routes": by_route}


@dataclass(frozen=True, slots=True)
class Window:
    """A series request: bucket ``width_s``; deliveries created in [since, until)."""

    bucket: str
    width_s: int
    since: float
    until: float

    @property
    def first(self) -> int:
        return math.floor(self.since / self.width_s)

    @property
    def last(self) -> int:
        # The bucket holding the last instant before ``until``.
        return math.ceil(self.until / self.width_s) - 1


def window(ctx: Context, bucket: str, since: float | None, until: float | None) -> Window:
    """Check a series request. Without ``since``: the buckets of the default span, ending with the current."""
    if bucket not in SERIES:
        raise Invalid(
            f"series must be one of {', '.join(SERIES)}", fields={"series": "one of " + ", ".join(SERIES)}
        )
    width, span = SERIES[bucket]
    end = ctx.clock() if until is None else until
    if since is None:
        since = _span_start(end, width, span)
    if since >= end:
        raise Invalid("since must be before until", fields={"since": "not before until"})
    found = Window(bucket, width, since, end)
    if found.last - found.first + 1 > MAX_BUCKETS:
        raise Invalid(
            f"that window holds more than {MAX_BUCKETS} buckets of {bucket}; use a wider bucket",
            fields={"since": "window too long for the bucket"},
        )
    return found


def _span_start(end: float, width: int, span: int) -> float:
    """Where ``span`` seconds of whole buckets of ``width`` start when the last one holds ``end``."""
    return (math.floor(end / width) + 1) * width - span


def recent(ctx: Context, width_s: int, span_s: int) -> Window:
    """The last ``span_s`` seconds in buckets of ``width_s``, ending with the current bucket (the dashboard's
    chart ranges: 24 hours by the hour, 7 days by 6 hours, 30 days by the day)."""
    end = ctx.clock()
    return Window(f"{width_s}s", width_s, _span_start(end, width_s, span_s), end)


async def series(ctx: Context, merchant_id: str, route_id: str, w: Window) -> list[dict[str, Any]]:
    """Every bucket of the window, oldest first, with zeros where nothing was created.

    A delivery counts in the bucket of its creation, under its status now. ``start`` is epoch seconds.
    """
    await routes.get(ctx, merchant_id, route_id)
    found = await store.series(ctx.db, merchant_id, route_id, w.width_s, w.since, w.until)
    empty = dict.fromkeys(store.BUCKET_COUNTERS, 0)
    return [{"start": i * w.width_s, **found.get(i, empty)} for i in range(w.first, w.last + 1)]


async def latency(ctx: Context, merchant_id: str, route_id: str, w: Window) -> dict[str, dict[str, Any]]:
    """Percentiles of ingest → success (``delivery_ms``) and of attempt durations (``attempt_ms``)."""
    await routes.get(ctx, merchant_id, route_id)
    args = (ctx.db, merchant_id, route_id, w.since, w.until, SAMPLE_LIMIT)
    delivered = await store.delivery_latencies(*args)
    attempted = await store.attempt_durations(*args)
    return {"delivery_ms": summarize(delivered), "attempt_ms": summarize(attempted)}


def summarize(values: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(values)
    found: dict[str, Any] = {f"p{p}": percentile(ordered, p) for p in PERCENTILES}
    found["samples"] = len(ordered)
    return found


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The ``p``th percentile of sorted values, interpolated linearly (``percentile_cont``); or None."""
    if not ordered:
        return None
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 3)


class QueueDepth:
    """Pending and held deliveries, read at most every ``ttl_s`` however often it is scraped.

    One per application; concurrent scrapes share one query. When the database is unavailable the last
    known figures are kept (``None`` before the first read).
    """

    def __init__(self, ttl_s: float = QUEUE_DEPTH_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._lock = asyncio.Lock()
        self._value: dict[str, int] | None = None
        self._read_at = -math.inf

    async def read(self, ctx: Context) -> dict[str, int] | None:
        async with self._lock:
            if time.monotonic() - self._read_at >= self._ttl_s:
                with contextlib.suppress(Unavailable):
                    self._value = await store.queue_depth(ctx.db)
                    self._read_at = time.monotonic()
            return self._value
