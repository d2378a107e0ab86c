"""Bulk resend and replay: started from a webhook's details, carried out by the bulk runner, watched here.

A job can touch thousands of deliveries. The form first counts what the job would do (a dry run, nothing
changed) and asks, with that number; confirmed, the job starts and the browser goes to the job's page, which
shows its progress: it refreshes itself without JavaScript, and with it a small poll updates the bar.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.core import models
from hookline.core.errors import Conflict, Invalid, NotFound
from hookline.dashboard import web
from hookline.dashboard.pages_deliveries import details_page
from hookline.dashboard.session import acting
from hookline.service import recovery, routes, time_inputs

FINISHED = ("done", "failed")
KINDS = {"resend": "Bulk resend", "replay": "Replay"}


def moment(form: FormData, name: str, errors: dict[str, str]) -> float | None:
    """A ``datetime-local`` field, read as UTC; None when empty."""
    raw = web.text(form, name)
    if not raw:
        return None
    try:
        return time_inputs.parse_time(raw, name)
    except Invalid:
        errors[name] = "enter a date and time (UTC)"
        return None


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _frozen(ts: float) -> str:
    """A time for the confirmation's hidden field, exact to the microsecond (read back as UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


async def _ask(
    request: Request,
    merchant_id: str,
    row: models.Route,
    kind: str,
    statuses: list[str],
    window: tuple[float | None, float | None],
    point_in_time: bool,
) -> Response:
    """The count of what the job would do (a dry run) and the button that starts it. The window's end is
    fixed at this moment, so the job confirmed does what was counted."""
    ctx = web.context(request)
    since, until = window
    now = ctx.clock()
    end = now if until is None else min(until, now)
    start = f"from {web.when(since)}" if since is not None else "from the first one"
    hidden = [(f"{kind}_since", "" if since is None else _frozen(since)), (f"{kind}_until", _frozen(end))]
    warning = None
    if kind == "resend":
        count = await recovery.count_resend(ctx, merchant_id, row.id, statuses or None, since, end)
        chosen = statuses or list(recovery.DEFAULT_RESEND)
        noun = _plural(count, "delivery", "deliveries")
        heading = f"Resend {noun}?"
        lines = [
            f"{noun[:1].upper()}{noun[1:]} of this webhook that ended {' or '.join(chosen)}, created {start} "
            f"until {web.when(end)}, will be sent again, each with a fresh set of attempts."
        ]
        if "success" in chosen:
            warning = "This includes deliveries your receiver already accepted: it gets them a second time."
        hidden += [("resend_status", s) for s in chosen]
        button = f"Resend {noun}"
    else:
        assert since is not None  # checked by the form
        count = await recovery.count_replay(ctx, merchant_id, row.id, since, end)
        noun = _plural(count, "event", "events")
        heading = f"Replay {noun}?"
        lines = [
            f"{noun[:1].upper()}{noun[1:]} of this webhook's types, received {start} until {web.when(end)}, "
            "will be delivered again as new deliveries built with its current settings. An event that still "
            "has a delivery pending or held is skipped.",
            "Snapshots: "
            + ("as they were when each event was accepted." if point_in_time else "as the objects are now."),
        ]
        hidden += [("replay_point_in_time", "1")] if point_in_time else []
        button = f"Replay {noun}"
    if count == 0:
        what = "deliveries" if kind == "resend" else "events"
        raise Invalid(
            f"No {what} match: there is nothing to {kind}. Choose other statuses or another window."
        )
    return web.page(
        request,
        "ask.html",
        route=row,
        heading=heading,
        lines=lines,
        warning=warning,
        action=f"{web.base(request)}/routes/{row.id}/{kind}",
        hidden=hidden,
        button=button,
        cancel=f"{web.base(request)}/routes/{row.id}#{kind}",
    )


async def _start(request: Request, kind: str) -> Response:
    session, merchant_id = await acting(request)
    ctx = web.context(request)
    row = await routes.get(ctx, merchant_id, request.path_params["route_id"])
    form = await web.read_form(request, session.csrf)
    errors: dict[str, str] = {}
    since, until = moment(form, f"{kind}_since", errors), moment(form, f"{kind}_until", errors)
    if kind == "replay" and since is None:
        errors.setdefault("replay_since", "a replay needs the time to start from")
    values: dict[str, Any] = {k: web.text(form, k) for k in (f"{kind}_since", f"{kind}_until")}
    statuses = [str(s) for s in form.getlist("resend_status")]
    # A checkbox sends nothing when unticked; the form ticks it by default.
    point_in_time = bool(web.text(form, "replay_point_in_time"))
    # Only this form's own values go back to the page: the other form keeps its defaults.
    if kind == "resend":
        values["resend_status"] = statuses
    else:
        values["replay_point_in_time"] = point_in_time
    try:
        if errors:
            raise Invalid("check the fields")
        if web.text(form, "confirmed") != "1":  # first the count, then the job
            return await _ask(request, merchant_id, row, kind, statuses, (since, until), point_in_time)
        if kind == "resend":
            job = await recovery.start_resend(ctx, merchant_id, row.id, statuses or None, since, until)
        else:
            assert since is not None
            job = await recovery.start_replay(
                ctx, merchant_id, row.id, since, until, point_in_time=point_in_time
            )
    except (Invalid, Conflict) as exc:
        for name, problem in (exc.fields or {kind: exc.detail}).items():
            errors.setdefault(f"{kind}_{name}" if name in ("since", "until", "status") else kind, problem)
        return await details_page(request, merchant_id, row, {"errors": errors, "values": values}, 400)
    return web.redirect(request, f"/jobs/{job.id}")


async def start_resend(request: Request) -> Response:
    return await _start(request, "resend")


async def start_replay(request: Request) -> Response:
    return await _start(request, "replay")


def progress_text(job: models.BulkJob) -> str:
    done, total = job.done, job.total
    counted = f"{done} of {total}" if total is not None else f"{done}"
    if job.status == "queued":
        return "Waiting to start…"
    if job.status == "running":
        return f"Working: {counted} done…"
    if job.status == "failed":
        return f"Stopped after {counted}: {job.error or 'an error'}"
    return f"Finished: {done} deliveries {'resent' if job.kind == 'resend' else 'made'}."


async def job_page(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    job = await recovery.get(ctx, merchant_id, request.path_params["job_id"])
    finished = job.status in FINISHED
    if "application/json" in request.headers.get("accept", ""):
        answer = {
            "done": job.done,
            "total": job.total,
            "finished": finished,
            "text": progress_text(job),
        }
        return JSONResponse(answer)
    try:
        route = await routes.get(ctx, merchant_id, job.route_id) if job.route_id else None
    except NotFound:  # the webhook was deleted since
        route = None
    return web.page(
        request,
        "job.html",
        job=job,
        kind=KINDS.get(job.kind, job.kind),
        route=route,
        finished=finished,
        text=progress_text(job),
    )


ROUTES = [
    Route("/routes/{route_id}/resend", start_resend, methods=["POST"]),
    Route("/routes/{route_id}/replay", start_replay, methods=["POST"]),
    Route("/jobs/{job_id}", job_page, methods=["GET"]),
]
