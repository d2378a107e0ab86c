"""The ASGI application: the API and the dashboard over a runtime (opened by the lifespan or the CLI)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from fastapi import FastAPI

from hookline import dashboard
from hookline.api import app as api_app
from hookline.api import bodies
from hookline.config import Settings
from hookline.runtime import Runtime, demo_merchant, open_runtime
from hookline.service import auth
from hookline.simulator import demo as demo_mode

logger = logging.getLogger(__name__)


def announce(runtime: Runtime) -> None:
    settings = runtime.settings
    if runtime.new_operator_key:
        print(f"hookline: operator key (shown once, keep it): {runtime.new_operator_key}", flush=True)
    print(f"hookline: listening on {http_url(settings.host, settings.port)} (docs at /docs)", flush=True)


def http_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def local_url(settings: Settings) -> str:
    """Where this process's API answers, from inside it (a wildcard bind address answers on loopback)."""
    host = "127.0.0.1" if settings.host in ("", "0.0.0.0", "::") else settings.host
    return http_url(host, settings.port)


def demo_settings(settings: Settings) -> Settings:
    """``serve --demo``'s settings: private targets allowed, so that the receiver on 127.0.0.1 can be one."""
    if settings.allow_private_targets:
        return settings
    print(
        "hookline: demo mode: private targets allowed (as HOOKLINE_ALLOW_PRIVATE_TARGETS=true), "
        "for the demo receiver on 127.0.0.1",
        flush=True,
    )
    return replace(settings, allow_private_targets=True)


async def _operator_key(runtime: Runtime, launch: demo_mode.Launch) -> str | None:
    """The operator key to show: the configured or new one, or the one an earlier demo wrote down if it
    still opens this database (keys are stored hashed: nothing else can show it again)."""
    known = runtime.settings.operator_key or runtime.new_operator_key
    if known:
        return known
    written = demo_mode.written_operator_key(launch.keys_file)
    if written is None or not await auth.is_operator_key(runtime.context, written):
        return None
    return written


@contextlib.asynccontextmanager
async def _demo(runtime: Runtime, launch: demo_mode.Launch) -> AsyncIterator[None]:
    """``serve --demo``: the demo merchant, then its receiver and the simulator for the app's lifetime."""
    settings = runtime.settings
    merchant_id, key = await demo_merchant(runtime.context, demo_mode.MERCHANT_NAME)
    demo = demo_mode.DemoSettings(
        local_url(settings), merchant_id, key, await _operator_key(runtime, launch), launch=launch
    )
    async with demo_mode.running(demo):
        yield


def create_app(
    settings: Settings, *, worker: bool, migrate_db: bool, demo: demo_mode.Launch | None = None
) -> FastAPI:
    """The app; its lifespan opens the runtime (and runs the worker in this process when asked).

    For tests and any ASGI server given this factory; the command line opens the runtime itself first
    (``serving_app``), so that a database it cannot use stops it with a sentence, not a traceback.
    With ``demo``, the lifespan also runs ``serve --demo``'s receiver and simulator.
    """
    if demo is not None:
        settings = demo_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_runtime(settings, worker=worker, migrate_db=migrate_db) as runtime,
            _serving(app, runtime, demo),
        ):
            yield

    return _app(lifespan, settings)


def serving_app(runtime: Runtime, demo: demo_mode.Launch | None = None) -> FastAPI:
    """The app over a runtime its caller opened (and closes after the server stops)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _serving(app, runtime, demo):
            yield

    return _app(lifespan, runtime.settings)


@contextlib.asynccontextmanager
async def _serving(app: FastAPI, runtime: Runtime, demo: demo_mode.Launch | None) -> AsyncIterator[None]:
    app.state.runtime = runtime
    app.state.context = runtime.context
    announce(runtime)
    async with _demo(runtime, demo) if demo is not None else contextlib.nullcontext():
        yield


def _app(
    lifespan: Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]], settings: Settings
) -> FastAPI:
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
