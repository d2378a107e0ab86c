"""The payload preview of the create / edit form: the body a receiver would get, with the form's settings.

The sample is the merchant's test-event customer (``hookline.samples``), so the preview shows the snapshot
that the ticked matrix cells add, and then the field selection and transformation typed in the form, before
anything is saved. A saved webhook is previewed by the preview service; a webhook still being created has no
route yet, so the same steps (parse, envelope, shaping) run here on the form's settings.

The browser's small ``fetch()`` asks for JSON; without JavaScript the button posts the form and the form
page comes back with the preview filled in.
"""

from __future__ import annotations

import random
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline import catalog, payloads, samples, transform
from hookline.dashboard import forms, web
from hookline.dashboard.pages_routes import form_page
from hookline.dashboard.session import acting
from hookline.errors import Invalid
from hookline.service import ingest, preview, routes
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


def sample(ctx: Context, merchant_id: str, form: forms.RouteForm, event_type: str) -> tuple[Any, Any]:
    """A sample event of ``event_type`` and the snapshot the form's matrix asks for, about one customer."""
    graph = samples.sample_graph(random.Random(merchant_id), merchant=merchant_id, now=int(ctx.clock()))
    graph = samples.at_event(graph, event_type)
    event = samples.sample_event(event_type, random.Random(event_type), graph)
    family = event_type.split(".", 1)[0]
    snapshot = samples.sample_snapshot(family, forms.snapshot(form).get(family, []), graph)
    return event, snapshot


async def render(
    ctx: Context, merchant_id: str, route_id: str | None, form: forms.RouteForm, wanted: str
) -> str:
    """The body as text; Invalid (field ``transform`` or the paths) when the settings cannot make one."""
    event_type = _chosen_type(ctx, form, wanted)
    event, snapshot = sample(ctx, merchant_id, form, event_type)
    shaping = forms.shaping(form)
    if route_id is not None:
        shown = await preview.preview(ctx, merchant_id, route_id, event, snapshot, shaping)
        return web.pretty(shown.body)
    settings = routes.check_shaping(shaping)
    envelope = payloads.envelope(ingest.parse(ctx, merchant_id, event), snapshot)
    try:
        body = transform.apply(
            envelope, settings["fields_include"], settings["fields_exclude"], settings["transform"]
        )
    except transform.Failed as exc:
        raise Invalid(f"the transformation failed: {exc}", fields={"transform": str(exc)}) from None
    return web.pretty(body)


async def _preview(request: Request, route_id: str | None) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    route = None if route_id is None else await routes.get(ctx, merchant_id, route_id)
    posted = await web.read_form(request, session.csrf)
    form = forms.from_post(posted)
    wanted = web.text(posted, "sample_type")
    body, error = "", ""
    try:
        body = await render(ctx, merchant_id, route_id, form, wanted)
    except Invalid as exc:
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
