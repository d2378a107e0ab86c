"""``/v1/routes/{id}/listen``: the stream ``hookline listen`` reads a listener route's deliveries from, and
where it reports what its local URL answered (docs/listen.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from hookline.api import problems
from hookline.api.deps import MerchantId, context_of
from hookline.api.schemas import ListenReportIn
from hookline.core.models import ErrorKind
from hookline.sender import listener
from hookline.service.listening import Hub

router = APIRouter(prefix="/v1/routes", tags=["routes"])
STREAM_SUFFIX = "/listen"  # the stream's path ends so (``server`` ends such streams when it shuts down)
STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events: `ready` once, then a `delivery` per delivery (its id, event "
        "type, attempt, timeout, the exact `headers` and the base64 `body` to send), comments while idle.",
        "content": {"text/event-stream": {}},
    },
    409: {
        "description": "The route's target is not a listener (`listen://<name>`)",
        "content": problems.RESPONSES["4XX"]["content"],
    },
}


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.runtime.listening
    return hub


@router.get("/{route_id}/listen", response_class=StreamingResponse, responses=STREAM)
async def listen(route_id: str, request: Request, merchant_id: MerchantId) -> StreamingResponse:
    """Listen to a route whose target is a listener (`listen://<name>`): its deliveries, as they are due,
    one at a time, each waiting for its report. A merchant key (or the operator's acting for the merchant)."""
    session = await hub_of(request).open(context_of(request), merchant_id, route_id)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(session.events(), media_type="text/event-stream", headers=headers)


@router.post("/{route_id}/listen/{delivery_id}", status_code=204)
async def report(
    route_id: str, delivery_id: str, body: ListenReportIn, request: Request, merchant_id: MerchantId
) -> Response:
    """Report what the local URL answered to a delivery of the stream; it is recorded as the attempt."""
    told = listener.Report(
        duration_ms=body.duration_ms,
        status=body.response_status,
        headers=body.response_headers,
        body=body.response_body,
        error_kind=ErrorKind(body.error_kind) if body.error_kind else None,
        error=body.error,
    )
    hub_of(request).report(merchant_id, route_id, delivery_id, told)
    return Response(status_code=204)
