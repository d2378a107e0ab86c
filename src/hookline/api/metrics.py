"""Route metrics (30-day counters, series, latency) and a merchant's summary; Prometheus is ``prometheus``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hookline.api import openapi
from hookline.api.deps import Ctx, MerchantId, TimeQuery
from hookline.api.render import JSON, iso
from hookline.service import metrics, time_inputs

router = APIRouter(tags=["metrics"])


@router.get("/v1/routes/{route_id}/metrics")
async def route_metrics(
    route_id: str,
    ctx: Ctx,
    merchant_id: MerchantId,
    series: Annotated[str | None, Query(json_schema_extra=openapi.SERIES)] = None,
    since: TimeQuery = None,
    until: TimeQuery = None,
) -> JSON:
    """The route's counters over deliveries created in the last 30 days; with ``?series=15m|1h|1d`` also the
    buckets of ``[since, until)`` (default: the last 6 h, 24 h or 30 days, ending now) and latency
    percentiles over the same window."""
    # Read even without a series, so that a time that is not one is a 400, not silently ignored.
    start, end = time_inputs.parse_time(since, "since"), time_inputs.parse_time(until, "until")
    body: dict[str, Any] = dict(await metrics.counts(ctx, merchant_id, route_id))
    body["window_days"] = metrics.WINDOW_DAYS
    if series is None:
        return JSON(body)
    w = metrics.window(ctx, series, start, end)
    buckets = await metrics.series(ctx, merchant_id, route_id, w)
    body["series"] = [{**b, "start": iso(b["start"])} for b in buckets]
    body["series_window"] = {"bucket": w.bucket, "since": iso(w.since), "until": iso(w.until)}
    body["latency"] = await metrics.latency(ctx, merchant_id, route_id, w)
    return JSON(body)


@router.get("/v1/metrics/summary")
async def merchant_summary(ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """The same counters over all of the merchant's routes, in total and per route, for the last 30 days."""
    found = await metrics.summary(ctx, merchant_id)
    return JSON(
        {
            **found["total"],
            "window_days": metrics.WINDOW_DAYS,
            "routes": [{"route_id": rid, **counters} for rid, counters in found["routes"].items()],
        }
    )
