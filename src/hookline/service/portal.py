"""Portal links: the operator mints a single-use, short-lived link that signs a browser in to one merchant's
dashboard (docs/portal.md), typically inside an iframe of the commerce platform.

The link carries a random token; only its SHA-256 is stored, and logs name the link by its id. Opening it
uses it up (one request ever does, whatever runs at once) and opens the dashboard's ordinary server-side
session for that merchant only, read-only if the link says so; no API key is involved.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from hookline.core import ids
from hookline.service import merchants, sessions
from hookline.service.context import Context
from hookline.storage import portal_links as store

logger = logging.getLogger(__name__)

DEFAULT_TTL_S = 600
MIN_TTL_S = 10
MAX_TTL_S = 3600
_TOKEN_MAX = 100


class Refusal(StrEnum):
    """Why a link opens nothing."""

    INVALID = "invalid"  # unknown or altered
    USED = "used"
    EXPIRED = "expired"


class LinkRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Opened:
    token: str  # the new session's token (the dashboard's cookie)
    session: sessions.Session


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def mint(
    ctx: Context, merchant_id: str, *, ttl_s: int, read_only: bool, return_url: str | None
) -> tuple[store.PortalLink, str]:
    """A new link for the merchant (NotFound if there is none) and its token, returned only here."""
    await merchants.get(ctx, merchant_id)
    token = secrets.token_urlsafe(32)
    now = ctx.clock()
    link = store.PortalLink(
        id=ids.new("plk", now=now),
        token_hash=_hash(token),
        merchant_id=merchant_id,
        read_only=read_only,
        return_url=return_url,
        created=now,
        expires=now + ttl_s,
    )
    await store.add(ctx.db, link)
    logger.info("portal link %s minted for merchant %s (read_only=%s)", link.id, merchant_id, read_only)
    return link, token


async def open_link(ctx: Context, token: str) -> Opened:
    """Use the link ``token`` names and open its session; LinkRefused when it is unknown, used or expired."""
    link = await store.get(ctx.db, _hash(token)) if 0 < len(token) <= _TOKEN_MAX else None
    if link is None:
        raise LinkRefused(Refusal.INVALID)
    now = ctx.clock()
    if not await store.use(ctx.db, link.id, now):
        reason = Refusal.USED if link.used is not None or link.expires > now else Refusal.EXPIRED
        logger.info("portal link %s refused: %s", link.id, reason.value)
        raise LinkRefused(reason)
    session_token, session = await sessions.open_session(
        ctx,
        operator=False,
        merchant_id=link.merchant_id,
        key_hash=None,
        read_only=link.read_only,
        portal_link_id=link.id,
        return_url=link.return_url,
    )
    logger.info("portal link %s opened a session for merchant %s", link.id, link.merchant_id)
    return Opened(session_token, session)
