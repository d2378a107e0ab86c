"""The notifications page: who is told when a webhook halts or is failing (``GET/PUT /v1/notifications``).

The same service as the API, so the same rules: a refused value shows its problem beside its field and
nothing is saved. Addresses are typed one per line (commas and spaces separate them too).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core import notices
from hookline.core.errors import Invalid
from hookline.dashboard import web
from hookline.dashboard.session import acting
from hookline.service import notifications

KINDS = {
    notices.ROUTE_HALTED: "A webhook halts itself after repeated failures (its deliveries are held)",
    notices.ROUTE_FAILING: "Many of a webhook's recent attempts fail (it keeps running)",
}


def _page(request: Request, values: dict[str, Any], errors: dict[str, str], saved: bool = False) -> Response:
    return web.page(
        request,
        "notifications.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        kinds=KINDS,
        saved=saved,
        most=notifications.MAX_EMAILS,
    )


def _said(exc: Invalid, emails: list[str]) -> str:
    """The service's refusal in the form's words: the address as typed, the field by its label."""
    for name in exc.fields:
        position = name.removeprefix("emails.")
        if position != name and position.isdigit() and int(position) < len(emails):
            return f"“{emails[int(position)][:80]}” is not an e-mail address (such as ops@example.com)."
    if "emails" in exc.fields:
        return f"At most {notifications.MAX_EMAILS} e-mail addresses."
    detail = exc.detail.replace("slack_webhook_url", "The Slack webhook URL", 1)
    return detail[:1].upper() + detail[1:]


async def notifications_page(request: Request) -> Response:
    _, merchant_id = await acting(request)
    values = await notifications.get(web.context(request), merchant_id)
    return _page(request, values, {}, saved=request.query_params.get("saved") == "1")


async def save_notifications(request: Request) -> Response:
    session, merchant_id = await acting(request)
    form = await web.read_form(request, session.csrf)
    emails = [e for e in re.split(r"[\s,;]+", str(form.get("emails") or "")) if e]
    slack = str(form.get("slack_webhook_url") or "").strip() or None
    on = [str(k) for k in form.getlist("on")]
    try:
        await notifications.put(web.context(request), merchant_id, emails, slack, on)
    except Invalid as exc:
        fields = {name.split(".", 1)[0] for name in exc.fields}
        errors = {name: _said(exc, emails) for name in fields} or {"form": exc.detail}
        return _page(request, {"emails": emails, "slack_webhook_url": slack, "on": on}, errors)
    return web.redirect(request, "/notifications", saved="1")


ROUTES = [
    Route("/notifications", notifications_page, methods=["GET"]),
    Route("/notifications", save_notifications, methods=["POST"]),
]
