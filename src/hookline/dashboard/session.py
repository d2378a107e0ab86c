"""Signing in and out of the dashboard, and the operator's choice of merchant.

A merchant (or the operator) signs in with an API key once (or opens a portal link, ``dashboard.portal``);
the dashboard answers with a session cookie (HttpOnly, SameSite=Lax, Secure over https; ``set_cookie`` says
how it differs when the portal may be framed) holding the token of a session kept in the database
(``service.sessions``): signing out, revoking the key and expiry end it for good, whoever holds a copy of
the cookie. The session's CSRF token is repeated by every form, and every POST must match it. Before any
session exists, the sign-in form's own token travels in a short-lived cookie signed with an HMAC key derived
from the secret kept in the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.core.errors import Forbidden, NotFound, TooManyRequests, Unauthorized
from hookline.dashboard import carry, web
from hookline.service import auth, merchants, sessions
from hookline.service.context import Context

COOKIE = "hookline_session"
SIGN_IN_COOKIE = "hookline_sign_in"
SIGN_IN_S = 3600
# Where the operator's console may send the browser once a merchant is chosen: its keys, or a delivery.
# Where choosing a merchant may lead: its keys, a delivery, or its deliveries that failed since a time (the
# console's counter of failed deliveries).
NEXT = re.compile(r"/api-keys|/deliveries/[A-Za-z0-9_-]{1,40}|/deliveries\?status=failed&since=[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class Session:
    """A request's session, as pages and templates use it: ``service.sessions.Session`` with the name of
    the merchant it acts for."""

    state: sessions.Session
    merchant_name: str = ""

    @property
    def csrf(self) -> str:
        return self.state.csrf

    @property
    def operator(self) -> bool:
        return self.state.operator

    @property
    def merchant_id(self) -> str | None:
        return self.state.merchant_id

    @property
    def read_only(self) -> bool:
        return self.state.read_only

    @property
    def portal(self) -> bool:
        """Opened by a portal link: the dashboard shows the platform's brand, not hookline's."""
        return self.state.portal_link_id is not None

    @property
    def return_url(self) -> str | None:
        return self.state.return_url


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    key = hmac.new(secret, b"hookline dashboard cookie v1", hashlib.sha256).digest()
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def seal(secret: bytes, data: dict[str, Any]) -> str:
    body = _b64(orjson.dumps(data))
    return f"{body}.{_mac(secret, body)}"


def unseal(secret: bytes, value: str | None, kind: str, now: float) -> dict[str, Any] | None:
    """The cookie's data when its signature holds, it is of ``kind`` and has not expired; else None."""
    if not value or value.count(".") != 1:
        return None
    body, mac = value.split(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, body).encode()):
        return None
    try:
        data = orjson.loads(_unb64(body))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or data.get("kind") != kind or not float(data.get("exp", 0)) > now:
        return None
    return data


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax, Secure over https; when the portal's origins may frame the dashboard, the
    cookie must reach it inside their pages: SameSite=None; Secure; Partitioned (kept per embedding site).
    The forms' CSRF tokens guard changes either way."""
    framed = web.portal(request).framed
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=web.base(request) or "/",
        httponly=True,
        samesite="none" if framed else "lax",
        secure=framed or request.url.scheme == "https",
    )
    if framed:  # Python < 3.14's cookie module cannot write Partitioned: added to the header set just now
        name_, value_ = response.raw_headers[-1]
        assert name_ == b"set-cookie"
        response.raw_headers[-1] = (name_, value_ + b"; Partitioned")


def _drop_cookie(request: Request, response: Response, name: str) -> None:
    set_cookie(request, response, name, "", 0)


async def current(request: Request) -> Session:
    """The signed-in session of this request, or SignInRequired."""
    found: Session | None = getattr(request.state, "session", None)
    if found is not None:
        return found
    ctx = web.context(request)
    state = await sessions.resume(ctx, request.cookies.get(COOKIE))
    if state is None:
        raise web.SignInRequired()
    name = ""
    if state.merchant_id:
        try:
            name = (await merchants.get(ctx, state.merchant_id)).name
        except NotFound:  # the operator's merchant is gone: choose another
            state = replace(state, merchant_id=None)
    found = Session(state, name)
    request.state.session = found
    return found


async def acting(request: Request) -> tuple[Session, str]:
    """The session and the merchant it acts for; an operator who has not chosen one is sent to choose."""
    session = await current(request)
    if session.merchant_id is None:
        raise web.ChooseMerchant()
    return session, session.merchant_id


def _safe_next(request: Request, wanted: str) -> str:
    """Only a path inside the dashboard: a sign-in link must not send anyone elsewhere."""
    root = web.base(request)
    inside = wanted.startswith(root + "/") and not wanted.startswith("//") and "\\" not in wanted
    return wanted[len(root) :] if inside and wanted != root + "/sign-in" else "/"


