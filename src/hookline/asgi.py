"""The ASGI application: the API and the dashboard over a runtime opened in the lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace

from fastapi import FastAPI

from hookline import dashboard
from hookline.api import app as api_app
from hookline.api import bodies
from hookline.config import Settings
from hookline.runtime import Runtime, demo_merchant, open_runtime
from hookline.simulator import demo as demo_mode

logger = logging.getLogger(__name__)


def announce(runtime: Runtime) -> None:
    settings = runtime.settings
    if runtime.new_operator_key:
        print(f"hookline: operator key (shown once, keep it): {runtime.new_operator_key}", flush=True)
    print(f"hookline: listening on http://{settings.host}:{settings.port} (docs at /docs)", flush=True)


def local_url(settings: Settings) -> str:
    """Where this process's API answers, from inside it (a wildcard bind address answers on loopback)."""
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    return f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"


def _demo_settings(settings: Settings) -> Settings:
    if settings.allow_private_targets:
        return settings
    print(
        "hookline: demo mode: private targets allowed (as HOOKLINE_ALLOW_PRIVATE_TARGETS=true), "
        "for the demo receiver on 127.0.0.1",
        flush=True,
    )
    return replace(settings, allow_private_targets=True)


@contextlib.asynccontextmanager
async def _demo(runtime: Runtime, receiver_port: int) -> AsyncIterator[None]:
    """``serve --demo``: the demo merchant, then its receiver and the simulator for the app's lifetime."""
    settings = runtime.settings
    merchant_id, key = await demo_merchant(runtime.context, demo_mode.MERCHANT_NAME)
    operator_key = settings.operator_key or runtime.new_operator_key or "(shown at the first start only)"
    demo = demo_mode.DemoSettings(
        local_url(settings), merchant_id, key, operator_key, receiver_port=receiver_port
    )
    async with demo_mode.running(demo):
        yield


def create_app(
    settings: Settings,
    *,
    worker: bool,
    migrate_db: bool,
    demo: bool = False,
    demo_port: int = demo_mode.RECEIVER_PORT,
) -> FastAPI:
    """The app; its lifespan opens the runtime (and runs the worker in this process when asked).

    With ``demo``, the lifespan also runs ``serve --demo``'s receiver (on ``demo_port``, or a free port) and
    simulator, and private targets are allowed so that the receiver on 127.0.0.1 can be a target.
    """
    if demo:
        settings = _demo_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, worker=worker, migrate_db=migrate_db) as runtime:
            app.state.runtime = runtime
            app.state.context = runtime.context
            announce(runtime)
            async with _demo(runtime, demo_port) if demo else contextlib.nullcontext():
                yield

    app = api_app.build()
    dashboard.mount(app)
    app.add_middleware(bodies.BodyGuard, limits=bodies.Limits.of(settings))
    app.router.lifespan_context = lifespan
    return app


def create_probes_app(runtime: Runtime) -> FastAPI:
    """A worker process's ``/healthz``, ``/readyz`` and ``/metrics``, over its open runtime."""
    app = api_app.build_probes()
    app.state.runtime = runtime
    app.state.context = runtime.context
    return app
