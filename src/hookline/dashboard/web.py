"""What every dashboard page shares: templates, the service context, redirects, forms and error pages.

The dashboard is a transport like the API: it parses a request, calls the service layer and renders HTML.
Errors become pages, never problem+json: a missing or foreign object is the same 404 page, a rule broken by
a form is shown next to its field by the page that owns the form.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import orjson
from markupsafe import Markup, escape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hookline.core import errors
from hookline.core.portal_settings import Portal
from hookline.dashboard import charts
from hookline.service.context import Context

HERE = Path(__file__).parent

# Messages shown after a redirect, by key: the query string never carries text to display.
NOTICES = {
    "created": "Webhook created. Copy its signing key below and configure your receiver to check it.",
    "saved": "Webhook saved. The change applies to events accepted from now on.",
    "url_changed": "Webhook saved. Its target now sends to the new URL and keeps its signing key, "
    "so your receiver's signature check needs no change.",
    "url_changed_shared": "Webhook saved. Its target now sends to the new URL and keeps its signing key, "
    "so your receiver's signature check needs no change. The other webhooks that use this target send "
    "there too.",
    "destination_changed": "Webhook saved. Its target now publishes to the new broker destination and keeps "
    "its signing key.",
    "destination_changed_shared": "Webhook saved. Its target now publishes to the new broker destination "
    "and keeps its signing key. The other webhooks that use this target publish there too.",
    "halted": "Webhook halted: new deliveries are held, none are lost.",
    "resumed": "Webhook active again: held deliveries are being sent, oldest first.",
    "enabled": "Webhook enabled.",
    "disabled": "Webhook disabled: its pending deliveries were canceled.",
    "deleted": "Webhook deleted.",
    "rotated": "New signing key created. The previous key keeps signing for 24 hours.",
    "tested": "Test events sent. They appear in the deliveries below in a moment.",
    "resent": "Delivery queued to be sent again.",
    "signed_out": "You are signed out.",
    "merchant": "You are now acting for this merchant.",
    "key_revoked": "API key revoked: requests with it are refused from now on.",
    "target_url_changed": "URL saved, key kept: the target sends to the new URL, signed with the same "
    "signing key, Standard Webhooks secret and public key, so your receiver's signature check needs no "
    "change.",
    "target_unchanged": "Nothing to save: the URL is the same.",
    "target_enabled": "Target enabled: its webhooks send to it again.",
    "target_disabled": "Target disabled: its webhooks' pending and held deliveries were canceled.",
    "target_rotated": "New signing key created. The previous key keeps signing until the time shown below.",
}

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    extensions=["jinja2.ext.do"],
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def pretty(raw: bytes | str | None) -> str:
    """JSON indented for reading; anything that is not JSON is shown as it is."""
    if raw is None:
        return ""
    try:
        return orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


_SEPARATOR = re.compile(r"(?<=[/?&=._-])(?=[^/?&=._-])")


def breakable(text: str | None) -> Markup:
    """A URL or an event type with a line-break opportunity (``<wbr>``) after each run of separators
    (``/ ? & = . _ -``), so a narrow screen breaks it there, not in the middle of a word."""
    return Markup("<wbr>").join(escape(part) for part in _SEPARATOR.split(text or ""))


_env.filters.update(when=when, iso=iso, pretty=pretty, breakable=breakable, duration=charts.duration)


class SignInRequired(Exception):
    """No valid session: the browser goes to the sign-in page."""


class ChooseMerchant(Exception):
    """An operator session that acts for no merchant yet: the browser goes to the merchant list."""


class CsrfFailed(Exception):
    """A POST without this session's form token."""


def context(request: Request) -> Context:
    ctx: Context = request.app.state.host.state.context
    return ctx


def auto_halt_defaults(request: Request) -> tuple[int, float] | None:
    """The operator's auto-halt settings (failures, window), shown where a route keeps the defaults."""
    runtime = getattr(request.app.state.host.state, "runtime", None)
    settings = getattr(runtime, "settings", None)
    if settings is None:
        return None
    return int(settings.auto_halt_failures), float(settings.auto_halt_window_s)


def portal(request: Request) -> Portal:
    """The embedded portal's settings (who may frame the dashboard, its theme)."""
    return _portal_of(request.app)


def _portal_of(app: Any) -> Portal:
    runtime = getattr(app.state.host.state, "runtime", None)
    found = getattr(runtime, "portal", None)
    return found if isinstance(found, Portal) else Portal()


def base(request: Request) -> str:
    """The path the dashboard is mounted at (``/dashboard``), for links that work behind any prefix."""
    root: str = request.scope.get("root_path", "")
    return root


