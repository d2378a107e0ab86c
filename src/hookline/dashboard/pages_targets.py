"""The Targets page: the merchant's receiving URLs, and each target's page (its URL changed in place, so it
keeps its keys; enabled or disabled; its secrets and public key; a key rotation with its overlap; the
webhooks that send to it).

The same service as ``/v1/targets``: a URL change is the API's ``PATCH`` with ``url`` alone, which keeps the
signing key; disabling cancels the pending and held deliveries of the target's webhooks, so it asks first.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core import models
from hookline.core.errors import Invalid, NotFound
from hookline.core.models import Target
from hookline.dashboard import signing_keys, web
from hookline.dashboard.session import acting
from hookline.service import routes, targets
from hookline.service.context import Context

LISTED = 500  # targets on the page, and routes looked at to say which webhooks use each

# Actions that ask first: the question, its warning, and the button.
ASK = {
    "disable": (
        "Disable this target?",
        "Its webhooks' pending and held deliveries are canceled, and no new ones are sent to it until it "
        "is enabled again.",
        "Disable",
    ),
    "rotate": (
        "Create a new signing key?",
        "The current key (and its Standard Webhooks secret and public key) keeps signing alongside the new "
        "one for 24 hours, so you can update your receiver without losing deliveries. Every webhook that "
        "sends to this target gets the new key.",
        "Create a new key",
    ),
}


async def _routes_by_target(ctx: Context, merchant_id: str) -> dict[str, list[models.Route]]:
    found: dict[str, list[models.Route]] = {}
    for row in await routes.page(ctx, merchant_id, LISTED, None):
        found.setdefault(row.target_id, []).append(row)
    return found


async def target_list(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    rows = await targets.page(ctx, merchant_id, LISTED, None)
    used = await _routes_by_target(ctx, merchant_id)
    listed = [{"target": row, "routes": used.get(row.id, [])} for row in rows]
    return web.page(request, "targets.html", rows=listed)


async def _page(
    request: Request, merchant_id: str, target: Target, status: int = 200, **values: Any
) -> Response:
    ctx = web.context(request)
    keys = signing_keys.keys_of(target, ctx.clock())
    revealed = request.query_params.get("reveal") == "1"  # without JavaScript, Reveal reloads the page
    values.setdefault("url_value", target.url)
    values.setdefault("url_error", None)
    return web.page(
        request,
        "target.html",
        status,
        target=target,
        routes=(await _routes_by_target(ctx, merchant_id)).get(target.id, []),
        keys=keys if revealed else None,
        public_key=keys["public_key"],
        rotation=keys["signing_key_expiry"],
        jwks=f"/jwks/{target.id}.json",
        **values,
    )


async def target_page(request: Request) -> Response:
    _, merchant_id = await acting(request)
    target = await targets.get(web.context(request), merchant_id, request.path_params["target_id"])
    return await _page(request, merchant_id, target)


async def target_keys(request: Request) -> Response:
    """The target's keys, for the Reveal buttons (never cached)."""
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    return signing_keys.revealed(
        await targets.get(ctx, merchant_id, request.path_params["target_id"]), ctx.clock()
    )


async def change_url(request: Request) -> Response:
    """A new URL for the target, in place: its keys stay as they are (the API's PATCH with ``url``)."""
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    form = await web.read_form(request, session.csrf)
    target = await targets.get(ctx, merchant_id, request.path_params["target_id"])
    url = web.text(form, "url")
    if url == target.url:
        return web.redirect(request, f"/targets/{target.id}", notice="target_unchanged")
    try:
        await targets.update(ctx, merchant_id, target.id, url=url)
    except Invalid as exc:
        fields = exc.fields or {}
        problem = fields.get("url") or fields.get("destination") or exc.detail
        return await _page(request, merchant_id, target, 400, url_value=url, url_error=problem)
    return web.redirect(request, f"/targets/{target.id}", notice="target_url_changed")


async def ask(request: Request) -> Response:
    _, merchant_id = await acting(request)
    action = request.path_params["action"]
    if action not in ASK:
        raise NotFound(f"no action {action}")
    target = await targets.get(web.context(request), merchant_id, request.path_params["target_id"])
    heading, line, button = ASK[action]
    here = f"{web.base(request)}/targets/{target.id}"
    return web.page(
        request,
        "ask.html",
        route=None,
        heading=heading,
        lines=[f"Target {target.url}", line],
        warning=None,
        action=f"{here}/do/{action}",
        hidden=[],
        button=button,
        cancel=here,
    )


async def act(request: Request) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    action = request.path_params["action"]
    target_id = request.path_params["target_id"]
    form = await web.read_form(request, session.csrf)  # first: a read-only session hears it cannot change
    if action not in ("enable", "disable", "rotate"):
        raise NotFound(f"no action {action}")
    if action in ASK and web.text(form, "confirmed") != "1":
        return web.redirect(request, f"/targets/{target_id}/confirm/{action}")
    if action == "rotate":
        await targets.rotate(ctx, merchant_id, target_id)
        return web.redirect(request, f"/targets/{target_id}", notice="target_rotated", reveal="1")
    await targets.update(ctx, merchant_id, target_id, enabled=action == "enable")
    return web.redirect(request, f"/targets/{target_id}", notice=f"target_{action}d")


ROUTES = [
    Route("/targets", target_list, methods=["GET"]),
    Route("/targets/{target_id}", target_page, methods=["GET"]),
    Route("/targets/{target_id}/keys", target_keys, methods=["GET"]),
    Route("/targets/{target_id}/url", change_url, methods=["POST"]),
    Route("/targets/{target_id}/confirm/{action}", ask, methods=["GET"]),
    Route("/targets/{target_id}/do/{action}", act, methods=["POST"]),
]
