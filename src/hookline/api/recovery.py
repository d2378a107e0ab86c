"""Recovery and testing: ``/v1/routes/{id}/resend``, ``/replay``, ``/test-events``, and ``/v1/jobs``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr

from hookline.api import openapi, render
from hookline.api.deps import PAGE, Caller, Ctx, Limit, MerchantId, decode_cursor, next_cursor
from hookline.api.render import JSON
from hookline.api.schemas import Body
from hookline.service import auth, recovery, testevents, time_inputs

router = APIRouter(tags=["recovery"])

Time = Annotated[StrictInt | StrictFloat | StrictStr, Field(json_schema_extra=openapi.TIME)]
Resendable = Annotated[str, Field(json_schema_extra=openapi.RESENDABLE)]
TestEventType = Annotated[str, Field(json_schema_extra=openapi.TEST_EVENT_TYPE)]


class ResendIn(Body):
    status: list[Resendable] | None = Field(default=None, max_length=3)
    since: Time | None = None
    until: Time | None = None
    # True: answer 200 {"count"} (how many it would resend) and change nothing.
    dry_run: StrictBool = False
    merchant: str | None = None


class ReplayIn(Body):
    since: Time
    until: Time | None = None
    # Snapshots as they were when each event was accepted (the default); false: as the objects are now.
    point_in_time: StrictBool = True
    # True: answer 200 {"count"} (how many events it would go through) and change nothing.
    dry_run: StrictBool = False
    merchant: str | None = None


class TestEventsIn(Body):
    event_types: list[TestEventType] | None = Field(default=None, max_length=100)
    merchant: str | None = None


# A dry run answers 200 with the count instead of 202 with a job.
DRY_RUN: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'With `"dry_run": true`: how many it would do; nothing is changed.',
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"count": {"type": "integer", "minimum": 0}},
                    "required": ["count"],
                }
            }
        },
    }
}


async def _merchant(ctx: Ctx, caller: Caller, query: str | None, body: str | None) -> str:
    return await auth.merchant_for(ctx, caller, query or body)


@router.post("/v1/routes/{route_id}/resend", status_code=202, responses=DRY_RUN)
async def resend_route(
    route_id: str, ctx: Ctx, caller: Caller, body: ResendIn | None = None, merchant: str | None = None
) -> JSON:
    """Resend the route's deliveries in some statuses, created in a window, as a background job.
    ``"dry_run": true`` answers 200 ``{"count"}``, how many deliveries it would resend, and changes
    nothing."""
    body = body or ResendIn()
    merchant_id = await _merchant(ctx, caller, merchant, body.merchant)
    since, until = time_inputs.parse_time(body.since, "since"), time_inputs.parse_time(body.until, "until")
    if body.dry_run:
        count = await recovery.count_resend(ctx, merchant_id, route_id, body.status, since, until)
        return JSON({"count": count})
    job = await recovery.start_resend(ctx, merchant_id, route_id, body.status, since, until)
    return JSON({"job": render.job(job)}, status_code=202)


@router.post("/v1/routes/{route_id}/replay", status_code=202, responses=DRY_RUN)
async def replay_route(
    route_id: str, body: ReplayIn, ctx: Ctx, caller: Caller, merchant: str | None = None
) -> JSON:
    """Deliver the events received in ``[since, until)`` to this route again, as new deliveries built with
    its current settings (a background job). Replays are point in time: each snapshot shows the objects as
    they were when its event was accepted, the original body when the settings are unchanged;
    ``"point_in_time": false`` shows them as they are now. ``"dry_run": true`` answers 200 ``{"count"}``,
    how many events it would go through (one with an open delivery on the route is skipped when it runs),
    and changes nothing."""
    merchant_id = await _merchant(ctx, caller, merchant, body.merchant)
    since, until = time_inputs.parse_time(body.since, "since"), time_inputs.parse_time(body.until, "until")
    assert since is not None  # required by ReplayIn
    if body.dry_run:
        return JSON({"count": await recovery.count_replay(ctx, merchant_id, route_id, since, until)})
    job = await recovery.start_replay(
        ctx, merchant_id, route_id, since, until, point_in_time=body.point_in_time
    )
    return JSON({"job": render.job(job)}, status_code=202)


@router.post("/v1/routes/{route_id}/test-events", status_code=202)
async def send_test_events(
    route_id: str, ctx: Ctx, caller: Caller, body: TestEventsIn | None = None, merchant: str | None = None
) -> JSON:
    """Deliver realistic fake events to this route only, one per event type."""
    body = body or TestEventsIn()
    merchant_id = await _merchant(ctx, caller, merchant, body.merchant)
    sent = await testevents.send(ctx, merchant_id, route_id, body.event_types)
    return JSON({"deliveries": sent.deliveries, "events": sent.events}, status_code=202)


@router.get("/v1/jobs", responses=PAGE)
async def list_jobs(
    ctx: Ctx,
    merchant_id: MerchantId,
    limit: Limit = 50,
    cursor: str | None = None,
    route_id: str | None = None,
) -> JSON:
    """The merchant's resend and replay jobs with their progress."""
    rows = await recovery.page(ctx, merchant_id, limit, decode_cursor(cursor), route_id)
    return JSON({"data": [render.job(r) for r in rows], "next_cursor": next_cursor(rows, limit)})


@router.get("/v1/jobs/{job_id}")
async def get_job(job_id: str, ctx: Ctx, merchant_id: MerchantId) -> JSON:
    """One resend or replay job with its progress."""
    return JSON(render.job(await recovery.get(ctx, merchant_id, job_id)))
