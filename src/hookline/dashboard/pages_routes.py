"""The webhook list, the create / edit form, and each webhook's actions (halt, resume, key, delete…)."""

from __future__ import annotations

import contextlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core import catalog, credentials, models
from hookline.core.errors import Conflict, HooklineError, Invalid, NotFound
from hookline.core.models import RouteState, Target
from hookline.dashboard import auth_form, forms, signing_keys, stats, web
from hookline.dashboard.session import acting
from hookline.service import recovery, route_problems, routes, targets, testevents
from hookline.service.context import Context

ROUTES_PER_PAGE = 50
TARGETS_LISTED = 500


async def _targets(ctx: Context, merchant_id: str) -> dict[str, Target]:
    return {t.id: t for t in await targets.page(ctx, merchant_id, TARGETS_LISTED, None)}


async def _target_of(
    ctx: Context, merchant_id: str, known: dict[str, Target], target_id: str
) -> Target | None:
    if target_id not in known:
        with contextlib.suppress(NotFound):
            known[target_id] = await targets.get(ctx, merchant_id, target_id)
    return known.get(target_id)


async def route_list(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    after = request.query_params.get("after") or None
    rows = await routes.page(ctx, merchant_id, ROUTES_PER_PAGE, after)
    known = await _targets(ctx, merchant_id)
    reveal = request.query_params.get("reveal", "")
    listed = []
    for row in rows:
        target = await _target_of(ctx, merchant_id, known, row.target_id)
        keys = targets.live_keys(target, ctx.clock()) if target and row.id == reveal else None
        spark = await stats.spark(ctx, merchant_id, row.id)
        listed.append({"route": row, "target": target, "secret": keys, "spark": spark})
    more = rows[-1].id if len(rows) == ROUTES_PER_PAGE else None
    return web.page(request, "routes.html", rows=listed, after=more, first_page=after is None)


async def route_key(request: Request) -> Response:
    """The signing key of a webhook's target and its Standard Webhooks secret, for the Reveal buttons
    of the list and the details page (never cached)."""
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    row = await routes.get(ctx, merchant_id, request.path_params["route_id"])
    return signing_keys.revealed(await targets.get(ctx, merchant_id, row.target_id), ctx.clock())


async def form_page(
    request: Request,
    merchant_id: str,
    form: forms.RouteForm,
    route: Any = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    """The create / edit page; ``extra`` carries a payload preview made from the posted form."""
    ctx = web.context(request)
    offered = [t.type for t in catalog.event_types(entitlements=ctx.entitlements)]
    values: dict[str, Any] = {"preview_body": "", "sample_type": "", **extra}
    # Editing: how many other webhooks send to this one's target (and so follow a change of its URL).
    sharing = len(await targets.used_by(ctx, merchant_id, route.target_id)) - 1 if route else 0
    return web.page(
        request,
        "route_form.html",
        status,
        form=form,
        route=route,
        targets=list((await _targets(ctx, merchant_id)).values()),
        groups=forms.event_groups(entitlements=ctx.entitlements),
        matrix=forms.matrix(entitlements=ctx.entitlements),
        columns=routes.SNAPSHOT_COLUMNS,
        sample_types=[t for t in offered if not catalog.is_operational(t)],
        auto_halt_defaults=web.auto_halt_defaults(request),
        sharing=max(sharing, 0),
        **values,
    )


async def new_route(request: Request) -> Response:
    _, merchant_id = await acting(request)
    return await form_page(request, merchant_id, forms.RouteForm())


async def _save(
    ctx: Context, merchant_id: str, form: forms.RouteForm, spec: dict[str, Any], route_id: str | None
) -> str | None:
    """Create or update the route (and first its new target); the route id, or None with form errors."""
    created_target = None
    try:
        if form.new_url:
            created_target = await targets.create(
                ctx, merchant_id, form.new_url, destination=forms.destination(form.new_destination)
            )
            spec["target_id"] = created_target.id
        if route_id is None:
            route_id = (await routes.create(ctx, merchant_id, spec)).id
        else:
            await routes.update(ctx, merchant_id, route_id, spec)
    except Invalid as exc:
        if created_target is not None:  # the route was refused: do not leave its new target behind
            with contextlib.suppress(HooklineError):
                await targets.delete(ctx, merchant_id, created_target.id)
        form.add_errors(exc.fields or {"form": exc.detail})
        return None
    return route_id


def _every_problem(ctx: Context, form: forms.RouteForm, spec: dict[str, Any], current_url: str = "") -> None:
    """Add the service's objections to the form's own, all at once (not one field a round): the route's
    settings and a new or changed URL."""
    form.add_errors(route_problems.problems(ctx, spec))
    for field, url in (("new_url", form.new_url), ("target_url", form.target_url)):
        if url and url != current_url:
            try:
                targets.check_url(ctx, url)
            except Invalid as exc:
                form.errors.setdefault(field, (exc.fields or {}).get("url", exc.detail))


async def create_route(request: Request) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    form = forms.from_post(await web.read_form(request, session.csrf))
    spec = forms.spec(form)
    _every_problem(ctx, form, spec)
    route_id = None if form.errors else await _save(ctx, merchant_id, form, spec, None)
    if route_id is None:
        return await form_page(request, merchant_id, form, status=400)
    return web.redirect(request, "/", notice="created", reveal=route_id)


async def edit_route(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    row = await routes.get(ctx, merchant_id, request.path_params["route_id"])
    form = forms.from_route(row, entitlements=ctx.entitlements)
    target = await _target_of(ctx, merchant_id, {}, row.target_id)
    form.target_url = target.url if target else ""
    form.target_destination = forms.shown_destination(target.destination if target else None)
    form.auth = await _auth_of(ctx, merchant_id, row.target_id)
    return await form_page(request, merchant_id, form, route=row)


async def _auth_of(ctx: Context, merchant_id: str, target_id: str) -> auth_form.AuthForm:
    """The target's saved auth in words (never its secrets)."""
    with contextlib.suppress(NotFound):
        row = await targets.get(ctx, merchant_id, target_id)
        return auth_form.AuthForm(current=auth_form.describe(credentials.shown(row.auth)))
    return auth_form.AuthForm()


async def _save_edit(
    ctx: Context, merchant_id: str, form: forms.RouteForm, spec: dict[str, Any], row: models.Route
) -> str | None:
    """Save an edited route; a changed URL or broker destination changes its target in place, so the target
    keeps its signing key and the receiver's signature check goes on working. The notice to show, or None
    with form errors (and nothing changed)."""
    target = await targets.get(ctx, merchant_id, row.target_id)
    change = _target_change(ctx, form, target, keeps_target=spec["target_id"] == row.target_id)
    if change is None:
        return None
    url, destination = change
    moved, redirected = url is not None, destination is not None and destination != target.destination
    auth = auth_form.wanted(form.auth)
    try:
        if auth is not targets.UNCHANGED:
            targets.sealed_auth(ctx, auth)  # checked before anything is saved
    except Invalid as exc:
        form.errors.update(auth_form.errors_of(exc.fields or {"auth_type": exc.detail}))
        return None
    except Conflict as exc:
        form.errors["auth_type"] = exc.detail
        return None
    try:
        await routes.update(ctx, merchant_id, row.id, spec)
    except Invalid as exc:
        form.add_errors(exc.fields or {"form": exc.detail})
        return None
    if auth is not targets.UNCHANGED:
        await targets.update(ctx, merchant_id, target.id, auth=auth)
    if not (moved or redirected):
        return "saved"
    await targets.update(ctx, merchant_id, target.id, url=url, destination=destination)
    shared = len(await targets.used_by(ctx, merchant_id, target.id)) > 1
    notice = "url_changed" if moved else "destination_changed"
    return f"{notice}_shared" if shared else notice


def _target_change(
    ctx: Context, form: forms.RouteForm, target: Target, *, keeps_target: bool
) -> tuple[str | None, object] | None:
    """The target's new URL and new destination the edit form asks for (None each: unchanged), checked as
    a pair; None with the form's errors set when they are not acceptable."""
    moved = bool(form.target_url) and form.target_url != target.url  # empty: left as it is
    wanted = forms.destination(form.target_destination)  # None (left empty): as it is
    redirected = wanted is not None and wanted != target.destination
    if (moved or redirected) and not keeps_target:
        field = "target_url" if moved else "target_destination"
        form.errors[field] = "change this target or choose another target, not both"
        return None
    try:
        url = targets.check_url(ctx, form.target_url) if moved else None
    except Invalid as exc:
        form.errors["target_url"] = (exc.fields or {}).get("url", exc.detail)
        return None
    destination = wanted if moved or redirected else None  # a new URL is checked with what the form holds
    try:
        if moved or redirected:
            targets.destination_after(target, url or target.url, destination)
    except Invalid as exc:
        form.errors["target_destination"] = _destination_problem(exc)
        return None
    return url, destination


def _destination_problem(exc: Invalid) -> str:
    """What is wrong with a destination, in one line for the field (which part, and why)."""
    for name, problem in (exc.fields or {}).items():
        if name.startswith("destination"):
            part = name.removeprefix("destination").removeprefix(".")
            return f"{part}: {problem}" if part else problem
    return exc.detail


async def update_route(request: Request) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    row = await routes.get(ctx, merchant_id, request.path_params["route_id"])
    form = forms.from_post(await web.read_form(request, session.csrf))
    spec = forms.spec(form)
    target = await _target_of(ctx, merchant_id, {}, row.target_id)
    _every_problem(ctx, form, spec, target.url if target else "")
    notice = None if form.errors else await _save_edit(ctx, merchant_id, form, spec, row)
    if notice is None:
        form.auth.current = (await _auth_of(ctx, merchant_id, row.target_id)).current
        return await form_page(request, merchant_id, form, route=row, status=400)
    return web.redirect(request, f"/routes/{row.id}", notice=notice)


async def _set_state(ctx: Context, merchant_id: str, row: models.Route, state: RouteState) -> None:
    await routes.set_state(ctx, merchant_id, row.id, state)


async def _halt(ctx: Context, merchant_id: str, row: models.Route, _: Any) -> str:
    await _set_state(ctx, merchant_id, row, RouteState.HALTED)
    return "halted"


async def _resume(ctx: Context, merchant_id: str, row: models.Route, _: Any) -> str:
    await _set_state(ctx, merchant_id, row, RouteState.ACTIVE)
    return "resumed" if row.state == RouteState.HALTED else "enabled"


async def _disable(ctx: Context, merchant_id: str, row: models.Route, _: Any) -> str:
    await _set_state(ctx, merchant_id, row, RouteState.DISABLED)
    return "disabled"


async def _delete(ctx: Context, merchant_id: str, row: models.Route, _: Any) -> str:
    await routes.delete(ctx, merchant_id, row.id)
    return "deleted"


async def _rotate(ctx: Context, merchant_id: str, row: models.Route, _: Any) -> str:
    await targets.rotate(ctx, merchant_id, row.target_id)
    return "rotated"


ACTIONS = {
    "halt": _halt,
    "resume": _resume,
    "disable": _disable,
    "delete": _delete,
    "regenerate-key": _rotate,
}
# Actions that ask first (a page that says what will happen, with the button that does it).
CONFIRM = {
    "disable": "Disable this webhook? Its pending and held deliveries are canceled and no new ones are made.",
    "delete": "Delete this webhook? Its pending and held deliveries are canceled. This cannot be undone.",
    "regenerate-key": "Create a new signing key? The current key keeps signing alongside the new one "
    "for 24 hours, so you can update your receiver without losing deliveries. Every webhook that uses "
    "this target gets the new key.",
}


async def confirm(request: Request) -> Response:
    _, merchant_id = await acting(request)
    name = request.path_params["action"]
    if name not in CONFIRM:
        raise NotFound(f"no action {name}")
    row = await routes.get(web.context(request), merchant_id, request.path_params["route_id"])
    back = request.query_params.get("back", "list")
    return web.page(request, "confirm.html", route=row, action=name, question=CONFIRM[name], back=back)


async def act(request: Request) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    name = request.path_params["action"]
    if name not in ACTIONS:
        raise NotFound(f"no action {name}")
    row = await routes.get(ctx, merchant_id, request.path_params["route_id"])
    form = await web.read_form(request, session.csrf)
    notice = await ACTIONS[name](ctx, merchant_id, row, form)
    # A new key is shown where the action was asked for (the list, or the details page's keys), to be copied.
    details = web.text(form, "back") == "details"
    if name == "regenerate-key":
        if details:
            return web.redirect(request, f"/routes/{row.id}", anchor="verify", notice=notice, reveal="1")
        return web.redirect(request, "/", notice=notice, reveal=row.id)
    if name == "delete" or not details:
        return web.redirect(request, "/", notice=notice)
    return web.redirect(request, f"/routes/{row.id}", notice=notice)


async def test_events_page(request: Request) -> Response:
    """Send test events: which of the webhook's event types (the default choice ticked), then Send."""
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    row = await routes.get(ctx, merchant_id, request.path_params["route_id"])
    return _test_events(request, row, None, "")


def _test_events(request: Request, row: models.Route, chosen: list[str] | None, error: str) -> Response:
    ctx = web.context(request)
    types = recovery.subscribed_types(row.event_types, entitlements=ctx.entitlements)
    default = testevents.choose_types(row.event_types, None, entitlements=ctx.entitlements)
    return web.page(
        request,
        "test_events.html",
        400 if error else 200,
        route=row,
        types=types,
        chosen=set(default if chosen is None else chosen),
        most=testevents.MAX_EVENTS,
        error=error,
    )


async def send_test_events(request: Request) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    row = await routes.get(ctx, merchant_id, request.path_params["route_id"])
    form = await web.read_form(request, session.csrf)
    chosen = [str(t) for t in form.getlist("event_types")]
    if not chosen:  # the API's default (its usual types) is for a request that names none; this form did
        return _test_events(request, row, chosen, "Choose at least one event type to send.")
    try:
        await testevents.send(ctx, merchant_id, row.id, chosen)
    except Invalid as exc:
        return _test_events(request, row, chosen, exc.detail)
    return web.redirect(request, f"/routes/{row.id}", notice="tested")


ROUTES = [
    Route("/", route_list, methods=["GET"], name="routes"),
    Route("/routes/new", new_route, methods=["GET"]),
    Route("/routes/new", create_route, methods=["POST"]),
    Route("/routes/{route_id}/edit", edit_route, methods=["GET"]),
    Route("/routes/{route_id}/edit", update_route, methods=["POST"]),
    Route("/routes/{route_id}/key", route_key, methods=["GET"]),
    Route("/routes/{route_id}/confirm/{action}", confirm, methods=["GET"]),
    Route("/routes/{route_id}/do/{action}", act, methods=["POST"]),
    Route("/routes/{route_id}/test-events", test_events_page, methods=["GET"]),
    Route("/routes/{route_id}/test-events", send_test_events, methods=["POST"]),
]
