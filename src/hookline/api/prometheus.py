"""Prometheus ``/metrics``: this process's counters and histograms, and the database's queue depth.

Served by every process that serves HTTP: the API, ``serve``, and a ``hookline worker`` given a metrics port.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from hookline import telemetry
from hookline.api.deps import Ctx
from hookline.service import metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def prometheus(request: Request, ctx: Ctx) -> Response:
    """Prometheus text exposition of this process (no auth: operators scrape it; it names no merchant)."""
    depth: metrics.QueueDepth | None = getattr(request.app.state, "queue_depth", None)
    if depth is None:
        depth = request.app.state.queue_depth = metrics.QueueDepth()
    body, content_type = telemetry.exposition(await depth.read(ctx))
    return Response(body, media_type=content_type)
