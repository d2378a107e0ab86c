"""The operator's console: every merchant's health at a glance, and finding a delivery in any merchant."""

from __future__ import annotations

from typing import Final

from hookline.service.context import Context
from hookline.storage import console
from hookline.storage.console import Found, Health

HEALTH_WINDOW_S: Final = 86_400.0  # failing deliveries are counted over the last 24 h
MAX_FOUND: Final = 50
MAX_ID: Final = 100  # the longest id hookline keeps (an event's)


async def health(ctx: Context, merchant_ids: list[str]) -> dict[str, Health]:
    """Per merchant: ``routes`` (live), ``halted``, and ``failing`` (deliveries failed in the last 24 h)."""
    return await console.health(ctx.db, merchant_ids, ctx.clock() - HEALTH_WINDOW_S)


async def find(ctx: Context, wanted: str) -> list[Found]:
    """The delivery with id ``wanted``, or the deliveries of the events with that id, in any merchant
    (at most ``MAX_FOUND``); none for an empty or overlong id."""
    wanted = wanted.strip()
    if not wanted or len(wanted) > MAX_ID:
        return []
    return await console.deliveries_for(ctx.db, wanted, MAX_FOUND)