async def _sign_in_form(
    request: Request,
    wanted: str,
    status: int = 200,
    errors: dict[str, str] | None = None,
    carried: list[tuple[str, str]] | None = None,
    carried_for: str = "",
) -> Response:
    """The sign-in page with a fresh form token (and its cookie); ``carried``: the fields of a form sent
    after its session ended, kept through signing in (``dashboard.carry``), for the merchant
    ``carried_for`` when an operator's session sent it."""
    ctx = web.context(request)
    token = secrets.token_urlsafe(24)
    data = {"kind": "sign_in", "csrf": token, "exp": ctx.clock() + SIGN_IN_S}
    response = web.page(
        request,
        "sign_in.html",
        status,
        csrf=token,
        next=wanted,
        errors=errors or {},
        carried=carried,
        carry_prefix=carry.PREFIX,
        carry_mark=carry.MARK,
        carry_for=carry.FOR,
        carried_for=carried_for,
        ended=carry.ENDED if carried is not None else "",
    )
    set_cookie(request, response, SIGN_IN_COOKIE, seal(await sessions.secret(ctx), data), SIGN_IN_S)
    return response


async def sign_in_page(request: Request) -> Response:
    return await _sign_in_form(request, request.query_params.get("next", ""))


async def on_sign_in_required(request: Request, _: Exception) -> Response:
    """No session: a page goes to the sign-in page (and back); a form sent is kept (``dashboard.carry``)."""
    if request.method == "GET":
        return web.redirect(request, "/sign-in", next=request.url.path)
    fields = await carry.posted(request)
    if fields is None:
        return web.redirect(request, "/sign-in")
    acted_for = await sessions.acted_for(web.context(request), request.cookies.get(COOKIE))
    return await _sign_in_form(request, request.url.path, 401, carried=fields, carried_for=acted_for or "")


async def sign_in(request: Request) -> Response:
    ctx = web.context(request)
    pending = unseal(await sessions.secret(ctx), request.cookies.get(SIGN_IN_COOKIE), "sign_in", ctx.clock())
    form = await web.read_form(request, str(pending["csrf"]) if pending else "")
    key, wanted, carried = web.text(form, "key"), web.text(form, "next"), carry.carried(form)
    client = request.client.host if request.client else None
    try:
        principal = await auth.authenticate(ctx, key or None, client=client, via="dashboard")
    except (Unauthorized, TooManyRequests) as exc:
        return await _refused(request, exc, bool(key), wanted, carried, web.text(form, carry.FOR))
    merchant_id = principal.merchant_id
    if principal.operator and carried is not None:  # the operator's form: for the merchant it was for
        merchant_id = await _existing(ctx, web.text(form, carry.FOR))
    where = "/merchants" if principal.operator and not merchant_id else _safe_next(request, wanted)
    token, state = await sessions.open_session(
        ctx, operator=principal.operator, merchant_id=merchant_id, key_hash=auth.digest(key)
    )
    signed_in: Response = web.redirect(request, where)
    if carried is not None and merchant_id and where != "/":  # the form, to send on
        signed_in = carry.resume_page(request, where, carried, state.csrf)
    set_cookie(request, signed_in, COOKIE, token, int(sessions.SESSION_S))
    _drop_cookie(request, signed_in, SIGN_IN_COOKIE)
    return signed_in


async def _existing(ctx: Context, merchant_id: str) -> str | None:
    """``merchant_id`` if it names a merchant (it came back from the browser); else None."""
    if not merchant_id or len(merchant_id) > 64:
        return None
    try:
        return (await merchants.get(ctx, merchant_id)).id
    except NotFound:
        return None


async def _refused(
    request: Request,
    exc: Exception,
    sent_key: bool,
    wanted: str,
    carried: list[tuple[str, str]] | None,
    carried_for: str,
) -> Response:
    """The sign-in form again, saying why: no key, a wrong one, or too many wrong ones (429); a carried
    form stays carried."""
    if isinstance(exc, TooManyRequests):
        problem = f"Too many failed sign-ins from your address. Try again in {exc.retry_after_s} seconds."
        page = await _sign_in_form(request, wanted, 429, {"key": problem}, carried, carried_for)
        page.headers["Retry-After"] = str(exc.retry_after_s)
        return page
    problem = "That key is not valid (unknown or revoked)." if sent_key else "Enter your API key."
    return await _sign_in_form(request, wanted, 401, {"key": problem}, carried, carried_for)


async def sign_out(request: Request) -> Response:
    session = await current(request)
    await web.read_form(request, session.csrf)
    await sessions.end(web.context(request), session.state)
    response = web.redirect(request, "/sign-in", notice="signed_out")
    _drop_cookie(request, response, COOKIE)
    return response


async def choose_merchant(request: Request) -> Response:
    session = await current(request)
    form = await web.read_form(request, session.csrf)
    if not session.operator:
        raise Forbidden("Only the operator can switch merchants.")
    chosen = await merchants.get(web.context(request), web.text(form, "merchant_id"))
    await sessions.act_for(web.context(request), session.state, chosen.id)
    wanted = web.text(form, "next")
    return web.redirect(request, wanted if NEXT.fullmatch(wanted) else "/", notice="merchant")


ROUTES = [
    Route("/sign-in", sign_in_page, methods=["GET"], name="sign_in"),
    Route("/sign-in", sign_in, methods=["POST"]),
    Route("/sign-out", sign_out, methods=["POST"], name="sign_out"),
    Route("/merchants/select", choose_merchant, methods=["POST"]),
]
