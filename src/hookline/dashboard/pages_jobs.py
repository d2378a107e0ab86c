"""Bulk resend and replay: started from a webhook's details, carried out by the job runner, watched here.

A job can touch thousands of deliveries, so the page that starts one goes straight to the job's page, which
shows its progress: it refreshes itself without JavaScript, and with it a small poll updates the bar.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hookline.dashboard import web
from hookline.dashboard.pages_deliveries import details_page
from hookline.dashboard.session import acting
from hookline.errors import Conflict, Invalid, NotFound
from hookline.service import recovery, routes, times

FINISHED = ("done", "failed")
KINDS = {"resend": "Bulk resend", "replay": "Replay"}


def moment(form: FormData, name: str, errors: dict[str, str]) -> float | None:
    """A ``datetime-local`` field, read as UTC; None when empty."""
    raw = web.text(form, name)
    if not raw:
        return None
    try:
        return times.parse_time(raw, name)
    except Invalid:
        errors[name] = "enter a date and time (UTC)"
        return None


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
    values["resend_status"] = statuses
    # A checkbox sends nothing when unticked; the form ticks it by default.
    values["replay_point_in_time"] = point_in_time = bool(web.text(form, "replay_point_in_time"))
    try:
        if errors:
            raise Invalid("check the fields")
        if kind == "resend":
            job = await recovery.start_resend(ctx, merchant_id, row["id"], statuses or None, since, until)
        else:
            assert since is not None
            job = await recovery.start_replay(
                ctx, merchant_id, row["id"], since, until, point_in_time=point_in_time
            )
    except (Invalid, Conflict) as exc:
        for name, problem in (exc.fields or {kind: exc.detail}).items():
            errors.setdefault(f"{kind}_{name}" if name in ("since", "until", "status") else kind, problem)
        return await details_page(request, merchant_id, row, {"errors": errors, "values": values}, 400)
    return web.redirect(request, f"/jobs/{job['id']}")


async def start_resend(request: Request) -> Response:
    return await _start(request, "resend")


async def start_replay(request: Request) -> Response:
    return await _start(request, "replay")


def progress_text(job: dict[str, Any]) -> str:
    done, total = job["done"], job["total"]
    counted = f"{done} of {total}" if total is not None else f"{done}"
    if job["status"] == "queued":
        return "Waiting to start…"
    if job["status"] == "running":
        return f"Working: {counted} done…"
    if job["status"] == "failed":
        return f"Stopped after {counted}: {job['error'] or 'an error'}"
    return f"Finished: {done} deliveries {'resent' if job['kind'] == 'resend' else 'made'}."


async def job_page(request: Request) -> Response:
    _, merchant_id = await acting(request)
    ctx = web.context(request)
    job = await recovery.get(ctx, merchant_id, request.path_params["job_id"])
    finished = job["status"] in FINISHED
    if "application/json" in request.headers.get("accept", ""):
        answer = {
            "done": job["done"],
            "total": job["total"],
            "finished": finished,
            "text": progress_text(job),
        }
        return JSONResponse(answer)
    try:
        route = await routes.get(ctx, merchant_id, job["route_id"]) if job["route_id"] else None
    except NotFound:  # the webhook was deleted since
        route = None
    return web.page(
        request,
        "job.html",
        job=job,
        kind=KINDS.get(job["kind"], job["kind"]),
        route=route,
        finished=finished,
        text=progress_text(job),
    )


ROUTES = [
    Route("/routes/{route_id}/resend", start_resend, methods=["POST"]),
    Route("/routes/{route_id}/replay", start_replay, methods=["POST"]),
    Route("/jobs/{job_id}", job_page, methods=["GET"]),
]
