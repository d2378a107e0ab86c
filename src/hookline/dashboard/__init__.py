"""The merchant dashboard: server-rendered pages at ``/dashboard``, over the same service layer as the API.

``mount(app)`` adds it to the API application as a sub-application with its own error pages (HTML, not
problem+json), its static files and its security headers; the service context comes from the host app's
state, which the lifespan fills in.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from hookline.dashboard import (
    pages_bulk_jobs,
    pages_catalog,
    pages_console,
    pages_deliveries,
    pages_delivery_log,
    pages_events,
    pages_keys,
    pages_notifications,
    pages_preview,
    pages_routes,
    pages_targets,
    portal,
    session,
    web,
)


def build(host: FastAPI) -> Starlette:
    app = Starlette(
        routes=[
            *session.ROUTES,
            *pages_routes.ROUTES,
            *pages_deliveries.ROUTES,
            *pages_delivery_log.ROUTES,
            *pages_events.ROUTES,
            *pages_preview.ROUTES,
            *pages_bulk_jobs.ROUTES,
            *pages_catalog.ROUTES,
            *pages_notifications.ROUTES,
            *pages_keys.ROUTES,
            *pages_targets.ROUTES,
            *pages_console.ROUTES,
            *portal.ROUTES,
            Mount("/static", StaticFiles(directory=web.HERE / "static"), name="static"),
        ],
        exception_handlers={**web.EXCEPTION_HANDLERS, web.SignInRequired: session.on_sign_in_required},
        middleware=[Middleware(web.SecurityHeaders), Middleware(web.RefuseNul)],
    )
    app.state.host = host
    return app


FAVICON = web.HERE / "static" / "favicon.ico"


def mount(host: FastAPI) -> None:
    """Serve the dashboard at ``/dashboard``, send ``/`` there, and answer ``/favicon.ico`` (which browsers
    ask every site for) with the dashboard's icon."""

    async def home(_: Request) -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    async def favicon(_: Request) -> FileResponse:
        return FileResponse(
            FAVICON, media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"}
        )

    host.mount("/dashboard", build(host), name="dashboard")
    host.add_route("/", home, methods=["GET"], include_in_schema=False)
    host.add_route("/favicon.ico", favicon, methods=["GET", "HEAD"], include_in_schema=False)
