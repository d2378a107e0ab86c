"""The Deliveries page: every delivery of the merchant across its webhooks, newest first, filtered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core.errors import Invalid
from hookline.core.models import Delivery, DeliveryStatus
from hookline.dashboard import live, web
from hookline.dashboard.session import acting
from hookline.service import deliveries, routes, time_inputs
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
    customer_id, customer_email = customer_of(form["customer"])
    since, until = time_window(form)
    return Filters(
        route_id=form["route_id"] or None,
        status=tuple(form["status"]),
        event_types=tuple(event_types_of(ctx, form["event_type"])),
        customer_id=customer_id,
        customer_email=customer_email,
        since=since,
        until=until,
    )


def event_types_of(ctx: Context, text: str) -> list[str]:
    """The event types the Event type field names; Invalid in the page's words."""
    try:
        return deliveries.event_types(ctx, text)
    except Invalid:
        raise Invalid(
            f"There is no event type “{text}”. Type one such as order.success, or a family such as order.*; "
            "the Event types page lists them all."
        ) from None


def time_window(form: dict[str, Any]) -> tuple[float | None, float | None]:
    """The From and Until fields as times; Invalid in the page's words, also for a window with no time in
    it (From not before Until)."""
    found: dict[str, float | None] = {}
    for name, label in (("since", "From"), ("until", "Until")):
        try:
            found[name] = time_inputs.parse_time(form[name] or None, name)
        except Invalid:
            raise Invalid(f"“{label}” is not a date and time: pick one, or leave it empty.") from None
    since, until = found["since"], found["until"]
    if since is not None and until is not None and since >= until:
        raise Invalid("“From” is not before “Until”, so nothing can match: swap them, or widen the window.")
    return since, until


def customer_of(value: str) -> tuple[str | None, str | None]:
    """The Customer field as (customer id, customer email): a value with an @ is an email, matched against
    the stored customers' emails (stored lower-cased); anything else a customer id."""
    if not value:
        return None, None
    return (None, value.lower()) if "@" in value else (value, None)


def field_time(value: str) -> str:
    """A time as a ``datetime-local`` field shows it (UTC, to the second); what is not a time, as sent."""
    try:
        seconds = time_inputs.parse_time(value or None, "time")
    except Invalid:
        return value
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


async def route_names_of(ctx: Context, merchant_id: str) -> dict[str, str]:
    rows = await routes.page(ctx, merchant_id, ROUTES_LISTED, None)
    return {r.id: r.name for r in rows}


async def delivery_log(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    form = form_of(request.query_params)
    before = request.query_params.get("before", "").strip()[:MAX_TEXT] or None
    route_names = await route_names_of(ctx, merchant_id)
    try:
        filters = filters_of(ctx, form, route_names)
    except Invalid as exc:
        return page(request, form, route_names, [], None, 400, exc.detail, {})
    found = await deliveries.page(ctx, merchant_id, filters, PER_PAGE + 1, before)
    more = found[PER_PAGE - 1].id if len(found) > PER_PAGE else None
    shown = found[:PER_PAGE]
    customers = await deliveries.customers_of_events(ctx, merchant_id, [d.event_id for d in shown])
    return page(request, form, route_names, shown, more, 200, None, customers)


def page(
    request: Request,
    form: dict[str, Any],
    route_names: dict[str, str],
    found: list[Delivery],
    more: str | None,
    status: int,
    error: str | None,
    customers: dict[str, str],
) -> Response:
    query = [(k, v) for k, v in form.items() if k != "status" and v] + [("status", s) for s in form["status"]]
    paged = "before" in request.query_params
    return web.page(
        request,
        "_delivery_log_results.html" if live.partial(request) else "deliveries.html",
        status,
        live=None if paged or error else live.url(request, "/deliveries", query),
        form=form,
        # The fields show the times as the browser's date picker takes them; the Next link keeps them as sent.
        shown={k: field_time(form[k]) for k in ("since", "until")},
        route_names=route_names,
        statuses=list(DeliveryStatus),
        deliveries=found,
        customers=customers,
        next_query=urlencode([*query, ("before", more)]) if more else None,
        filtered=any(form.values()) or paged,
        error=error,
    )


ROUTES = [Route("/deliveries", delivery_log, methods=["GET"])]
