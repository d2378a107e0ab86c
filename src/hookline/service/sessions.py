"""Browser sessions: opened at sign-in, checked on every request, ended by sign-out, key revocation or expiry.

A session is a row in the database named by the hash of a random token; the browser holds the token (the
dashboard puts it in a cookie). Everything that ends a session changes the row, so it ends at once for every
process on the database: signing out, revoking the API key it was opened with, its expiry. Each request
also checks that the key is still valid, which covers an operator key changed in the configuration. A
session belongs to a merchant, or to the operator (acting for the merchant it has chosen); it may be
read-only (the dashboard then refuses every change), for ways of signing in that are not a key, such as a
portal link (``service.portal``).

The secret kept here signs the short-lived sign-in form cookie (its CSRF token before any session exists).
It lives in the ``meta`` table, so every process on one database accepts the same forms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from hookline.service.context import Context
from hookline.storage import merchants
from hookline.storage import sessions as store

SECRET_KEY = "dashboard_session_secret"
SESSION_S = 12 * 3600
# ``last_seen`` is written at most this often per session: a write per page view would buy nothing.
TOUCH_S = 60.0
_TOKEN_MAX = 100  # a longer cookie is not one of ours; it is not even hashed


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    operator: bool
    merchant_id: str | None  # the merchant's own, or the one the operator acts for (None: not chosen yet)
    csrf: str  # the token every form of this session repeats
    expires: float
    read_only: bool = False
    portal_link_id: str | None = None  # opened by this portal link (the dashboard is then the platform's)
    return_url: str | None = None  # the platform's page to go back to, from the portal link


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(
    ctx: Context,
    *,
    operator: bool,
    merchant_id: str | None,
    key_hash: str | None,
    read_only: bool = False,
    lifetime_s: float = SESSION_S,
    portal_link_id: str | None = None,
    return_url: str | None = None,
) -> tuple[str, Session]:
    """A new session and its token, which is returned only here (the database keeps its hash).

    ``key_hash``: the digest of the API key signed in with; revoking that key ends the session. None for a
    session opened another way.
    """
    token = secrets.token_urlsafe(32)
    now = ctx.clock()
    session = Session(
        _hash(token),
        operator,
        merchant_id,
        secrets.token_urlsafe(24),
        now + lifetime_s,
        read_only,
        portal_link_id,
        return_url,
    )
    await store.add(
        ctx.db,
        store.StoredSession(
            id_hash=session.id_hash,
            operator=operator,
            merchant_id=merchant_id,
            key_hash=key_hash,
            read_only=read_only,
            csrf=session.csrf,
            created=now,
            expires=session.expires,
            last_seen=now,
            portal_link_id=portal_link_id,
            return_url=return_url,
        ),
    )
    return token, session


async def resume(ctx: Context, token: str | None) -> Session | None:
    """The live session ``token`` names: not ended, not expired, its key still valid; else None."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    row = await store.get(ctx.db, _hash(token))
    now = ctx.clock()
    if row is None or row.revoked is not None or row.expires <= now:
        return None
    if row.key_hash is not None and not await _key_valid(ctx, row.key_hash, row):
        await store.end(ctx.db, row.id_hash, now)
        return None
    if now - row.last_seen >= TOUCH_S:
        await store.change(ctx.db, row.id_hash, last_seen=now)
    return Session(
        row.id_hash,
        row.operator,
        row.merchant_id,
        row.csrf,
        row.expires,
        row.read_only,
        row.portal_link_id,
        row.return_url,
    )


async def acted_for(ctx: Context, token: str | None) -> str | None:
    """The merchant an operator's session ``token`` acted for, live or not (to carry a form it sent after
    it ended back to that merchant); None for a merchant's session, or one that chose none."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    row = await store.get(ctx.db, _hash(token))
    return row.merchant_id if row and row.operator and row.merchant_id else None


async def _key_valid(ctx: Context, key_hash: str, row: store.StoredSession) -> bool:
    """Whether the key the session was opened with (``key_hash``) still stands for the same caller."""
    if row.operator:
        operator_hash = await merchants.meta_value(ctx.db, merchants.OPERATOR_KEY_HASH)
        return operator_hash is not None and hmac.compare_digest(operator_hash, key_hash)
    return await merchants.merchant_for_key(ctx.db, key_hash) == row.merchant_id


async def end(ctx: Context, session: Session) -> None:
    await store.end(ctx.db, session.id_hash, ctx.clock())


async def act_for(ctx: Context, session: Session, merchant_id: str) -> None:
    """The operator's session acts for ``merchant_id`` from its next request on."""
    assert session.operator
    await store.change(ctx.db, session.id_hash, merchant_id=merchant_id)


async def secret(ctx: Context) -> bytes:
    """The sign-in form's signing secret, generated on first use and kept in the database."""
    stored = await merchants.meta_value(ctx.db, SECRET_KEY)
    if stored is None:
        # Two processes may both get here at first use: the first one's secret is kept, the other's dropped.
        await merchants.add_meta(ctx.db, SECRET_KEY, secrets.token_hex(32))
        stored = await merchants.meta_value(ctx.db, SECRET_KEY)
    assert stored is not None
    return bytes.fromhex(stored)
