"""The API keys page: the acting merchant's keys, a new one (shown once), and revoking one after a question.

The same service as ``/v1/merchants/{id}/api-keys``. The page never revokes the merchant's last active key,
even for the operator (the API lets the operator cut a merchant off; the dashboard does not offer it), so
the refusal is the service's own, shown as a message. Portal sessions do not see API keys at all: the
platform holds them, not its merchants' staff.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core.errors import Conflict, Forbidden, NotFound
from hookline.core.models import ApiKey
from hookline.dashboard import web
from hookline.dashboard.session import Session, acting
from hookline.service import merchants

NOT_IN_PORTAL = "API keys are managed by the platform, not in this portal."


async def _acting(request: Request, *, change: bool = False) -> tuple[Session, str]:
    """The session and its merchant; a change's form is read (CSRF, read-only) before the portal check, so
    a read-only session hears that it cannot change anything, as on every other page."""
    session, merchant_id = await acting(request)
    if change:
        await web.read_form(request, session.csrf)
    if session.portal:
        raise Forbidden(NOT_IN_PORTAL)
    return session, merchant_id


async def _list(request: Request, merchant_id: str, status: int = 200, **values: Any) -> Response:
    rows = await merchants.keys(web.context(request), merchant_id)
    active = [r for r in rows if r.revoked is None]
    revoked = [r for r in rows if r.revoked is not None]
    values.setdefault("new_key", None)
    values.setdefault("problem", None)
    return web.page(request, "api_keys.html", status, active=active, revoked=revoked, **values)


async def key_list(request: Request) -> Response:
    _, merchant_id = await _acting(request)
    return await _list(request, merchant_id)


async def create_key(request: Request) -> Response:
    """A new key, shown in this answer only (the page is not cached and not redirected to)."""
    _, merchant_id = await _acting(request, change=True)
    row, key = await merchants.add_key(web.context(request), merchant_id)
    return await _list(request, merchant_id, 201, new_key={"id": row.id, "key": key})


async def _active(request: Request, merchant_id: str, key_id: str) -> ApiKey:
    for row in await merchants.keys(web.context(request), merchant_id):
        if row.id == key_id and row.revoked is None:
            return row
    raise NotFound(f"API key {key_id} not found")


async def confirm_revoke(request: Request) -> Response:
    _, merchant_id = await _acting(request)
    key = await _active(request, merchant_id, request.path_params["key_id"])
    return web.page(request, "api_key_revoke.html", key=key)


async def revoke_key(request: Request) -> Response:
    _, merchant_id = await _acting(request, change=True)
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
