"""``/v1/routes``: webhook routes, their states and settings."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from hookline.api import render
from hookline.api.deps import PAGE, Caller, Ctx, Limit, MerchantId, decode_cursor, next_cursor
from hookline.api.render import JSON
from hookline.api.schemas import PreviewIn, RouteIn, RoutePatch
from hookline.core.errors import Invalid
from hookline.core.models import RouteState
from hookline.service import auth, preview, routes

router = APIRouter(prefix="/v1/routes", tags=["routes"])


@router.post("", status_code=201)
async def create_route(body: RouteIn, ctx: Ctx, caller: Caller, merchant: str | None = None) -> JSON:
    """Create a webhook route: a target, the event types it gets, payload and delivery settings."""
    merchant_id = await auth.merchant_for(ctx, caller, merchant or body.merchant)
    spec = body.model_dump(exclude={"merchant"})
    spec["retry"] = body.retry.model_dump() if body.retry else {}
    row = await routes.create(ctx, merchant_id, spec)
    return JSON(render.route(row), status_code=201)


@router.get("", responses=PAGE)
async def list_routes(
    ctx: Ctx, merchant_id: MerchantId, limit: Limit = 50, cursor: str | None = None
) -> JSON:
    """The merchant's webhook routes."""
    rows = await routes.page(ctx, merchant_id, limit, decode_cursor(cursor))
    return JSON({"data": [render.route(r) for r in rows], "next_cursor": next_cursor(rows, limit)})


@router.get("/{route_id}")
async def get_route(route_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """One webhook route."""
    return JSON(render.route(await routes.get(ctx, merchant_id, route_id)))


@router.patch("/{route_id}")
async def update_route(route_id: str, body: RoutePatch, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Change a route; disabling it cancels its pending deliveries."""
    patch = body.model_dump(exclude_none=True)
    patch.update(_shaping(body))  # for these, an explicit null clears the setting
    return JSON(render.route(await routes.update(ctx, merchant_id, route_id, patch)))


def _shaping(body: RoutePatch | PreviewIn) -> dict[str, object]:
    return {name: getattr(body, name) for name in routes.SHAPING if name in body.model_fields_set}


@router.delete("/{route_id}", status_code=204)
async def delete_route(route_id: str, ctx: Ctx, merchant_id: MerchantId) -> Response:
    """Delete a route; its pending deliveries are canceled."""
    await routes.delete(ctx, merchant_id, route_id)
    return Response(status_code=204)


@router.post("/{route_id}/halt")
async def halt_route(route_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Halt a route: its deliveries are held, kept and not tried, until it is resumed."""
    return JSON(render.route(await routes.set_state(ctx, merchant_id, route_id, RouteState.HALTED)))


@router.post("/{route_id}/resume")
async def resume_route(route_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Resume a halted route: its held deliveries are released, oldest first."""
    return JSON(render.route(await routes.set_state(ctx, merchant_id, route_id, RouteState.ACTIVE)))


@router.post("/{route_id}/preview")
async def preview_route(
    route_id: str, ctx: Ctx, merchant_id: MerchantId, body: PreviewIn | None = None
) -> JSON:
    """The body the route's receiver would get for an event (a sample without one); nothing is stored.
    ``event_id`` names an accepted event: its snapshot shows the objects as they were when it was accepted."""
    body = body or PreviewIn()
    route = await preview.settings(ctx, merchant_id, route_id, _shaping(body))
    if body.event_id is None:
        shown = await preview.preview(ctx, merchant_id, route, body.event, body.snapshot)
    elif body.event is not None or body.snapshot is not None:
        given = "event" if body.event is not None else "snapshot"
        raise Invalid(
            f"event_id names an accepted event, whose snapshot is built as it was: give no {given} with it",
            fields={given: "not with event_id"},
        )
    else:
        shown = await preview.stored(ctx, merchant_id, route, body.event_id)
    answer = {"body": orjson.loads(shown.body), "bytes": len(shown.body)}
    return JSON({**answer, "event_type": shown.event_type, "sample": shown.sample})
