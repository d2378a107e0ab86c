"""Looking at deliveries and events, and sending a delivery again."""

from __future__ import annotations

from hookline import routing
from hookline.models import DeliveryStatus
from hookline.service.context import Context
from hookline.storage import deliveries, events
from hookline.storage.deliveries import Filters
from hookline.storage.records import Row


async def page(ctx: Context, merchant_id: str, filters: Filters, limit: int, cursor: str | None) -> list[Row]:
    return await deliveries.page(ctx.db, merchant_id, filters, limit, cursor)


async def get(ctx: Context, merchant_id: str, delivery_id: str) -> tuple[Row, list[Row]]:
    return await deliveries.get(ctx.db, merchant_id, delivery_id)


async def resend(ctx: Context, merchant_id: str, delivery_id: str) -> Row:
    row = await deliveries.resend(ctx.db, merchant_id, delivery_id, ctx.clock())
    if row["status"] == DeliveryStatus.PENDING:
        ctx.wakeup.ring()
    return row


async def event(ctx: Context, merchant_id: str, event_id: str) -> Row:
    return await events.get(ctx.db, merchant_id, event_id)


async def event_page(
    ctx: Context,
    merchant_id: str,
    limit: int,
    before: tuple[float, str] | None,
    event_types: list[str],
    flagged: bool | None = None,
) -> list[Row]:
    return await events.page(ctx.db, merchant_id, limit, before, event_types, flagged)


def event_types(ctx: Context, *filters: str | None) -> list[str]:
    """The concrete event types that ``event_type`` filters name (wildcards as routes take them); [] for
    none. Several filters (``event_type`` and its older spelling ``type``) add up."""
    found: list[str] = []
    for text in filters:
        if text:
            found.extend(routing.selected(text, entitlements=ctx.entitlements))
    return list(dict.fromkeys(found))
