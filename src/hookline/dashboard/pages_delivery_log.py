"""The Deliveries page: every delivery of the merchant across its webhooks, newest first, filtered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.dashboard import web
from hookline.dashboard.session import acting
from hookline.errors import Invalid
from hookline.models import DeliveryStatus
from hookline.service import deliveries, routes, times
from hookline.service.context import Context
from hookline.storage.deliveries import Filters

PER_PAGE = 50
ROUTES_LISTED = 500  # the webhook filter's choices (and the names of the Webhook column)
MAX_TEXT = 200


def form_of(params: QueryParams) -> dict[str, Any]:
    """The filter form's values, as sent (trimmed and cut short), to show them again."""
    return {
        "route_id": params.get("route_id", "").strip()[:MAX_TEXT],
        "status": [s for s in params.getlist("status") if s][: len(DeliveryStatus) + 1],
        "event_type": params.get("event_type", "").strip()[:MAX_TEXT],
        "customer": params.get("customer", "").strip()[:MAX_TEXT],
        "since": params.get("since", "").strip()[:MAX_TEXT],
        "until": params.get("until", "").strip()[:MAX_TEXT],
    }


def filters_of(ctx: Context, form: dict[str, Any], route_names: dict[str, str]) -> Filters:
    """The storage filters the form asks for; Invalid with a message for a value that cannot be one."""
    if form["route_id"] and form["route_id"] not in route_names:
        raise Invalid("There is no such webhook.")
    bad = [s for s in form["status"] if s not in DeliveryStatus.__members__.values()]
    if bad:
        raise Invalid(f"Unknown status {', '.join(bad)}: choose among {', '.join(DeliveryStatus)}.")
    customer = form["customer"]
    # An email (it has an @) is matched against the stored customers' emails, stored lower-cased.
    by_email = "@" in customer
    return Filters(
        route_id=form["route_id"] or None,
        status=tuple(form["status"]),
        event_types=tuple(deliveries.event_types(ctx, form["event_type"])),
        customer_id=customer if customer and not by_email else None,
        customer_email=customer.lower() if by_email else None,
        since=times.parse_time(form["since"] or None, "since"),
        until=times.parse_time(form["until"] or None, "until"),
    )


def field_time(value: str) -> str:
    """A time as a ``datetime-local`` field shows it (UTC, to the second); what is not a time, as sent."""
    try:
        seconds = times.parse_time(value or None, "time")
    except Invalid:
        return value
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


async def route_names_of(ctx: Context, merchant_id: str) -> dict[str, str]:
    rows = await routes.page(ctx, merchant_id, ROUTES_LISTED, None)
    return {r["id"]: r["name"] for r in rows}


async def delivery_log(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    form = form_of(request.query_params)
    before = request.query_params.get("before", "").strip()[:MAX_TEXT] or None
    route_names = await route_names_of(ctx, merchant_id)
    try:
        filters = filters_of(ctx, form, route_names)
    except Invalid as exc:
        return page(request, form, route_names, [], None, 400, exc.detail)
    found = await deliveries.page(ctx, merchant_id, filters, PER_PAGE + 1, before)
    more = found[PER_PAGE - 1]["id"] if len(found) > PER_PAGE else None
    return page(request, form, route_names, found[:PER_PAGE], more, 200, None)


def page(
    request: Request,
    form: dict[str, Any],
    route_names: dict[str, str],
    found: list[dict[str, Any]],
    more: str | None,
    status: int,
    error: str | None,
) -> Response:
    query = [(k, v) for k, v in form.items() if k != "status" and v] + [("status", s) for s in form["status"]]
    return web.page(
        request,
        "deliveries.html",
        status,
        form=form,
        # The fields show the times as the browser's date picker takes them; the Next link keeps them as sent.
        shown={k: field_time(form[k]) for k in ("since", "until")},
        route_names=route_names,
        statuses=list(DeliveryStatus),
        deliveries=found,
        next_query=urlencode([*query, ("before", more)]) if more else None,
        filtered=any(form.values()) or "before" in request.query_params,
        error=error,
    )


ROUTES = [Route("/deliveries", delivery_log, methods=["GET"])]
