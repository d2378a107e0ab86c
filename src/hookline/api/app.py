"""The API application: routers and the problem handlers."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from hookline import __version__
from hookline.api import (
    deadline,
    deliveries,
    deps,
    events,
    health,
    jwks,
    listen,
    merchants,
    notifications,
    objects,
    openapi,
    problems,
    prometheus,
    query,
    reference,
    routes,
    targets,
)
from hookline.api import metrics as metrics_api
from hookline.api import ordergroove as ordergroove_api
from hookline.api import recovery as recovery_api

DESCRIPTION = """Webhook delivery for subscription commerce: merchants, targets, routes, events, deliveries.

Every call but the health probes needs a key, sent as `Authorization: Bearer <key>` or `x-api-key: <key>`:
the **operator key** manages merchants and acts for any merchant with `?merchant=<merchant id>`; a
**merchant key** sees and changes only its merchant's data (another merchant's id is not found).

Lists are paginated with `?limit=` (default 50, at most 500) and the opaque `?cursor=` of the previous
page's `next_cursor`. Times are ISO 8601 UTC strings (in webhook payloads, epoch seconds as Ordergroove's).
Errors are problem documents (RFC 9457, `application/problem+json`) with `type`, `title`, `status`,
`detail`, and `errors` naming each field at fault.
"""
TAGS = [
    {"name": "merchants", "description": "Tenants and their API keys (the operator key)."},
    {"name": "targets", "description": "Receiving URLs and their signing keys."},
    {"name": "routes", "description": "Webhook routes: what a target gets, how, and its state."},
    {"name": "events", "description": "The platform's events, and the event catalogue."},
    {"name": "deliveries", "description": "One event bound to one route, with every attempt."},
    {"name": "recovery", "description": "Resend, replay and test events; the jobs that run them."},
    {"name": "objects", "description": "Platform objects kept to enrich payloads."},
    {"name": "metrics", "description": "Per-route counters, series and latency."},
    {"name": "notifications", "description": "E-mail and Slack notices when a route halts or is failing."},
    {
        "name": "ordergroove",
        "description": "Ordergroove's own webhook target API, for existing integrations.",
    },
    {"name": "health", "description": "Probes for load balancers and orchestrators (no key)."},
]


def build() -> FastAPI:
    app = FastAPI(
        title="hookline",
        version=__version__,
        description=f"{DESCRIPTION}\n\n{openapi.NO_NUL}",
        dependencies=[Depends(deps.refuse_nul), Depends(query.refuse_unknown)],
        docs_url=None,  # served by ``reference``, from assets in a package rather than a CDN
        redoc_url=None,
        openapi_tags=TAGS,
    )
    modules = (
        health,
        merchants,
        targets,
        jwks,
        routes,
        listen,
        events,
        deliveries,
        objects,
        metrics_api,
        notifications,
        prometheus,
    )
    for module in modules:
        app.include_router(module.router, responses=problems.RESPONSES)
    # /webhook_targets: Ordergroove-shaped, errors included
    app.include_router(ordergroove_api.router, responses=ordergroove_api.ERRORS)
    app.include_router(recovery_api.router, responses=problems.RESPONSES)  # resend, replay, tests, /v1/jobs
    problems.install(app)
    app.add_middleware(deadline.DatabaseDeadline)
    reference.install(app)
    return app


def build_probes() -> FastAPI:
    """What a worker process serves on its metrics port: ``/healthz``, ``/readyz`` and ``/metrics``."""
    app = FastAPI(
        title="hookline worker",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(query.refuse_unknown)],
    )
    app.include_router(health.router)
    app.include_router(prometheus.router)
    problems.install(app)
    app.add_middleware(deadline.DatabaseDeadline)
    return app
