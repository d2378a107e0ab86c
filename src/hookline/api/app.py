"""The API application: routers and the problem handlers."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from hookline import __version__
from hookline.api import deliveries, deps, events, health, merchants, problems, routes, targets


def build() -> FastAPI:
    app = FastAPI(
        title="hookline",
        version=__version__,
        description="Webhook delivery for subscription commerce: routes, payloads, signing, retries.",
        dependencies=[Depends(deps.refuse_nul)],
    )
    for module in (health, merchants, targets, routes, events, deliveries):
        app.include_router(module.router)
    problems.install(app)
    return app
