"""``/v1/events`` (ingestion, single or batch) and ``/v1/event-types``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from hookline.api import openapi, render
from hookline.api.deps import (
    PAGE,
    Caller,
    Ctx,
    EventTypeQuery,
    Limit,
    MerchantId,
    decode_cursor,
    encode_cursor,
    json_body,
)
from hookline.api.render import JSON
from hookline.core import catalog, event_schemas, numerals
from hookline.core.errors import Invalid, NotFound
from hookline.service import auth, deliveries, ingest

router = APIRouter(tags=["events"])

# The body is read by hand (``json_body``: one event or a batch), so the OpenAPI document describes it here.
_EVENTS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        openapi.EVENT,
                        {
                            "type": "object",
                            "required": ["events"],
                            "properties": {
                                "merchant": {"type": "string"},
                                "events": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": ingest.MAX_BATCH,
                                    "items": openapi.EVENT,
                                },
                            },
                        },
                    ]
                }
            }
        },
    }
}


@router.get("/v1/event-types", responses=PAGE)
async def event_types(ctx: Ctx, _: Caller) -> JSON:
    """The event catalogue: every type a route can subscribe to, by family."""
    types = catalog.event_types(entitlements=ctx.entitlements)
    rows = [{"type": t.type, "family": t.family, "description": t.description} for t in types]
    return JSON({"data": rows, "next_cursor": None})


@router.get("/v1/event-types/{event_type}")
async def event_type(event_type: str, ctx: Ctx, _: Caller) -> JSON:
    """One event type with the JSON Schema (2020-12) of its ``data.object`` and a full example envelope."""
    found = catalog.get(event_type, entitlements=ctx.entitlements)
    if found is None:
        raise NotFound(f"unknown event type {event_type!r}; see GET /v1/event-types")
    return JSON(
        {
            "type": found.type,
            "family": found.family,
            "description": found.description,
            "schema": event_schemas.schema(found.type),
            "example": event_schemas.example(found.type),
        }
    )


@router.post("/v1/events", status_code=202, openapi_extra=_EVENTS_BODY)
async def post_events(request: Request, ctx: Ctx, caller: Caller, merchant: str | None = None) -> JSON:
    """Accept one event or a batch (as the platform); idempotent on the event id."""
    body = await json_body(request)
    batch = isinstance(body, dict) and "events" in body
    if batch:
        merchant = merchant or body.get("merchant")
        if merchant is not None and not isinstance(merchant, str):
            raise Invalid("merchant must be a merchant id", fields={"merchant": "not a string"})
        if not isinstance(body["events"], list):
            raise Invalid("events must be a list of events", fields={"events": "not a list"})
    merchant_id = await auth.merchant_for(ctx, caller, merchant)
    results = await ingest.ingest(ctx, merchant_id, body["events"] if batch else [body])
    answers = [{"id": r.id, "deliveries": r.deliveries} for r in results]
    return JSON(answers if batch else answers[0], status_code=202)


@router.get("/v1/events", responses=PAGE)
async def list_events(
    ctx: Ctx,
    merchant_id: MerchantId,
    limit: Limit = 50,
    cursor: str | None = None,
    event_type: EventTypeQuery = None,
    type: EventTypeQuery = None,  # the older spelling of ``event_type``
    flagged: bool | None = None,
) -> JSON:
    """The merchant's events as accepted, newest first."""
    types = deliveries.event_types(ctx, event_type, type)
    raw = decode_cursor(cursor)
    before = None
    if raw:
        received, _, last_id = raw.partition("|")
        at = numerals.decimal(received)
        if at is None:
            raise Invalid("the cursor is not one this API gave out", fields={"cursor": "invalid"})
        before = (at, last_id)
    rows = await deliveries.event_page(ctx, merchant_id, limit, before, types, flagged)
    nxt = encode_cursor(f"{rows[-1].received!r}|{rows[-1].event.id}") if len(rows) == limit else None
    return JSON({"data": [render.event(r) for r in rows], "next_cursor": nxt})


@router.get("/v1/events/{event_id}")
async def get_event(event_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """One event as accepted."""
    return JSON(render.event(await deliveries.event(ctx, merchant_id, event_id)))
