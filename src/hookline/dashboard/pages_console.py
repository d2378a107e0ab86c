"""The operator's console: every merchant with its health, a new merchant (its first key shown once), and
finding a delivery of any merchant by its id or its event's id.

Only the operator reaches these pages (a merchant gets 403). Choosing a merchant, its keys or a delivery
found goes through ``session.choose_merchant``: the session then acts for that merchant, and the keys page
(``pages_keys``) and delivery page are the merchant's own.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core.errors import Forbidden, Invalid
from hookline.dashboard import web
from hookline.dashboard.session import Session, current
from hookline.service import console, merchants

MERCHANTS_PER_PAGE = 50
MAX_FIND = 200
OPERATOR_ONLY = "Only the operator can see every merchant."
SENT_BEFORE = (
    "No merchant was made: this form was sent before (by reloading the page that showed a new merchant's "
    "key, or from another tab). Check the list above; send the form again if you do want another one."
)


async def _operator(request: Request) -> Session:
    session = await current(request)
    if not session.operator:
        raise Forbidden(OPERATOR_ONLY)
    return session


async def _list(request: Request, status: int = 200, **values: Any) -> Response:
    ctx = web.context(request)
    cursor = request.query_params.get("after") or None
    wanted = request.query_params.get("find", "").strip()[:MAX_FIND]
    if wanted:  # a search: the first page of what matches, no paging
        rows, after = await merchants.matching(ctx, wanted, MERCHANTS_PER_PAGE), None
    else:
        rows = await merchants.page(ctx, MERCHANTS_PER_PAGE, cursor)
        after = rows[-1].id if len(rows) == MERCHANTS_PER_PAGE else None
    health = await console.health(ctx, [r.id for r in rows])
    values.setdefault("errors", {})
    values.setdefault("name", "")
    values.setdefault("problem", None)
    values["newest"] = rows[0].id if rows and not (cursor or wanted) else await _newest(request)
    values["find"] = wanted
    values["most"] = MERCHANTS_PER_PAGE
    since = int(ctx.clock() - console.HEALTH_WINDOW_S)  # the failed counters link to these deliveries
    return web.page(
        request, "merchants.html", status, merchants=rows, health=health, after=after, since=since, **values
    )


async def _newest(request: Request) -> str | None:
    """The id of the newest merchant (ids sort by creation)."""
    newest = await merchants.page(web.context(request), 1, None)
    return newest[0].id if newest else None


async def merchant_list(request: Request) -> Response:
    await _operator(request)
    return await _list(request)


async def create_merchant(request: Request) -> Response:
    """A new merchant; its first API key is shown in this answer only."""
    session = await current(request)
    form = await web.read_form(request, session.csrf)  # first: a read-only session hears it cannot change
    await _operator(request)
    name = web.text(form, "name")
    if web.sent_before(form, await _newest(request)):
        return await _list(request, 409, problem=SENT_BEFORE)
    try:
        row, key = await merchants.create(web.context(request), name)
    except Invalid as exc:
        return await _list(request, 400, errors={"name": exc.detail}, name=name)
    return web.page(request, "merchant_created.html", 201, merchant=row, key=key)


async def search(request: Request) -> Response:
    await _operator(request)
    wanted = request.query_params.get("q", "").strip()
    found = await console.find(web.context(request), wanted) if wanted else []
    return web.page(request, "merchant_search.html", q=wanted, found=found)


ROUTES = [
    Route("/merchants", merchant_list, methods=["GET"], name="merchants"),
    Route("/merchants/new", create_merchant, methods=["POST"]),
    Route("/merchants/search", search, methods=["GET"]),
]
