"""The API keys page: the acting merchant's keys, a new one (shown once), and revoking one after a question.

The same service as ``/v1/merchants/{id}/api-keys``. The page never revokes the merchant's last active key,
even for the operator (the API lets the operator cut a merchant off; the dashboard does not offer it), so
the refusal is the service's own, shown as a message. Portal sessions do not see API keys at all: the
platform holds them, not its merchants' staff.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core.errors import Conflict, Forbidden, NotFound
from hookline.core.models import ApiKey
from hookline.dashboard import web
from hookline.dashboard.session import acting
from hookline.service import merchants

NOT_IN_PORTAL = "API keys are managed by the platform, not in this portal."
SENT_BEFORE = (
    "This form was sent before (by reloading the page that showed a new key, or from another tab). A key "
    "is shown only once: create another one below if you need it."
)


async def _acting(request: Request, *, change: bool = False) -> tuple[str, FormData | None]:
    """The session's merchant, and a change's form; the form is read (CSRF, read-only) before the portal
    check, so a read-only session hears that it cannot change anything, as on every other page."""
    session, merchant_id = await acting(request)
    form = await web.read_form(request, session.csrf) if change else None
    if session.portal:
        raise Forbidden(NOT_IN_PORTAL)
    return merchant_id, form


async def _list(request: Request, merchant_id: str, status: int = 200, **values: Any) -> Response:
    rows = await merchants.keys(web.context(request), merchant_id)
    active = [r for r in rows if r.revoked is None]
    revoked = [r for r in rows if r.revoked is not None]
    values.setdefault("new_key", None)
    values.setdefault("problem", None)
    values.setdefault("problem_title", "The key was not revoked")
    newest = _newest(rows)
    return web.page(request, "api_keys.html", status, active=active, revoked=revoked, newest=newest, **values)


def _newest(rows: list[ApiKey]) -> str | None:
    """The id of the newest key, revoked or not (ids sort by creation)."""
    return max((r.id for r in rows), default=None)


async def key_list(request: Request) -> Response:
    merchant_id, _ = await _acting(request)
    return await _list(request, merchant_id)


async def create_key(request: Request) -> Response:
    """A new key, shown in this answer only (the page is not cached and not redirected to). The same form
    sent again (a reload of this answer) makes no second key."""
    merchant_id, form = await _acting(request, change=True)
    ctx = web.context(request)
    if web.sent_before(form or {}, _newest(await merchants.keys(ctx, merchant_id))):
        return await _list(request, merchant_id, 409, problem=SENT_BEFORE, problem_title="No key was made")
    row, key = await merchants.add_key(ctx, merchant_id)
    return await _list(request, merchant_id, 201, new_key={"id": row.id, "key": key})


async def _active(request: Request, merchant_id: str, key_id: str) -> ApiKey:
    for row in await merchants.keys(web.context(request), merchant_id):
        if row.id == key_id and row.revoked is None:
            return row
    raise NotFound(f"API key {key_id} not found")


async def confirm_revoke(request: Request) -> Response:
    merchant_id, _ = await _acting(request)
    key = await _active(request, merchant_id, request.path_params["key_id"])
    return web.page(request, "api_key_revoke.html", key=key)


async def revoke_key(request: Request) -> Response:
    merchant_id, _ = await _acting(request, change=True)
    key_id = request.path_params["key_id"]
    try:
        await merchants.revoke_key(web.context(request), merchant_id, key_id, by_operator=False)
    except Conflict:
        problem = "This is the last active key: create a new key first, then revoke this one."
        return await _list(request, merchant_id, 409, problem=problem)
    return web.redirect(request, "/api-keys", notice="key_revoked")


ROUTES = [
    Route("/api-keys", key_list, methods=["GET"]),
    Route("/api-keys", create_key, methods=["POST"]),
    Route("/api-keys/{key_id}/revoke", confirm_revoke, methods=["GET"]),
    Route("/api-keys/{key_id}/revoke", revoke_key, methods=["POST"]),
]
