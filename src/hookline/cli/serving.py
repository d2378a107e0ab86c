"""``hookline serve``, ``api`` and ``worker``: the long-running processes.

Start-up goes in an order an operator can rely on: the settings are read (an invalid one stops it), the
ports are bound (a busy one stops it), the database is checked and migrated (or found migrated), and only
then is an operator key generated and printed and the server started. A failure at any step is one line
naming what and where, and an exit code (``exits``); ``--debug`` adds the traceback.

SIGTERM or Ctrl-C: the process says so, stops accepting requests, lets the worker finish what it has in
flight (up to 10 s) and hands back the rest, then says it stopped. A second Ctrl-C stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hookline.cli import loop, options, sockets
from hookline.config import Settings

if TYPE_CHECKING:
    import uvicorn

    from hookline.runtime import Runtime
    from hookline.simulator.demo import Launch

PORT_SETTING = "--port / HOOKLINE_PORT"


def say(line: str) -> None:
    click.echo(f"hookline: {line}", err=True)


@click.command()
@options.database_url
@options.host
@options.port
@click.option(
    "--demo",
    is_flag=True,
    help="Also run a demo: a local receiver, a demo merchant's routes to it, and the simulator feeding it.",
)
@click.option(
    "--demo-port",
    type=click.IntRange(0, 65535),
    default=8081,
    show_default=True,
    help="The demo receiver's port on 127.0.0.1 (0: any free port; a port in use is an error).",
)
@click.option(
    "--demo-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    default="hookline-demo.env",
    show_default=True,
    help="With --demo: the file the keys are written to (mode 0600; `. ./hookline-demo.env` in a shell).",
)
@click.option("--quiet", "-q", is_flag=True, help="With --demo: a summary every 5 s, not a line per webhook.")
def serve(
    database_url: str | None,
    host: str | None,
    port: int | None,
    demo: bool,
    demo_port: int,
    demo_keys: Path,
    quiet: bool,
) -> None:
    """API, worker and dashboard in one process (migrates the database first)."""
    if quiet and not demo:
        raise click.UsageError("--quiet goes with --demo")
    settings = options.settings(database_url=database_url, host=host, port=port)
    api_socket = sockets.bind(settings.host, settings.port, what="the API", setting=PORT_SETTING)
    launch = None
    if demo:
        from hookline import asgi
        from hookline.simulator.demo import Launch

        receiver = sockets.bind("127.0.0.1", demo_port, what="the demo receiver", setting="--demo-port")
        launch = Launch(receiver=receiver, quiet=quiet, keys_file=demo_keys)
        settings = asgi.demo_settings(settings)
    settings = replace(settings, port=sockets.port_of(api_socket))
    loop.run(_serve(settings, api_socket, worker=True, migrate_db=True, demo=launch))


@click.command()
@options.database_url
@options.host
@options.port
def api(database_url: str | None, host: str | None, port: int | None) -> None:
    """The HTTP API and dashboard alone (run `hookline migrate` first)."""
    settings = options.settings(database_url=database_url, host=host, port=port)
    api_socket = sockets.bind(settings.host, settings.port, what="the API", setting=PORT_SETTING)
    settings = replace(settings, port=sockets.port_of(api_socket))
    migrate_db = settings.database_url.startswith("sqlite")
    loop.run(_serve(settings, api_socket, worker=False, migrate_db=migrate_db, demo=None))


async def _serve(
    settings: Settings, api_socket: socket.socket, *, worker: bool, migrate_db: bool, demo: Launch | None
) -> None:
    from hookline import asgi
    from hookline import server as http_server
    from hookline.runtime import open_runtime

    async with open_runtime(settings, worker=worker, migrate_db=migrate_db) as runtime:
        app = asgi.serving_app(runtime, demo)
        config = http_server.config(app, settings, lifespan="on", timeout_graceful_shutdown=15)
        server = _server(config)
        with _stopping_on_signals(server, worker=worker):
            await server.serve(sockets=[api_socket])
    say("stopped")


def _server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn without its signal handlers (ours say what happens, and let the runtime close afterwards:
    uvicorn's would raise the signal again once it has stopped, ending the process before the worker has
    finished its deliveries)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


@contextlib.contextmanager
def _stopping_on_signals(
    server: uvicorn.Server | None, *, worker: bool, stop: Callable[[], None] | None = None
) -> Iterator[None]:
    """SIGTERM and SIGINT stop ``server`` (and call ``stop``), saying so; a second SIGINT forces it."""
    running = asyncio.get_running_loop()

    def received(sig: signal.Signals) -> None:
        if server is not None and server.should_exit:
            if sig == signal.SIGINT:
                say("stopping now")
                server.force_exit = True
            return
        draining = "; finishing in-flight deliveries (up to 10 s)" if worker else ""
        say(f"{sig.name} received: stopping{draining}")
        if server is not None:
            server.should_exit = True
        if stop is not None:
            stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        running.add_signal_handler(sig, received, sig)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            running.remove_signal_handler(sig)


@click.command()
@options.database_url
@options.host
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve /metrics, /healthz and /readyz on this port (0: none) [env: HOOKLINE_METRICS_PORT].",
)
def worker(database_url: str | None, host: str | None, metrics_port: int | None) -> None:
    """The delivery worker alone; any number may share one database."""
    settings = options.settings(database_url=database_url, host=host, metrics_port=metrics_port)
    probes = None
    if settings.metrics_port:
        setting = "--metrics-port / HOOKLINE_METRICS_PORT"
        probes = sockets.bind(
            settings.host, settings.metrics_port, what="the worker's metrics", setting=setting
        )
    loop.run(_work(settings, probes))


async def _work(settings: Settings, probes: socket.socket | None = None) -> None:
    from hookline.runtime import open_runtime

    stop = asyncio.Event()
    migrate_db = settings.database_url.startswith("sqlite")
    async with open_runtime(settings, worker=True, migrate_db=migrate_db) as runtime:
        if runtime.new_operator_key:
            print(f"hookline: operator key (shown once, keep it): {runtime.new_operator_key}", flush=True)
        async with _serving_probes(runtime, probes):
            print("hookline: worker running", flush=True)
            with _stopping_on_signals(None, worker=True, stop=stop.set):
                await stop.wait()
    say("stopped")


@contextlib.asynccontextmanager
async def _serving_probes(runtime: Runtime, probes: socket.socket | None) -> AsyncIterator[None]:
    """``/metrics``, ``/healthz`` and ``/readyz`` on the bound socket while the block runs (if any)."""
    if probes is None:
        yield
        return
    from hookline import server as http_server
    from hookline.asgi import create_probes_app, http_url

    config = http_server.config(create_probes_app(runtime), runtime.settings, lifespan="off")
    server = _server(config)
    task = asyncio.create_task(server.serve(sockets=[probes]))
    host, port = probes.getsockname()[:2]
    print(f"hookline: worker metrics at {http_url(host, port)}/metrics", flush=True)
    try:
        yield
    finally:
        server.should_exit = True
        await task
        probes.close()
