"""The ASGI application: the API (and later the dashboard) over a runtime opened in the lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from hookline.api import app as api_app
from hookline.config import Settings
from hookline.runtime import Runtime, open_runtime

logger = logging.getLogger(__name__)


def announce(runtime: Runtime) -> None:
    settings = runtime.settings
    if runtime.new_operator_key:
        print(f"hookline: operator key (shown once, keep it): {runtime.new_operator_key}", flush=True)
    print(f"hookline: listening on http://{settings.host}:{settings.port} (docs at /docs)", flush=True)


def create_app(settings: Settings, *, worker: bool, migrate_db: bool) -> FastAPI:
    """The app; its lifespan opens the runtime (and runs the worker in this process when asked)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, worker=worker, migrate_db=migrate_db) as runtime:
            app.state.runtime = runtime
            app.state.context = runtime.context
            announce(runtime)
            yield

    app = api_app.build()
    app.router.lifespan_context = lifespan
    return app
