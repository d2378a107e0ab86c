"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter

from hookline.api.deps import Ctx
from hookline.api.render import JSON
from hookline.core.errors import Unavailable
from hookline.storage import health

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> JSON:
    """Liveness: the process answers (no key, no database)."""
    return JSON({"status": "ok"})


@router.get("/readyz", responses={503: {"description": "Not ready: the database cannot be reached"}})
async def readyz(ctx: Ctx) -> JSON:
    """Readiness: the database answers (no key)."""
    try:
        await health.ping(ctx.db)
    except Unavailable:
        return JSON({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSON({"status": "ok", "database": ctx.db.dialect})
