"""API keys: who is calling, and for which merchant they act.

Keys are random and long, so a plain SHA-256 of the key is a safe thing to store and look up; a slow
password hash would add latency to every request and no security.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from hookline import telemetry
from hookline.core import ids
from hookline.core.errors import Forbidden, Invalid, TooManyRequests, Unauthorized
from hookline.service import throttle
from hookline.service.context import Context
from hookline.storage import merchants

OPERATOR_PREFIX = "hl_op"
KEY_CACHE_S = 5.0
KEY_CACHE_SIZE = 10_000
MERCHANT_PREFIX = "hl_mk"


@dataclass(frozen=True, slots=True)
class Principal:
    operator: bool
    merchant_id: str | None = None

    def acting_for(self, merchant_id: str | None) -> str:
        """The merchant this call concerns: a merchant key's own, or the one an operator names."""
        if not self.operator:
            assert self.merchant_id is not None
            if merchant_id and merchant_id != self.merchant_id:
                raise Forbidden("a merchant key acts only for its own merchant")
            return self.merchant_id
        if not merchant_id:
            raise Invalid(
                "the operator key acts for a merchant named with ?merchant=<id>",
                fields={"merchant": "required with the operator key"},
            )
        return merchant_id

    def require_operator(self) -> None:
        if not self.operator:
            raise Forbidden("this needs the operator key")


async def merchant_for(ctx: Context, caller: Principal, merchant_id: str | None) -> str:
    """``acting_for``; an operator naming a merchant that does not exist gets 404, not a failed insert."""
    acting = caller.acting_for(merchant_id)
    if caller.operator and acting not in ctx.merchants_seen:
        await merchants.get(ctx.db, acting)
        # Merchants are never deleted: once seen, a merchant id needs no look-up again.
        if len(ctx.merchants_seen) >= KEY_CACHE_SIZE:
            ctx.merchants_seen.clear()
        ctx.merchants_seen.add(acting)
    return acting


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hint(key: str) -> str:
    """The part of a key that may be shown again later, to tell keys apart."""
    return key[:6] + "…" + key[-4:]


async def ensure_operator_key(ctx: Context, configured: str) -> str | None:
    """Make the operator key known; returns a newly generated key (to print once), else None."""
    if configured:
        await merchants.set_meta(ctx.db, merchants.OPERATOR_KEY_HASH, digest(configured))
        return None
    key = ids.secret(OPERATOR_PREFIX, 32)
    # Only the first process to start ever generates one; the others find it stored (and print nothing).
    return key if await merchants.add_meta(ctx.db, merchants.OPERATOR_KEY_HASH, digest(key)) else None


async def authenticate(ctx: Context, key: str | None, *, client: str | None, via: str = "api") -> Principal:
    """Who holds ``key``, asked by the client at address ``client`` (through ``via``: "api", "dashboard").

    A client that has failed too often is refused (``TooManyRequests``) before its key is looked at, and each
    wrong key counts against it (``throttle``). A verified key is remembered for a few seconds, so a busy
    platform posting events does not pay a database round trip per request; revoking a key forgets them all
    in this process at once, and in other processes within ``KEY_CACHE_S``.
    """
    if not key:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'")
    now = ctx.clock()
    address = throttle.client_key(client)
    wait = ctx.failures.wait(address, now)
    if wait is not None:
        telemetry.auth_throttled(via)
        raise TooManyRequests(
            f"too many failed attempts with unknown keys from this address; try again in {wait} s",
            retry_after=wait,
        )
    hashed = digest(key)
    cached = ctx.principals.get(hashed)
    if cached is not None and cached[0] > now:
        principal: Principal = cached[1]
        return principal
    try:
        principal = await _look_up(ctx, key, hashed)
    except Unauthorized:
        ctx.failures.failed(address, now)
        telemetry.auth_failed(via)
        raise
    if len(ctx.principals) >= KEY_CACHE_SIZE:
        ctx.principals.clear()
    ctx.principals[hashed] = (now + KEY_CACHE_S, principal)
    return principal


async def _look_up(ctx: Context, key: str, hashed: str) -> Principal:
    if key.startswith(OPERATOR_PREFIX) or not key.startswith(MERCHANT_PREFIX):
        stored = await merchants.meta_value(ctx.db, merchants.OPERATOR_KEY_HASH)
        if stored is not None and hmac.compare_digest(stored, hashed):
            return Principal(operator=True)
    merchant_id = await merchants.merchant_for_key(ctx.db, hashed)
    if merchant_id is None:
        raise Unauthorized("unknown or revoked API key")
    return Principal(operator=False, merchant_id=merchant_id)


def forget_keys(ctx: Context) -> None:
    """After a key is revoked: verify every key again on its next use."""
    ctx.principals.clear()


async def is_operator_key(ctx: Context, key: str) -> bool:
    """Whether ``key`` is the operator key this database knows; for the process itself (``serve --demo``
    showing a key it wrote down earlier), so no client is throttled for a stale one."""
    stored = await merchants.meta_value(ctx.db, merchants.OPERATOR_KEY_HASH)
    return stored is not None and hmac.compare_digest(stored, digest(key))
