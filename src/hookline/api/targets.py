"""``/v1/targets``: receiving URLs and their signing keys."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hookline.api import render
from hookline.api.deps import PAGE, Caller, Ctx, Limit, MerchantId, decode_cursor, next_cursor
from hookline.api.render import JSON
from hookline.api.schemas import TargetIn, TargetPatch
from hookline.service import auth, targets

router = APIRouter(prefix="/v1/targets", tags=["targets"])


@router.post("", status_code=201)
async def create_target(body: TargetIn, ctx: Ctx, caller: Caller, merchant: str | None = None) -> JSON:
    """Create a target: a receiving URL (or a broker URL and destination), with its signing keys, and how to
    authenticate to it if need be."""
    merchant_id = await auth.merchant_for(ctx, caller, merchant or body.merchant)
    target = await targets.create(
        ctx, merchant_id, body.url, body.enabled, destination=body.destination, auth=body.auth
    )
    return JSON(render.target(target), status_code=201)


@router.get("", responses=PAGE)
async def list_targets(
    ctx: Ctx, merchant_id: MerchantId, limit: Limit = 50, cursor: str | None = None
) -> JSON:
    """The merchant's targets."""
    rows = await targets.page(ctx, merchant_id, limit, decode_cursor(cursor))
    return JSON({"data": [render.target(r) for r in rows], "next_cursor": next_cursor(rows, limit)})


@router.get("/{target_id}")
async def get_target(target_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """One target."""
    return JSON(render.target(await targets.get(ctx, merchant_id, target_id)))


@router.patch("/{target_id}")
async def update_target(target_id: str, body: TargetPatch, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Change a target's URL, its broker destination or its endpoint credentials (``"auth": null`` removes
    them), or enable or disable it."""
    given_auth = body.auth if "auth" in body.model_fields_set else targets.UNCHANGED
    target = await targets.update(
        ctx, merchant_id, target_id, body.url, body.enabled, destination=body.destination, auth=given_auth
    )
    return JSON(render.target(target))


@router.delete("/{target_id}", status_code=204)
async def delete_target(target_id: str, ctx: Ctx, merchant_id: MerchantId) -> Response:
    """Delete a target that no route uses."""
    await targets.delete(ctx, merchant_id, target_id)
    return Response(status_code=204)


@router.get("/{target_id}/signing-key")
async def get_signing_key(target_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """The target's signing keys: the current, the expiring one in a rotation, their public forms."""
    target = await targets.get(ctx, merchant_id, target_id)
    return JSON(render.signing_key(targets.live_keys(target, ctx.clock())))


@router.post("/{target_id}/signing-key/rotate")
async def rotate_signing_key(target_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Rotate the target's keys: both sign for 24 hours (a second call does not extend it)."""
    target = await targets.rotate(ctx, merchant_id, target_id)
    return JSON(render.signing_key(targets.live_keys(target, ctx.clock())))
