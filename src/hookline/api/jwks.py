"""``/jwks/{target_id}.json``: a target's public keys for Standard Webhooks ``v1a``, without an API key."""

from __future__ import annotations

from fastapi import APIRouter

from hookline.api.deps import Ctx
from hookline.api.render import JSON
from hookline.service import targets

router = APIRouter(tags=["targets"])

# Shorter than the rotation window by far: a receiver that caches the document still holds the key that
# keeps signing for 24 h after a rotation, and sees the new one long before the old one stops.
CACHE_CONTROL = "public, max-age=300"


@router.get("/jwks/{target_id}.json")
async def target_jwks(target_id: str, ctx: Ctx) -> JSON:
    """The target's current Ed25519 key, and during a rotation the expiring one, as a JWK set."""
    keys = await targets.public_keys(ctx, target_id)
    return JSON({"keys": keys}, headers={"Cache-Control": CACHE_CONTROL})
