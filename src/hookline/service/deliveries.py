"""Looking at deliveries and events, and sending a delivery again."""

from __future__ import annotations

from hookline.core import routing
from hookline.core.models import Attempt, Delivery, DeliveryStatus, StoredEvent
from hookline.service.context import Context
from hookline.storage import deliveries, events
from hookline.storage.deliveries import Filters


async def page(
    ctx: Context, merchant_id: str, filters: Filters, limit: int, cursor: str | None
) -> list[Delivery]:
    return await deliveries.page(ctx.db, merchant_id, filters, limit, cursor)


async def get(ctx: Context, merchant_id: str, delivery_id: str) -> tuple[Delivery, list[Attempt]]:
    return await deliveries.get(ctx.db, merchant_id, delivery_id)


async def resend(ctx: Context, merchant_id: str, delivery_id: str) -> Delivery:
    row = await deliveries.resend(ctx.db, merchant_id, delivery_id, ctx.clock())
    if row.status == DeliveryStatus.PENDING:
        ctx.wakeup.ring()
    return row


async def event(ctx: Context, merchant_id: str, event_id: str) -> StoredEvent:
    return await events.get(ctx.db, merchant_id, event_id)


async def event_page(
    ctx: Context,
    merchant_id: str,
    limit: int,
    before: tuple[float, str] | None,
    event_types: list[str],
    flagged: bool | None = None,
    about: events.About | None = None,
) -> list[StoredEvent]:
    return await events.page(ctx.db, merchant_id, limit, before, event_types, flagged, about)


async def statuses_of_events(
    ctx: Context, merchant_id: str, event_ids: list[str]
) -> dict[str, dict[str, int]]:
    """Each event's deliveries on every route, counted by status."""
    return await deliveries.statuses_of_events(ctx.db, merchant_id, event_ids)


async def customers_of_events(ctx: Context, merchant_id: str, event_ids: list[str]) -> dict[str, str]:
    """The customer each event is about (event id -> customer id), for those about one."""
    return await events.customers_of(ctx.db, merchant_id, event_ids)


def event_types(ctx: Context, *filters: str | None) -> list[str]:
    """The concrete event types that ``event_type`` filters name (wildcards as routes take them); [] for
    none. Several filters (``event_type`` and its older spelling ``type``) add up."""
    found: list[str] = []
    for text in filters:
        if text:
            found.extend(routing.selected(text, entitlements=ctx.entitlements))
    return list(dict.fromkeys(found))
