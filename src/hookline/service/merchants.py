"""Merchants (tenants) and their API keys; the operator's use cases.

A merchant may carry ``public_id``, its id on the commerce platform (Ordergroove's merchant public id), set by
the operator: ``/webhook_targets`` accepts it as the merchant, and events whose ``data.object.merchant`` is
missing get it filled in (``public_id_of``, remembered for ``auth.KEY_CACHE_S`` seconds per process).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Final

from hookline.core import ids
from hookline.core.errors import Conflict, Invalid
from hookline.core.models import ApiKey, Merchant
from hookline.service import names
from hookline.service.auth import KEY_CACHE_S, KEY_CACHE_SIZE, MERCHANT_PREFIX, digest, forget_keys, hint
from hookline.service.context import Context
from hookline.storage import merchants

# Ids as platforms write them (Ordergroove's are 32 hex digits): no spaces, nothing a URL would escape.
PUBLIC_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
OWN_PREFIX: Final = "mer_"  # hookline's merchant ids: a public id cannot look like one of them


def check_public_id(value: object) -> str | None:
    """A platform merchant id, or None (no id); Invalid naming the rule otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or PUBLIC_ID.fullmatch(value) is None:
        raise Invalid(
            "public_id must be 1 to 100 letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit",
            fields={"public_id": "1 to 100 of A-Z a-z 0-9 . _ : -"},
        )
    if value.startswith(OWN_PREFIX):
        raise Invalid(
            f"public_id cannot start with {OWN_PREFIX!r}: hookline's own merchant ids do",
            fields={"public_id": f"starts with {OWN_PREFIX}"},
        )
    return value


async def _unique(ctx: Context, public_id: str | None, merchant_id: str | None = None) -> None:
    owner = None if public_id is None else await merchants.with_public_id(ctx.db, public_id)
    if owner is not None and owner != merchant_id:
        raise Conflict(
            f"public_id {public_id} is already the platform id of merchant {owner}",
            fields={"public_id": "taken"},
        )


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


async def create(ctx: Context, name: str, public_id: object = None) -> tuple[Merchant, str]:
    """A new merchant and its first API key (returned in clear only here)."""
    merchant_id = ids.new("mer")
    platform_id = check_public_id(public_id)
    merchant = Merchant(merchant_id, names.check(name, "a merchant"), ctx.clock(), platform_id)
    await _unique(ctx, platform_id)
    key, key_row = _key_row(ctx, merchant_id)
    try:
        await merchants.create(ctx.db, dataclasses.asdict(merchant), key_row)
    except Conflict:  # the unique index: another merchant took the public id a moment ago
        await _unique(ctx, platform_id)
        raise
    return merchant, key


async def update(ctx: Context, merchant_id: str, changes: dict[str, Any]) -> Merchant:
    """Rename, or set (None: clear) the public id; only the keys present in ``changes`` change."""
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = names.check(changes["name"], "a merchant")
    if "public_id" in changes:
        values["public_id"] = check_public_id(changes["public_id"])
        await _unique(ctx, values["public_id"], merchant_id)
    if not values:
        return await merchants.get(ctx.db, merchant_id)
    try:
        row = await merchants.change(ctx.db, merchant_id, values)
    except Conflict:
        await _unique(ctx, values.get("public_id"), merchant_id)
        raise
    ctx.merchant_public_ids.pop(merchant_id, None)  # this process sees the change at once
    return row


async def public_id_of(ctx: Context, merchant_id: str) -> str | None:
    """The merchant's platform id (None: not set), read at most every ``KEY_CACHE_S`` seconds: it is
    needed for every ingested event, and changes rarely (other processes see a change within that time)."""
    now = ctx.clock()
    cached = ctx.merchant_public_ids.get(merchant_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    found = (await merchants.get(ctx.db, merchant_id)).public_id
    if len(ctx.merchant_public_ids) >= KEY_CACHE_SIZE:
        ctx.merchant_public_ids.clear()
    ctx.merchant_public_ids[merchant_id] = (now + KEY_CACHE_S, found)
    return found


async def resolve(ctx: Context, name: str | None) -> str | None:
    """The merchant id ``name`` stands for: hookline's own id as it is, a platform id (``public_id``) as the
    merchant that carries it. Anything else is returned unchanged, to be refused where it is used."""
    if not name or name.startswith(OWN_PREFIX):
        return name
    return await merchants.with_public_id(ctx.db, name) or name


async def get(ctx: Context, merchant_id: str) -> Merchant:
    return await merchants.get(ctx.db, merchant_id)


async def page(ctx: Context, limit: int, cursor: str | None) -> list[Merchant]:
    return await merchants.page(ctx.db, limit, cursor)


async def matching(ctx: Context, wanted: str, limit: int) -> list[Merchant]:
    """The merchants an operator's search finds: by id, platform id, or a part of the name."""
    return await merchants.matching(ctx.db, wanted, limit)


async def add_key(ctx: Context, merchant_id: str) -> tuple[ApiKey, str]:
    await merchants.get(ctx.db, merchant_id)
    key, row = _key_row(ctx, merchant_id)
    await merchants.add_key(ctx.db, row)
    return ApiKey.from_row(row), key


async def revoke_key(ctx: Context, merchant_id: str, key_id: str, *, by_operator: bool) -> None:
    """Revoke a key. A merchant may not revoke its last active key (it would lock itself out for good);
    the operator may, to cut a merchant off."""
    await merchants.revoke_key(ctx.db, merchant_id, key_id, ctx.clock(), keep_one=not by_operator)
    forget_keys(ctx)


async def keys(ctx: Context, merchant_id: str) -> list[ApiKey]:
    await merchants.get(ctx.db, merchant_id)
    return await merchants.keys(ctx.db, merchant_id)
