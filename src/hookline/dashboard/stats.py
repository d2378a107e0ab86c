"""A route's metrics, as the pages show them: the list's 24 h sparkline, the details' counters and charts.

The numbers come from the metrics service (``service/metrics.py``); this module only shapes them for
``charts`` and for the data tables printed beside each chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from hookline.dashboard import charts
from hookline.service import metrics
from hookline.service.context import Context

# Outcomes of the per-hour chart, bottom to top. A delivery that succeeded after a failure counts in
# ``retried`` instead of ``success``, so the bars add up to the deliveries created in each hour.
OUTCOMES = {
    "success": "Succeeded first time",
    "retried": "Succeeded after retries",
    "failed": "Failed",
    "pending": "Pending",
    "held": "Held",
}
COUNTERS = {
    "failed": "Failed deliveries",
    "successful": "Successful deliveries",
    "successful_retries": "Successful retries",
    "pending": "Pending deliveries",
    "held": "Held deliveries",
}
LATENCIES = {"delivery_ms": "Event to delivered", "attempt_ms": "One attempt"}
# The counters that a Deliveries page filter matches exactly, by the status it filters on.
COUNTER_STATUS = {"failed": "failed", "successful": "success", "pending": "pending", "held": "held"}


@dataclass(frozen=True, slots=True)
class Range:
    """A span the details' charts can show: its buckets' width, and words for it."""

    short: str  # the selector's text
    span_s: int
    width_s: int
    words: str  # "last 7 days"
    per: str  # "per 6 hours"
    when: Callable[[float], str]  # a bucket's name on the axis and in the table


RANGES = {
    "24h": Range("24 h", 86_400, 3600, "last 24 hours", "per hour", charts.hour),
    "7d": Range("7 d", 7 * 86_400, 6 * 3600, "last 7 days", "per 6 hours", charts.day_hour),
    "30d": Range("30 d", 30 * 86_400, 86_400, "last 30 days", "per day", charts.day),
}
DEFAULT_RANGE = "24h"


@dataclass(frozen=True, slots=True)
class Spark:
    svg: Markup
    text: str


async def spark(ctx: Context, merchant_id: str, route_id: str) -> Spark:
    """Success rate per hour over the last 24 h (finished deliveries only; empty hours are gaps)."""
    buckets = await metrics.series(ctx, merchant_id, route_id, metrics.window(ctx, "1h", None, None))
    rates: list[float | None] = []
    succeeded = finished = 0
    for b in buckets:
        done = b["success"] + b["failed"]
        succeeded, finished = succeeded + b["success"], finished + done
        rates.append(b["success"] / done if done else None)
    if not finished:
        text = "no finished deliveries"
    else:
        text = f"{100 * succeeded / finished:.0f}% of {finished} succeeded"
    label = f"Success rate per hour, last 24 hours: {text}"
    return Spark(charts.sparkline(rates, label=label), text)


def per_hour(buckets: list[dict[str, Any]]) -> dict[str, list[int]]:
    return {
        "success": [b["success"] - b["retried"] for b in buckets],
        "retried": [b["retried"] for b in buckets],
        "failed": [b["failed"] for b in buckets],
        "pending": [b["pending"] for b in buckets],
        "held": [b["held"] for b in buckets],
    }


async def details(ctx: Context, merchant_id: str, route_id: str, span: str) -> dict[str, Any]:
    """Counters (30 days); deliveries by outcome and latency percentiles over the ``span`` (a key of
    ``RANGES``), with charts."""
    chosen = RANGES[span]
    window = metrics.recent(ctx, chosen.width_s, chosen.span_s)
    counts = await metrics.counts(ctx, merchant_id, route_id)
    buckets = await metrics.series(ctx, merchant_id, route_id, window)
    latency = await metrics.latency(ctx, merchant_id, route_id, window)
    times = [float(b["start"]) for b in buckets]
    stacks = per_hour(buckets)
    total = sum(sum(values) for values in stacks.values())
    bars = charts.stacked_bars(
        times,
        stacks,
        label=f"Deliveries {chosen.per} by outcome, {chosen.words}: {total} deliveries",
        when=chosen.when,
    )
    rows = [(name, [latency[name].get(f"p{p}") for p in metrics.PERCENTILES]) for name in LATENCIES]
    latency_chart = charts.percentile_bars(
        [(LATENCIES[name], values) for name, values in rows],
        [f"p{p}" for p in metrics.PERCENTILES],
        label=f"Latency percentiles over the {chosen.words}",
    )
    return {
        "range": chosen,
        "ranges": RANGES,
        "span": span,
        "counts": counts,
        "counter_status": COUNTER_STATUS,
        "counted_since": ctx.clock() - metrics.WINDOW_S,
        "counters": COUNTERS,
        "outcomes": OUTCOMES,
        "hours": [
            {"start": t, "name": chosen.when(t), **{k: v[i] for k, v in stacks.items()}}
            for i, t in enumerate(times)
        ],
        "bars": bars,
        "total": total,
        "latency": {name: latency[name] for name in LATENCIES},
        "latencies": LATENCIES,
        "percentiles": [f"p{p}" for p in metrics.PERCENTILES],
        "latency_chart": latency_chart,
    }