# Pages whose only purpose is a change: a read-only session is shown "not allowed" instead.
CHANGE_PAGES = frozenset(
    {"route_form.html", "confirm.html", "ask.html", "test_events.html", "api_key_revoke.html"}
)
READ_ONLY = "This session can look but not change anything."


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    session = getattr(request.state, "session", None)
    if template in CHANGE_PAGES and getattr(session, "read_only", False):
        return error_page(request, 403, READ_ONLY)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    brand = portal(request).brand if getattr(session, "portal", False) else None
    html = _env.get_template(template).render(
        base=base(request),
        session=session,
        notice=notice,
        request=request,
        brand=brand,
        product=brand.name if brand else "hookline",  # who speaks on the pages: the platform in a portal
        **values,
    )
    return HTMLResponse(html, status_code=status)


def redirect(request: Request, path: str, *, anchor: str = "", **query: str) -> RedirectResponse:
    """303 to a dashboard path (and ``#anchor`` on it): after a POST the browser GETs the result (no
    resubmission on reload)."""
    target = base(request) + path
    if query:
        target += ("&" if "?" in path else "?") + urlencode(query)
    return RedirectResponse(target + (f"#{anchor}" if anchor else ""), status_code=303)


async def read_form(request: Request, csrf: str) -> FormData:
    """The POSTed form, after checking its CSRF token and refusing NUL characters (PostgreSQL has none).

    Every change the dashboard makes comes through here, so a read-only session is refused here too.
    """
    if getattr(getattr(request.state, "session", None), "read_only", False):
        raise errors.Forbidden(READ_ONLY)
    form = await request.form(max_files=0, max_fields=2000)
    sent = form.get("csrf")
    # Bytes: compare_digest refuses str holding non-ASCII characters, which a forged form may send.
    if not isinstance(sent, str) or not csrf or not hmac.compare_digest(sent.encode(), csrf.encode()):
        raise CsrfFailed()
    if any("\x00" in str(value) for value in form.values()):
        raise errors.Invalid("the form contains a NUL character", fields={"form": "NUL character"})
    return form


def sent_before(form: Mapping[str, Any], newest: str | None) -> bool:
    """Whether a form that creates something (a merchant, an API key) was sent before: its ``newest`` field
    holds the id of the newest such thing when the page was shown, and one has been made since. A reload of
    the answer that showed a new key sends the form again; this stops it making a second one."""
    return text(form, "newest") != (newest or "")


def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


STATUS = {
    errors.Invalid: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.TooManyRequests: 429,
    errors.StorageFull: 507,
    errors.Unavailable: 503,
}
TITLES = {
    400: "That did not work",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That conflicts with the current state",
    410: "This link cannot be used",
    413: "That is too much at once",
    429: "Too much at once: try again shortly",
    503: "Temporarily unavailable",
    507: "Temporarily out of storage",
}


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    title = TITLES.get(status, "Something went wrong")
    return page(request, "error.html", status, title=title, detail=detail, code=status)


async def on_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.HooklineError)
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    if status == 404:
        detail = "There is nothing here, or it belongs to another merchant."
        return error_page(request, 404, detail)
    page = error_page(request, status, exc.detail)
    if isinstance(exc, errors.TooManyRequests):
        page.headers["Retry-After"] = str(exc.retry_after_s)
    return page


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = "There is no such page." if exc.status_code == 404 else str(exc.detail)
    return error_page(request, exc.status_code, detail)


async def on_choose(request: Request, _: Exception) -> Response:
    return redirect(request, "/merchants")


async def on_csrf(request: Request, _: Exception) -> Response:
    detail = "The form was not sent by this dashboard session (its security token is missing or stale)."
    return error_page(request, 403, detail + " Reload the page and try again.")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    errors.HooklineError: on_error,
    HTTPException: on_http,
    ChooseMerchant: on_choose,
    CsrfFailed: on_csrf,
}


def security_headers(settings: Portal) -> list[tuple[bytes, bytes]]:
    """No framing but by the portal's origins (none by default), no foreign scripts; images from the
    portal brand's logo origin too."""
    logo = settings.brand.logo_origin if settings.brand else None
    images = " ".join(["'self'", "data:", *([logo] if logo else [])])
    ancestors = " ".join(settings.frame_ancestors) or "'none'"
    policy = (
        f"default-src 'self'; img-src {images}; frame-ancestors {ancestors}; "
        "form-action 'self'; base-uri 'none'; object-src 'none'"
    )
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]
    if not settings.framed:  # X-Frame-Options cannot name origins: sent only when no one may frame
        headers.append((b"x-frame-options", b"DENY"))
    return headers


class RefuseNul:
    """A NUL character in the path or the query is a 400 page: PostgreSQL cannot compare text holding one,
    so it would otherwise fail late, as a 500 (the API refuses the same at its edge)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            response = HTMLResponse("<!doctype html><title>Bad request</title><p>NUL character.</p>", 400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Pages may not be framed (but by the portal's origins), load foreign scripts or be cached: they show
    signing keys and payloads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(scope.get("root_path", "") + "/static/")
        extra = security_headers(_portal_of(scope["app"]))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += extra
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
