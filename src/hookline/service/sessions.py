"""Dashboard sessions: the secret that signs their cookies, and who a session still stands for.

The secret lives in the ``meta`` table, so every process on one database signs and checks cookies with the
same key, and a restart does not sign everybody out. A session names its API key by digest (never the key),
so revoking the key, or changing the operator key, ends the sessions made with it at their next request.
"""

from __future__ import annotations

import hmac
import secrets

from hookline.service.auth import Principal
from hookline.service.context import Context
from hookline.storage import merchants

SECRET_KEY = "dashboard_session_secret"


async def secret(ctx: Context) -> bytes:
    """The session-signing secret, generated on first use and kept in the database."""
    stored = await merchants.meta_value(ctx.db, SECRET_KEY)
    if stored is None:
        # Two processes may both get here at first use: the first one's secret is kept, the other's dropped.
        await merchants.add_meta(ctx.db, SECRET_KEY, secrets.token_hex(32))
        stored = await merchants.meta_value(ctx.db, SECRET_KEY)
    assert stored is not None
    return bytes.fromhex(stored)


async def resume(ctx: Context, key_digest: str) -> Principal | None:
    """The caller a session was opened for, or None when its key is no longer valid."""
    operator_hash = await merchants.meta_value(ctx.db, merchants.OPERATOR_KEY_HASH)
    if operator_hash is not None and hmac.compare_digest(operator_hash, key_digest):
        return Principal(operator=True)
    merchant_id = await merchants.merchant_for_key(ctx.db, key_digest)
    return None if merchant_id is None else Principal(operator=False, merchant_id=merchant_id)
