"""The payload preview of the create / edit form: the body a receiver would get, with the form's settings.

The preview service makes it from the form's settings, saved webhook or one still being created: a sample
about the merchant's test-event customer, with the snapshot that the ticked matrix cells add, then the field
selection and transformation typed in the form, before anything is saved.

The browser's small ``fetch()`` asks for JSON; without JavaScript the button posts the form and the form
page comes back with the preview filled in.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.core import catalog
from hookline.core.errors import Invalid, TooLarge, TooManyRequests
from hookline.dashboard import forms, web
from hookline.dashboard.pages_routes import form_page
from hookline.dashboard.session import acting
from hookline.service import preview, routes
from hookline.service.context import Context


def sample_types(*, entitlements: bool) -> list[str]:
    """The event types a preview can be made for: the platform's, not hookline's own notices."""
    return [
        t.type for t in catalog.event_types(entitlements=entitlements) if not catalog.is_operational(t.type)
    ]


def _chosen_type(ctx: Context, form: forms.RouteForm, wanted: str) -> str:
    offered = sample_types(entitlements=ctx.entitlements)
    if wanted in offered:
        return wanted
    first = preview.first_type(ctx, forms.patterns(form) or ["*"])
    return first if first in offered else offered[0]


async def render(ctx: Context, merchant_id: str, form: forms.RouteForm, wanted: str) -> str:
    """The body as text; Invalid (field ``transform`` or the paths) when the settings cannot make one."""
    settings = preview.Draft(
        forms.patterns(form), forms.snapshot(form), **routes.check_shaping(forms.shaping(form))
    )
    shown = await preview.preview(ctx, merchant_id, settings, event_type=_chosen_type(ctx, form, wanted))
    return web.pretty(shown.body)


async def _preview(request: Request, route_id: str | None) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    route = None if route_id is None else await routes.get(ctx, merchant_id, route_id)
    posted = await web.read_form(request, session.csrf)
    form = forms.from_post(posted)
    wanted = web.text(posted, "sample_type")
    body, error = "", ""
    try:
        body = await render(ctx, merchant_id, form, wanted)
    except (Invalid, TooLarge, TooManyRequests) as exc:  # shown in the preview, as a failed transform is
        error = exc.detail
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"body": body, "error": error or None})
    if error:
        form.add_errors({"transform": error})
    extra = {"preview_body": body, "sample_type": _chosen_type(ctx, form, wanted)}
    return await form_page(request, merchant_id, form, route=route, status=400 if error else 200, **extra)


async def preview_new(request: Request) -> Response:
    return await _preview(request, None)


async def preview_saved(request: Request) -> Response:
    return await _preview(request, request.path_params["route_id"])


ROUTES = [
    Route("/routes/preview", preview_new, methods=["POST"]),
    Route("/routes/{route_id}/preview", preview_saved, methods=["POST"]),
]
