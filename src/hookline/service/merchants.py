"""Merchants (tenants) and their API keys; the operator's use cases."""

from __future__ import annotations

from typing import Any

from hookline import ids
from hookline.service import names
from hookline.service.auth import MERCHANT_PREFIX, digest, forget_keys, hint
from hookline.service.context import Context
from hookline.storage import merchants
from hookline.storage.records import Row


def _key_row(ctx: Context, merchant_id: str) -> tuple[str, dict[str, Any]]:
    key = ids.secret(MERCHANT_PREFIX, 32)
    row = {
        "id": ids.new("key"),
        "merchant_id": merchant_id,
        "key_hash": digest(key),
        "hint": hint(key),
        "created": ctx.clock(),
    }
    return key, row


async def create(ctx: Context, name: str) -> tuple[Row, str]:
    """A new merchant and its first API key (returned in clear only here)."""
    name = names.check(name, "a merchant")
    merchant_id = ids.new("mer")
    merchant = {"id": merchant_id, "name": name, "created": ctx.clock()}
    key, key_row = _key_row(ctx, merchant_id)
    await merchants.create(ctx.db, merchant, key_row)
    return merchant, key


async def get(ctx: Context, merchant_id: str) -> Row:
    return await merchants.get(ctx.db, merchant_id)


async def page(ctx: Context, limit: int, cursor: str | None) -> list[Row]:
    return await merchants.page(ctx.db, limit, cursor)


async def add_key(ctx: Context, merchant_id: str) -> tuple[Row, str]:
    await merchants.get(ctx.db, merchant_id)
    key, row = _key_row(ctx, merchant_id)
    await merchants.add_key(ctx.db, row)
    return row, key


async def revoke_key(ctx: Context, merchant_id: str, key_id: str, *, by_operator: bool) -> None:
    """Revoke a key. A merchant may not revoke its last active key (it would lock itself out for good);
    the operator may, to cut a merchant off."""
    await merchants.revoke_key(ctx.db, merchant_id, key_id, ctx.clock(), keep_one=not by_operator)
    forget_keys(ctx)


async def keys(ctx: Context, merchant_id: str) -> list[Row]:
    await merchants.get(ctx.db, merchant_id)
    return await merchants.keys(ctx.db, merchant_id)
