"""The Events page: every event the merchant sent, newest first, filtered (type, customer, a time range),
with what each made on every webhook; and an event's page with its deliveries on every webhook."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core import numerals
from hookline.core.errors import Invalid
from hookline.core.models import StoredEvent
from hookline.dashboard import live, web
from hookline.dashboard.pages_delivery_log import (
    MAX_TEXT,
    customer_of,
    event_types_of,
    field_time,
    route_names_of,
    time_window,
)
from hookline.dashboard.session import acting
from hookline.service import deliveries
from hookline.service.context import Context
from hookline.storage.deliveries import Filters
from hookline.storage.events import About

PER_PAGE = 50
DELIVERIES_SHOWN = 100  # an event's deliveries on its page: one per webhook it matched


def form_of(params: QueryParams) -> dict[str, str]:
    """The filter form's values, as sent (trimmed and cut short), to show them again."""
    return {
        name: params.get(name, "").strip()[:MAX_TEXT] for name in ("event_type", "customer", "since", "until")
    }


def about_of(form: dict[str, str]) -> About:
    customer_id, customer_email = customer_of(form["customer"])
    since, until = time_window(form)
    return About(customer_id=customer_id, customer_email=customer_email, since=since, until=until)


def cursor_of(text: str) -> tuple[float, str] | None:
    """The Next link's ``before``: the last listed event's time received and id."""
    if not text:
        return None
    received, _, last_id = text.partition("|")
    at = numerals.decimal(received)
    if at is None or not last_id:
        raise Invalid("That is not a link to a page of events.")
    return at, last_id


async def event_log(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    form = form_of(request.query_params)
    before = request.query_params.get("before", "").strip()[: MAX_TEXT * 2]
    try:
        types = event_types_of(ctx, form["event_type"])
        about = about_of(form)
        cursor = cursor_of(before)
    except Invalid as exc:
        return await _page(request, ctx, merchant_id, form, [], None, 400, exc.detail)
    found = await deliveries.event_page(ctx, merchant_id, PER_PAGE + 1, cursor, types, None, about)
    last = found[PER_PAGE - 1] if len(found) > PER_PAGE else None
    more = f"{last.received!r}|{last.event.id}" if last else None
    return await _page(request, ctx, merchant_id, form, found[:PER_PAGE], more, 200, None)


async def _page(
    request: Request,
    ctx: Context,
    merchant_id: str,
    form: dict[str, str],
    found: list[StoredEvent],
    more: str | None,
    status: int,
    error: str | None,
) -> Response:
    query = [(k, v) for k, v in form.items() if v]
    paged = "before" in request.query_params
    made = await deliveries.statuses_of_events(ctx, merchant_id, [e.event.id for e in found])
    return web.page(
        request,
        "_events_results.html" if live.partial(request) else "events.html",
        status,
        form=form,
        shown={k: field_time(form[k]) for k in ("since", "until")},
        events=found,
        made=made,
        next_query=urlencode([*query, ("before", more)]) if more else None,
        filtered=any(form.values()) or paged,
        live=None if paged or error else live.url(request, "/events", query),
        error=error,
    )


async def event_page(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    row = await deliveries.event(ctx, merchant_id, request.path_params["event_id"])
    made = await deliveries.page(ctx, merchant_id, Filters(event_id=row.event.id), DELIVERIES_SHOWN, None)
    return web.page(
        request,
        "event.html",
        event=row,
        deliveries=made,
        route_names=await route_names_of(ctx, merchant_id),
        body=web.pretty(orjson.dumps({"object": row.event.object, "context": row.event.context})),
    )


ROUTES = [
    Route("/events", event_log, methods=["GET"]),
    Route("/events/{event_id:path}", event_page, methods=["GET"]),
]
