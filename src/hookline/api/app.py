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
    merchants,
    objects,
    openapi,
    problems,
    prometheus,
    query,
    routes,
    targets,
)
from hookline.api import metrics as metrics_api
from hookline.api import ordergroove as ordergroove_api
from hookline.api import recovery as recovery_api


def build() -> FastAPI:
    app = FastAPI(
        title="hookline",
        version=__version__,
        description="Webhook delivery for subscription commerce: routes, payloads, signing, retries. "
        + openapi.NO_NUL,
        dependencies=[Depends(deps.refuse_nul), Depends(query.refuse_unknown)],
    )
    modules = (health, merchants, targets, jwks, routes, events, deliveries, objects, metrics_api, prometheus)
    for module in modules:
        app.include_router(module.router, responses=problems.RESPONSES)
    # /webhook_targets: Ordergroove-shaped, errors included
    app.include_router(ordergroove_api.router, responses=ordergroove_api.ERRORS)
    app.include_router(recovery_api.router, responses=problems.RESPONSES)  # resend, replay, tests, /v1/jobs
    problems.install(app)
    app.add_middleware(deadline.DatabaseDeadline)
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
