"""The ``hookline`` command: serve, api, worker, migrate, simulate, purge."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import json
import logging
import random
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import click
import uvicorn

from hookline import __version__, server
from hookline.asgi import create_app, create_probes_app
from hookline.config import Settings
from hookline.runtime import Runtime, database, open_runtime
from hookline.sender.api_client import ApiError
from hookline.service import retention
from hookline.simulator import driver
from hookline.storage import migrate as migrations


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run a command's coroutine on uvloop (about a third faster per request), or asyncio without it.

    Everything imported so far lives as long as the process: ``gc.freeze`` takes it out of the collector's
    view, so that a full collection, which would otherwise walk every module and stall the loop for tens
    of milliseconds, only walks what the process made since.
    """
    gc.collect()
    gc.freeze()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency through uvicorn[standard]
        asyncio.run(main)
    else:
        uvloop.run(main)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": record.created,
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(
            record, "fields", None
        )  # structured details: ``logger.warning(..., extra={"fields": …})``
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JsonFormatter() if settings.log_json else logging.Formatter(fmt))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)


def _settings(**overrides: Any) -> Settings:
    settings = Settings.from_env(**overrides)
    _setup_logging(settings)
    return settings


_db_option = click.option("--database-url", default=None, help="Overrides HOOKLINE_DATABASE_URL.")
_host_option = click.option("--host", default=None, help="Overrides HOOKLINE_HOST.")
_port_option = click.option("--port", type=int, default=None, help="Overrides HOOKLINE_PORT.")


@click.group()
@click.version_option(__version__)
def main() -> None:
    """hookline: webhook delivery for subscription commerce."""


def _serve(
    settings: Settings, *, worker: bool, migrate_db: bool, demo: bool = False, demo_port: int = 8081
) -> None:
    app = create_app(settings, worker=worker, migrate_db=migrate_db, demo=demo, demo_port=demo_port)
    config = server.config(
        app, settings, host=settings.host, port=settings.port, lifespan="on", timeout_graceful_shutdown=15
    )
    _run(uvicorn.Server(config).serve())


@main.command()
@_db_option
@_host_option
@_port_option
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
    help="The demo receiver's port.",
)
def serve(database_url: str | None, host: str | None, port: int | None, demo: bool, demo_port: int) -> None:
    """API and worker in one process (migrates the database first)."""
    settings = _settings(database_url=database_url, host=host, port=port)
    _serve(settings, worker=True, migrate_db=True, demo=demo, demo_port=demo_port)


@main.command()
@_db_option
@_host_option
@_port_option
def api(database_url: str | None, host: str | None, port: int | None) -> None:
    """The HTTP API alone (run ``hookline migrate`` first on PostgreSQL)."""
    settings = _settings(database_url=database_url, host=host, port=port)
    _serve(settings, worker=False, migrate_db=settings.database_url.startswith("sqlite"))


@main.command()
@_db_option
@_host_option
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve /metrics, /healthz and /readyz on this port (0: none). Overrides HOOKLINE_METRICS_PORT.",
)
def worker(database_url: str | None, host: str | None, metrics_port: int | None) -> None:
    """The delivery worker alone; any number may run against one PostgreSQL database."""
    settings = _settings(database_url=database_url, host=host, metrics_port=metrics_port)
    # Bound before anything starts: a port in use stops the worker at once, with the reason.
    probes = _listen(settings.host, settings.metrics_port) if settings.metrics_port else None
    _run(_work(settings, probes))


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise click.ClickException(f"cannot serve the worker's metrics on {host}:{port}: {exc}") from exc


