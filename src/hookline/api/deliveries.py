"""``/v1/deliveries``: search, detail with every attempt, and resend."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hookline.api import openapi, render
from hookline.api.deps import (
    PAGE,
    Ctx,
    Cursor,
    EventTypeQuery,
    Limit,
    MerchantId,
    TimeQuery,
    decode_cursor,
    next_cursor,
)
from hookline.api.render import JSON
from hookline.core.errors import Invalid
from hookline.core.models import DeliveryStatus
from hookline.service import deliveries, time_inputs
from hookline.storage.deliveries import Filters

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


def _statuses(values: list[str]) -> tuple[str, ...]:
    wanted = [s for v in values for s in v.split(",") if s]
    bad = [s for s in wanted if s not in DeliveryStatus.__members__.values()]
    if bad:
        raise Invalid(
            f"unknown status {', '.join(bad)}", fields={"status": "one of " + ", ".join(DeliveryStatus)}
        )
    return tuple(wanted)


Statuses = Annotated[list[str], Query(json_schema_extra={"items": openapi.DELIVERY_STATUS})]


@router.get("", responses=PAGE)
async def list_deliveries(
    ctx: Ctx,
    merchant_id: MerchantId,
    limit: Limit = 50,
    cursor: Cursor = None,
    route_id: str | None = None,
    status: Statuses = [],  # noqa: B006 - FastAPI copies query defaults
    event_type: EventTypeQuery = None,
    event_id: str | None = None,
    object_id: str | None = None,
    customer_id: str | None = None,
    customer_email: str | None = None,
    since: TimeQuery = None,
    until: TimeQuery = None,
) -> JSON:
    """The merchant's deliveries, newest first, filtered by route, status, event, object or customer."""
    filters = Filters(
        route_id=route_id,
        status=_statuses(status),
        event_types=tuple(deliveries.event_types(ctx, event_type)),
        event_id=event_id,
        object_id=object_id,
        customer_id=customer_id,
        # Stored emails are trimmed and lower-cased (service.objects.email_key); a blank one matches nothing.
        customer_email=customer_email.strip().lower() if customer_email is not None else None,
        since=time_inputs.parse_time(since, "since"),
        until=time_inputs.parse_time(until, "until"),
    )
    rows = await deliveries.page(ctx, merchant_id, filters, limit, decode_cursor(cursor))
    return JSON({"data": [render.delivery(r) for r in rows], "next_cursor": next_cursor(rows, limit)})


@router.get("/{delivery_id}")
async def get_delivery(delivery_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """One delivery with every attempt: the request as sent and the receiver's answer."""
    row, tried = await deliveries.get(ctx, merchant_id, delivery_id)
    payload = row.payload or b""
    return JSON(
        {
            **render.delivery(row),
            "attempts": [render.attempt(a, payload) for a in tried],
            "attempt_count": row.attempts,
            "payload": payload.decode("utf-8", "replace"),
        }
    )


@router.post("/{delivery_id}/resend")
async def resend_delivery(delivery_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """Try a delivery again: a failed or canceled one becomes pending with a fresh attempt budget."""
    return JSON(render.delivery(await deliveries.resend(ctx, merchant_id, delivery_id)))
