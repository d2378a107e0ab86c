"""The embedded portal's pages: opening a portal link, and the brand's colours.

``/portal/{token}`` uses the link up and signs the browser in to the link's merchant with the dashboard's
ordinary session (``session.set_cookie``), then shows its webhooks; a used, expired or altered link is a
page saying so, and signs nobody in.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookline.dashboard import session, web
from hookline.service import portal, sessions

REFUSED = {
    portal.Refusal.INVALID: (404, "This sign-in link is not valid. Check that it was copied whole."),
    portal.Refusal.USED: (
        410,
        "This sign-in link has been used already: each link opens the dashboard once.",
    ),
    portal.Refusal.EXPIRED: (410, "This sign-in link has expired."),
}


async def open_link(request: Request) -> Response:
    try:
        opened = await portal.open_link(web.context(request), request.path_params["token"])
    except portal.LinkRefused as exc:
        status, detail = REFUSED[exc.reason]
        return web.error_page(
            request, status, detail + " Open the page that sent you here again for a new one."
        )
    response = web.redirect(request, "/")
    session.set_cookie(request, response, session.COOKIE, opened.token, int(sessions.SESSION_S))
    return response


async def brand_css(request: Request) -> Response:
    """The brand's accent colour over the dashboard's own (values checked at start: no CSS injection)."""
    brand = web.portal(request).brand
    css = ""
    if brand is not None and brand.accent is not None:
        css = f":root {{ --brand: {brand.accent}; --brand-ink: {brand.accent_ink}; }}\n"
        css += f".top {{ background: {brand.accent}; }}\n"
        css += f".top, .top a, .top .link, .top .brand {{ color: {brand.accent_ink}; }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "no-cache"})


ROUTES = [
    Route("/portal/{token}", open_link, methods=["GET"]),
    Route("/brand.css", brand_css, methods=["GET"]),
]
