"""``/v1/merchants``: the operator manages tenants and their API keys."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from hookline.api import render
from hookline.api.deps import PAGE, Caller, Ctx, Limit, decode_cursor, next_cursor
from hookline.api.render import JSON
from hookline.api.schemas import MerchantIn, MerchantPatch, PortalLinkIn
from hookline.core.errors import NotFound
from hookline.service import merchants, portal

router = APIRouter(prefix="/v1/merchants", tags=["merchants"])


def _own(caller: Caller, merchant_id: str) -> None:
    """The operator reaches every merchant; a merchant key only its own (others are 'not found')."""
    if not caller.operator and caller.merchant_id != merchant_id:
        raise NotFound(f"merchant {merchant_id} not found")


@router.post("", status_code=201)
async def create_merchant(body: MerchantIn, ctx: Ctx, caller: Caller) -> JSON:
    """Create a merchant and its first API key, shown only in this answer (operator key)."""
    caller.require_operator()
    row, key = await merchants.create(ctx, body.name, body.public_id)
    return JSON({**render.merchant(row), "api_key": key}, status_code=201)


@router.get("", responses=PAGE)
async def list_merchants(ctx: Ctx, caller: Caller, limit: Limit = 50, cursor: str | None = None) -> JSON:
    """Every merchant (operator key)."""
    caller.require_operator()
    rows = await merchants.page(ctx, limit, decode_cursor(cursor))
    return JSON({"data": [render.merchant(r) for r in rows], "next_cursor": next_cursor(rows, limit)})


@router.get("/{merchant_id}")
async def get_merchant(merchant_id: str, ctx: Ctx, caller: Caller) -> JSON:
    """One merchant (a merchant key reads only its own)."""
    _own(caller, merchant_id)
    return JSON(render.merchant(await merchants.get(ctx, merchant_id)))


@router.patch("/{merchant_id}")
async def update_merchant(merchant_id: str, body: MerchantPatch, ctx: Ctx, caller: Caller) -> JSON:
    """The operator renames a merchant or sets its platform id (``public_id``; null clears it).
    A null ``name`` leaves the name as it is, as a null field does in every other PATCH."""
    caller.require_operator()
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if changes.get("name", "") is None:
        del changes["name"]
    return JSON(render.merchant(await merchants.update(ctx, merchant_id, changes)))


@router.get("/{merchant_id}/api-keys", responses=PAGE)
async def list_keys(merchant_id: str, ctx: Ctx, caller: Caller) -> JSON:
    """A merchant's API keys, each by id and a hint (keys are stored hashed)."""
    _own(caller, merchant_id)
    return JSON(
        {"data": [render.api_key(r) for r in await merchants.keys(ctx, merchant_id)], "next_cursor": None}
    )


@router.post("/{merchant_id}/api-keys", status_code=201)
async def add_key(merchant_id: str, ctx: Ctx, caller: Caller) -> JSON:
    """A new API key for the merchant, shown only in this answer; the other keys keep working."""
    _own(caller, merchant_id)
    row, key = await merchants.add_key(ctx, merchant_id)
    return JSON({**render.api_key(row), "api_key": key}, status_code=201)


@router.delete("/{merchant_id}/api-keys/{key_id}", status_code=204)
async def revoke_key(merchant_id: str, key_id: str, ctx: Ctx, caller: Caller) -> Response:
    """Revoke an API key: requests with it are refused from now on."""
    _own(caller, merchant_id)
    await merchants.revoke_key(ctx, merchant_id, key_id, by_operator=caller.operator)
    return Response(status_code=204)


@router.post("/{merchant_id}/portal-links", status_code=201)
async def mint_portal_link(
    merchant_id: str, body: PortalLinkIn, request: Request, ctx: Ctx, caller: Caller
) -> JSON:
    """A single-use link that signs a browser in to the merchant's dashboard (operator key): open it once,
    before ``expires``, typically in an iframe of the platform (docs/portal.md). ``read_only`` sessions see
    everything and change nothing; ``return_url`` is offered as "Back to" the platform. The token is shown
    only in this answer."""
    caller.require_operator()
    row, token = await portal.mint(
        ctx, merchant_id, ttl_s=body.ttl_s, read_only=body.read_only, return_url=body.return_url
    )
    url = str(request.base_url).rstrip("/") + "/dashboard/portal/" + token
    return JSON(render.portal_link(row, url), status_code=201)