async def _work(settings: Settings, probes: socket.socket | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(
        settings, worker=True, migrate_db=settings.database_url.startswith("sqlite")
    ) as runtime:
        if runtime.new_operator_key:
            print(f"hookline: operator key (shown once, keep it): {runtime.new_operator_key}", flush=True)
        async with _serving_probes(runtime, probes):
            print("hookline: worker running", flush=True)
            await stop.wait()
            click.echo("hookline: stopping: finishing in-flight deliveries", err=True)


class _ProbeServer(uvicorn.Server):
    """uvicorn without its signal handlers: the worker's own handle SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


@contextlib.asynccontextmanager
async def _serving_probes(runtime: Runtime, probes: socket.socket | None) -> AsyncIterator[None]:
    """``/metrics``, ``/healthz`` and ``/readyz`` on the bound socket while the block runs (if any)."""
    if probes is None:
        yield
        return
    config = server.config(create_probes_app(runtime), runtime.settings, lifespan="off")
    probe_server = _ProbeServer(config)
    task = asyncio.create_task(probe_server.serve(sockets=[probes]))
    host, port = probes.getsockname()[:2]
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    print(f"hookline: worker metrics at http://{where}/metrics", flush=True)
    try:
        yield
    finally:
        probe_server.should_exit = True
        await task
        probes.close()


@main.command()
@_db_option
def migrate(database_url: str | None) -> None:
    """Bring the database schema up to date."""
    settings = _settings(database_url=database_url)

    async def run() -> None:
        db = database(settings)
        try:
            await migrations.upgrade(db)
        finally:
            await db.close()

    asyncio.run(run())
    click.echo("hookline: database is up to date")


@main.command()
@click.option("--url", default=None, help="hookline's API [default: http://HOOKLINE_HOST:HOOKLINE_PORT].")
@click.option(
    "--key",
    default=None,
    help="The operator key (with --merchant) or a merchant key [default: HOOKLINE_OPERATOR_KEY].",
)
@click.option("--merchant", default=None, help="The merchant id the operator key sends for.")
@click.option(
    "--rate", type=click.FloatRange(min=0.01), default=10.0, show_default=True, help="Events a second."
)
@click.option(
    "--events", "count", type=click.IntRange(min=1), default=None, help="Stop after this many events."
)
@click.option(
    "--duration", type=click.FloatRange(min=0.1), default=None, help="Stop after this many seconds."
)
@click.option(
    "--batch", type=click.IntRange(1, 500), default=1, show_default=True, help="Events per request."
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="The same seed and start date give the same stream [default: random].",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Simulated start date (UTC) [default: now].",
)
def simulate(
    url: str | None,
    key: str | None,
    merchant: str | None,
    rate: float,
    count: int | None,
    duration: float | None,
    batch: int,
    seed: int | None,
    start: datetime.datetime | None,
) -> None:
    """Drive a simulated subscription program's events (and platform objects) into hookline.

    Runs until --events or --duration (whichever first), or Ctrl-C; prints its progress every second.
    """
    settings = _settings()
    key = key or settings.operator_key
    if not key:
        raise click.UsageError("give --key (a merchant key, or the operator key with --merchant)")
    seed = random.SystemRandom().randrange(10**6) if seed is None else seed
    begin = int(start.replace(tzinfo=datetime.UTC).timestamp()) if start else int(time.time())
    options = driver.Options(rate=rate, events=count, duration_s=duration, batch=batch, merchant=merchant)
    progress = driver.Progress()
    click.echo(f"simulate: seed {seed}, {rate:g} events/s, batches of {batch}")

    async def run() -> None:
        await driver.simulate(
            url or f"http://{settings.host}:{settings.port}",
            key,
            options,
            seed=seed,
            start=begin,
            on_tick=lambda p: click.echo(f"simulate: {p.line()}"),
            notice=lambda text: click.echo(f"simulate: {text}", err=True),
            progress=progress,
        )

    try:
        _run(run())
    except KeyboardInterrupt:
        click.echo("simulate: interrupted", err=True)
    except ApiError as exc:
        raise click.ClickException(f"{exc} (after {progress.sent} events)") from None
    click.echo(f"simulate: done: {progress.line().strip()}; seed {seed}")
    if progress.last_error:
        click.echo(f"simulate: last error: {progress.last_error}", err=True)


@main.command()
@_db_option
@click.option(
    "--older-than-days", type=float, default=None, help="Overrides HOOKLINE_RETENTION_DAYS for this run."
)
def purge(database_url: str | None, older_than_days: float | None) -> None:
    """Delete finished deliveries, their attempts and events older than the retention, once."""
    settings = _settings(database_url=database_url, retention_days=older_than_days)
    if settings.retention_days <= 0:
        click.echo("hookline: retention is off (HOOKLINE_RETENTION_DAYS=0): nothing purged")
        return

    async def run() -> None:
        db = database(settings)
        try:
            purged = await retention.purge(db, settings.retention_days * 86400, now=time.time())
        finally:
            await db.close()
        click.echo(
            f"hookline: purged {purged.deliveries} deliveries, {purged.attempts} attempts, "
            f"{purged.events} events and {purged.versions} object versions older than "
            f"{settings.retention_days:g} days"
        )

    _run(run())
