"""A webhook's details (counters, charts, delivery search) and the delivery card with every attempt."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core import models, routing
from hookline.core.errors import Conflict, NotFound
from hookline.core.models import Delivery, DeliveryStatus
from hookline.dashboard import signing_keys, snippets, stats, web
from hookline.dashboard.session import acting
from hookline.service import deliveries, recovery, routes, targets
from hookline.storage.deliveries import Filters

DELIVERIES_PER_PAGE = 25
RECENT_JOBS = 5
# The delivery search: one field to search by, as Ordergroove's Deliveries Search.
SEARCH_BY = {
    "customer_id": "Customer ID",
    "customer_email": "Customer email",
    "event_id": "Event ID",
    "object_id": "Object ID",
}
RESENDABLE = (DeliveryStatus.FAILED, DeliveryStatus.CANCELED, DeliveryStatus.SUCCESS)


def search_of(request: Request, route: models.Route, entitlements: bool) -> dict[str, Any]:
    """The search form's values, kept as sent (unknown choices fall back to the defaults)."""
    params = request.query_params
    by = params.get("by", "customer_id")
    status = params.get("status", "")
    event_type = params.get("event_type", "")
    types = type_choices(routing.expand(route.event_types, entitlements=entitlements))
    return {
        "by": by if by in SEARCH_BY else "customer_id",
        "q": params.get("q", "").strip()[:200],
        "status": status if status in DeliveryStatus.__members__.values() else "",
        "event_type": event_type if event_type in types else "",
        "types": types,
        "entitlements": entitlements,
        "before": params.get("before") or None,
    }


def type_choices(types: list[str]) -> list[str]:
    """The event type filter's choices: each family of two or more types as a wildcard (``order.*``, as
    routes write it), then each type."""
    families = [t.partition(".")[0] for t in types]
    wildcards = [f"{f}.*" for f in dict.fromkeys(families) if families.count(f) > 1]
    return wildcards + types


def span_of(request: Request) -> str:
    """The charts' range (``?range=7d``); an unknown one is the default."""
    chosen = request.query_params.get("range", "")
    return chosen if chosen in stats.RANGES else stats.DEFAULT_RANGE


def filters_of(route_id: str, search: dict[str, Any]) -> Filters:
    value = search["q"].lower() if search["by"] == "customer_email" else search["q"]  # stored lower-cased
    query = {search["by"]: value} if value else {}
    chosen = search["event_type"]
    return Filters(
        route_id=route_id,
        status=(search["status"],) if search["status"] else (),
        event_types=tuple(routing.selected(chosen, entitlements=search["entitlements"])) if chosen else (),
        **query,
    )


async def details(request: Request) -> Response:
    _, merchant_id = await acting(request)
    row = await routes.get(web.context(request), merchant_id, request.path_params["route_id"])
    return await details_page(request, merchant_id, row)


async def details_page(
    request: Request,
    merchant_id: str,
    row: models.Route,
    bulk: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The details page; ``bulk`` keeps a refused resend or replay form's values and errors."""
    ctx = web.context(request)
    target = await targets.get(ctx, merchant_id, row.target_id)
    search = search_of(request, row, ctx.entitlements)
    found = await deliveries.page(
        ctx, merchant_id, filters_of(row.id, search), DELIVERIES_PER_PAGE, search["before"]
    )
    older = found[-1].id if len(found) == DELIVERIES_PER_PAGE else None
    keys = signing_keys.keys_of(target, ctx.clock())
    # Without JavaScript, Reveal reloads the page with ?reveal=1: only then are the secrets in it.
    revealed = request.query_params.get("reveal") == "1"
    return web.page(
        request,
        "route_details.html",
        status,
        route=row,
        target=target,
        search=search,
        search_by=SEARCH_BY,
        statuses=list(DeliveryStatus),
        deliveries=found,
        older=older,
        search_query=urlencode({k: search[k] for k in ("by", "q", "status", "event_type") if search[k]}),
        stats=await stats.details(ctx, merchant_id, row.id, span_of(request)),
        jobs=await recovery.page(ctx, merchant_id, RECENT_JOBS, None, row.id),
        bulk={"errors": {}, "values": {}, **(bulk or {})},
        resendable=[s.value for s in RESENDABLE],
        secrets=keys if revealed else None,
        rotation=keys["signing_key_expiry"],
        snippets=snippets.SNIPPETS,
    )


async def delivery(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    row, tried = await deliveries.get(ctx, merchant_id, request.path_params["delivery_id"])
    try:
        route = await routes.get(ctx, merchant_id, row.route_id)
    except NotFound:  # the webhook was deleted since: the delivery stays readable
        route = None
    return web.page(
        request,
        "delivery.html",
        delivery=row,
        attempts=list(reversed(tried)),
        payload=row.payload or b"",
        route=route,
        resendable=row.status in RESENDABLE,
        error=None,
    )


def _not_resendable(request: Request, row: Delivery) -> Response:
    return web.error_page(request, 409, f"This delivery is {row.status}: only a finished one can be resent.")


async def confirm_resend(request: Request) -> Response:
    """Ask before sending a delivery again (warning about one that succeeded: the receiver has it)."""
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    row, _ = await deliveries.get(ctx, merchant_id, request.path_params["delivery_id"])
    if row.status not in RESENDABLE:
        return _not_resendable(request, row)
    lines = ["It is sent again to the webhook's target, with a fresh set of attempts."]
    warning = None
    if row.status == DeliveryStatus.SUCCESS:
        answered = f" (HTTP {row.last_response_status})" if row.last_response_status else ""
        warning = (
            f"This delivery already succeeded{answered} on {web.when(row.completed)}: your receiver "
            "gets it a second time, with the same event id."
        )
    base = web.base(request)
    return web.page(
        request,
        "ask.html",
        route=None,
        heading="Resend this delivery?",
        lines=lines,
        warning=warning,
        action=f"{base}/deliveries/{row.id}/resend",
        hidden=[],
        button="Resend",
        cancel=f"{base}/deliveries/{row.id}",
    )


async def resend(request: Request) -> Response:
    session, merchant_id = await acting(request)
    form = await web.read_form(request, session.csrf)
    ctx = web.context(request)
    delivery_id = request.path_params["delivery_id"]
    row, _ = await deliveries.get(ctx, merchant_id, delivery_id)
    if row.status not in RESENDABLE:
        return _not_resendable(request, row)
    if web.text(form, "confirmed") != "1":
        return web.redirect(request, f"/deliveries/{delivery_id}/resend")  # it asks first
    try:
        await deliveries.resend(ctx, merchant_id, delivery_id)
    except Conflict as exc:
        return web.error_page(request, 409, exc.detail)
    return web.redirect(request, f"/deliveries/{delivery_id}", notice="resent")


ROUTES = [
    Route("/routes/{route_id}", details, methods=["GET"]),
    Route("/deliveries/{delivery_id}", delivery, methods=["GET"]),
    Route("/deliveries/{delivery_id}/resend", confirm_resend, methods=["GET"]),
    Route("/deliveries/{delivery_id}/resend", resend, methods=["POST"]),
]
