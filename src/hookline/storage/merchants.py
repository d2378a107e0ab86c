"""Merchants, their hashed API keys, and the operator key's hash."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert, or_, select, update

from hookline.core.errors import Conflict, NotFound
from hookline.core.models import ApiKey, Merchant
from hookline.storage import sessions
from hookline.storage.database import Database
from hookline.storage.tables import api_keys, merchants, meta

OPERATOR_KEY_HASH = "operator_key_hash"


async def create(db: Database, merchant: dict[str, Any], key: dict[str, Any]) -> None:
    """Insert a merchant with its first API key, in one transaction."""
    async with db.write() as conn:
        await conn.execute(insert(merchants).values(**merchant))
        await conn.execute(insert(api_keys).values(**key))


async def get(db: Database, merchant_id: str) -> Merchant:
    async with db.read() as conn:
        row = (await conn.execute(select(merchants).where(merchants.c.id == merchant_id))).mappings().first()
    if row is None:
        raise NotFound(f"merchant {merchant_id} not found")
    return Merchant.from_row(row)


async def change(db: Database, merchant_id: str, values: dict[str, Any]) -> Merchant:
    """Change a merchant's name or public id; NotFound when missing, Conflict when the public id is taken."""
    async with db.write() as conn:
        result = await conn.execute(update(merchants).where(merchants.c.id == merchant_id).values(**values))
    if result.rowcount == 0:
        raise NotFound(f"merchant {merchant_id} not found")
    return await get(db, merchant_id)


async def with_public_id(db: Database, public_id: str) -> str | None:
    """The id of the merchant whose platform id is ``public_id``, if any."""
    async with db.read() as conn:
        query = select(merchants.c.id).where(merchants.c.public_id == public_id)
        found: str | None = (await conn.execute(query)).scalar_one_or_none()
    return found


async def page(db: Database, limit: int, before: str | None) -> list[Merchant]:
    """Newest first; ``before`` is the last id of the previous page."""
    query = select(merchants).order_by(merchants.c.id.desc()).limit(limit)
    if before:
        query = query.where(merchants.c.id < before)
    async with db.read() as conn:
        return [Merchant.from_row(r) for r in (await conn.execute(query)).mappings()]


async def matching(db: Database, wanted: str, limit: int) -> list[Merchant]:
    """Newest first: the merchants whose id or platform id is ``wanted``, or whose name contains it (in any
    case; ``%`` and ``_`` are plain characters)."""
    m = merchants.c
    query = (
        select(merchants)
        .where(
            or_(
                m.id == wanted,
                m.public_id == wanted,
                func.lower(m.name).contains(wanted.lower(), autoescape=True),
            )
        )
        .order_by(m.id.desc())
        .limit(limit)
    )
    async with db.read() as conn:
        return [Merchant.from_row(r) for r in (await conn.execute(query)).mappings()]


async def add_key(db: Database, key: dict[str, Any]) -> None:
    async with db.write() as conn:
        await conn.execute(insert(api_keys).values(**key))


async def revoke_key(db: Database, merchant_id: str, key_id: str, now: float, *, keep_one: bool) -> None:
    """Revoke an active key of the merchant, and the sessions opened with it; with ``keep_one``, never the
    merchant's last active key (Conflict)."""
    async with db.write() as conn:
        # The merchant's row locked first: two revocations at once count each other's keys (PostgreSQL;
        # SQLite writes one transaction at a time anyway).
        await conn.execute(select(merchants.c.id).where(merchants.c.id == merchant_id).with_for_update())
        active = dict(
            (
                await conn.execute(
                    select(api_keys.c.id, api_keys.c.key_hash).where(
                        api_keys.c.merchant_id == merchant_id, api_keys.c.revoked.is_(None)
                    )
                )
            ).all()
        )
        if key_id not in active:
            raise NotFound(f"API key {key_id} not found")
        if keep_one and active.keys() == {key_id}:
            raise Conflict(
                f"{key_id} is the merchant's last active API key: revoking it would lock the merchant out. "
                f"Create a new key first (POST /v1/merchants/{merchant_id}/api-keys), then revoke this one"
            )
        await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked=now))
        # The dashboard sessions signed in with the key end with it.
        await sessions.end_for_key(conn, active[key_id], now)


async def keys(db: Database, merchant_id: str) -> list[ApiKey]:
    query = (
        select(api_keys.c.id, api_keys.c.hint, api_keys.c.created, api_keys.c.revoked)
        .where(api_keys.c.merchant_id == merchant_id)
        .order_by(api_keys.c.id)
    )
    async with db.read() as conn:
        return [ApiKey.from_row(r) for r in (await conn.execute(query)).mappings()]


async def merchant_for_key(db: Database, key_hash: str) -> str | None:
    query = select(api_keys.c.merchant_id).where(
        api_keys.c.key_hash == key_hash, api_keys.c.revoked.is_(None)
    )
    async with db.read() as conn:
        return (await conn.execute(query)).scalar_one_or_none()


async def meta_value(db: Database, key: str) -> str | None:
    async with db.read() as conn:
        return (await conn.execute(select(meta.c.value).where(meta.c.key == key))).scalar_one_or_none()


async def set_meta(db: Database, key: str, value: str) -> None:
    """Store ``value`` under ``key``, replacing what was there (safe when processes start together)."""
    change = update(meta).where(meta.c.key == key).values(value=value)
    try:
        async with db.write() as conn:
            if (await conn.execute(change)).rowcount == 0:
                await conn.execute(insert(meta).values(key=key, value=value))
    except Conflict:
        # Another process inserted the key between our update and insert: now it exists, so replace it.
        async with db.write() as conn:
            await conn.execute(change)


async def add_meta(db: Database, key: str, value: str) -> bool:
    """Store ``value`` under ``key`` unless the key exists; True when this call stored it."""
    try:
        async with db.write() as conn:
            if (await conn.execute(select(meta.c.key).where(meta.c.key == key))).first() is not None:
                return False
            await conn.execute(insert(meta).values(key=key, value=value))
    except Conflict:
        return False  # another process stored it first
    return True
