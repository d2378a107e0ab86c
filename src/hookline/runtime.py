"""The composition root: builds the database, the doorbell, the services and the worker from settings.

The only module that constructs adapters; everything else receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from hookline import telemetry
from hookline.config import Settings
from hookline.core import autohalt_policy, portal_settings
from hookline.core.credentials import Keyring
from hookline.core.failure_rate import Threshold
from hookline.sender import egress, port
from hookline.sender.curl import open_curl_sender
from hookline.sender.destinations.publisher import open_publisher
from hookline.sender.endpoint_auth import Authenticator
from hookline.sender.http import open_sender
from hookline.sender.mail import Mailer
from hookline.sender.mail import parse as parse_smtp_url
from hookline.service import auth, merchants, retention
from hookline.service.bulk_runner import BulkRunner, RunnerSettings
from hookline.service.context import Context
from hookline.service.listening import Hub, ListenSettings
from hookline.service.notifier import Notifier, NotifierSettings
from hookline.service.shaping import Limits as ShapingLimits
from hookline.service.shaping import Shaping
from hookline.service.throttle import FailureLimiter
from hookline.service.worker import Worker, WorkerSettings
from hookline.storage import preflight
from hookline.storage.database import Database
from hookline.storage.wakeup import Wakeup

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    context: Context
    new_operator_key: str | None = None
    worker: Worker | None = None
    bulk_runner: BulkRunner | None = None
    notifier: Notifier | None = None
    portal: portal_settings.Portal = field(default_factory=portal_settings.Portal)
    #: The ``hookline listen`` streams this process serves (docs/listen.md).
    listening: Hub = field(default_factory=Hub)


def worker_settings(settings: Settings) -> WorkerSettings:
    return WorkerSettings(
        concurrency=settings.concurrency,
        per_target=settings.per_target_concurrency,
        claim_batch=settings.claim_batch,
        poll_interval_s=settings.poll_interval_s,
        lease_s=settings.lease_s,
        auto_halt=autohalt_policy.Policy(settings.auto_halt_failures, settings.auto_halt_window_s),
    )


def listen_settings(settings: Settings) -> ListenSettings:
    chosen = worker_settings(settings)
    return ListenSettings(
        lease_s=chosen.lease_s, auto_halt=chosen.auto_halt, stream_s=settings.listen_stream_s
    )


def shaping_limits(settings: Settings) -> ShapingLimits:
    return ShapingLimits(
        event_units=settings.shaping_event_units,
        request_units=settings.shaping_request_units,
        merchant_units_per_s=settings.shaping_merchant_units_per_s,
    )


def open_http_sender(settings: Settings) -> contextlib.AbstractAsyncContextManager[port.Port]:
    """The worker's sender, on the HTTP client ``HOOKLINE_HTTP_CLIENT`` names."""
    options = port.Options(
        proxy=egress_proxy(settings),
        allow_private=settings.allow_private_targets,
        response_body_limit=settings.response_body_limit,
        max_connections=settings.concurrency,
        require_https=settings.require_https,
    )
    if settings.http_client == "aiohttp":
        return open_sender(options)
    if settings.http_client == "curl":
        return open_curl_sender(options)
    raise SystemExit(f"HOOKLINE_HTTP_CLIENT={settings.http_client!r} is not a client; use aiohttp or curl")


def egress_proxy(settings: Settings) -> egress.Proxy | None:
    """The proxy of ``HOOKLINE_EGRESS_PROXY``; None when it is empty (deliveries go out directly)."""
    if not settings.egress_proxy:
        return None
    try:
        return egress.parse(settings.egress_proxy)
    except ValueError as exc:
        raise SystemExit(
            f"HOOKLINE_EGRESS_PROXY={settings.egress_proxy!r} is not a proxy URL: {exc}"
        ) from None


def mailer(settings: Settings) -> Mailer | None:
    """The mailer of ``HOOKLINE_SMTP_URL``; None when it is empty (e-mail notices then wait)."""
    if not settings.smtp_url:
        return None
    try:
        server = parse_smtp_url(settings.smtp_url)
    except ValueError as exc:
        raise SystemExit(f"HOOKLINE_SMTP_URL is not an SMTP URL: {exc}") from None
    return Mailer(server, settings.smtp_from)


def notifier_settings(settings: Settings) -> NotifierSettings:
    if not 0 < settings.notify_failing_rate <= 1:
        raise SystemExit(f"HOOKLINE_NOTIFY_FAILING_RATE={settings.notify_failing_rate} must be in (0, 1]")
    return NotifierSettings(
        poll_interval_s=settings.poll_interval_s,
        lease_s=settings.lease_s,
        failing=Threshold(
            settings.notify_failing_rate,
            settings.notify_failing_min_attempts,
            settings.notify_failing_window_s,
        ),
        failing_every_s=settings.notify_failing_every_s,
        keep_s=settings.retention_days * 86400,
    )


NOTIFIER_GRACE_S = 5.0  # how long a stopping process lets notices being sent finish

EVENT_VALIDATION = ("strict", "flag")


def _event_validation(settings: Settings) -> str:
    if settings.event_validation not in EVENT_VALIDATION:
        raise SystemExit(
            f"HOOKLINE_EVENT_VALIDATION={settings.event_validation!r} is not a mode; use strict or flag"
        )
    return settings.event_validation


def portal(settings: Settings) -> portal_settings.Portal:
    """The embedded portal's settings; one that does not parse stops the start, naming it."""
    try:
        return portal_settings.parse(settings.portal_frame_ancestors, settings.portal_brand)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def keyring(settings: Settings) -> Keyring | None:
    """The keys sealing targets' endpoint credentials; None without ``HOOKLINE_SECRET_KEY``."""
    try:
        return Keyring.from_settings(settings.secret_key, settings.secret_key_old)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def database(settings: Settings) -> Database:
    """The database of ``settings``, its faults and recoveries counted in this process's metrics."""
    return Database(
        settings.database_url,
        pool_size=settings.pool_size,
        timeout_s=settings.db_timeout_s,
        connect_timeout_s=settings.db_connect_timeout_s,
        observer=telemetry.DATABASE,
    )


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, worker: bool, migrate_db: bool) -> AsyncIterator[Runtime]:
    """Everything a process needs, opened in order and closed in reverse.

    The database is checked first: one that cannot be opened, or whose schema is behind (when this process
    does not migrate it), stops the start with ``Unavailable`` / ``NotMigrated`` naming it and the fix.
    """
    portal_config = portal(settings)
    keys = keyring(settings)  # a malformed key stops the start before anything is opened
    egress_proxy(settings)  # and so does a malformed proxy
    db = database(settings)
    wakeup = Wakeup()
    context: Context | None = None
    try:
        await preflight.check(db, create=migrate_db)
        await preflight.require_migrated(db, migrating=migrate_db)
        context = Context(
            db=db,
            wakeup=wakeup,
            entitlements=settings.entitlements,
            event_validation=_event_validation(settings),
            allow_private_targets=settings.allow_private_targets,
            require_https=settings.require_https,
            keyring=keys,
            failures=FailureLimiter(
                settings.auth_failure_limit, settings.auth_failure_window_s, settings.auth_failure_addresses
            ),
            shaping=Shaping(shaping_limits(settings)),
        )
        runtime = Runtime(settings, context, portal=portal_config, listening=Hub(listen_settings(settings)))
        runtime.new_operator_key = await auth.ensure_operator_key(context, settings.operator_key)
        if not worker:
            yield runtime
            return
        await wakeup.listen(db)
        async with (
            open_http_sender(settings) as sender,
            open_publisher(allow_private=settings.allow_private_targets) as publisher,
        ):
            # Notices go out beside the worker, through the same guarded HTTP client (docs/notifications.md).
            runtime.notifier = Notifier(db, sender, mailer(settings), notifier_settings(settings))
            runtime.worker = Worker(
                db,
                sender,
                wakeup,
                worker_settings(settings),
                on_recorded=runtime.notifier.recorded,
                publisher=publisher,
                authenticator=Authenticator(keys),
            )
            # Ingestion in this process hands new deliveries straight to this worker.
            runtime.context = context = replace(context, dispatch=runtime.worker)
            task = asyncio.create_task(runtime.worker.run())
            purger = asyncio.create_task(
                retention.run_periodically(db, settings.retention_days * 86400, settings.retention_interval_s)
            )
            # Bulk resend and replay jobs run where the worker runs.
            runtime.bulk_runner = BulkRunner(
                context, RunnerSettings(poll_interval_s=settings.poll_interval_s, lease_s=settings.lease_s)
            )
            jobs_task = asyncio.create_task(runtime.bulk_runner.run())
            notices_task = asyncio.create_task(runtime.notifier.run())
            try:
                yield runtime
            finally:
                purger.cancel()
                runtime.notifier.stop()
                runtime.bulk_runner.stop()
                runtime.worker.stop()
                await task
                await jobs_task
                # A notice cut off here is sent again once its lease ends (at least once).
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(notices_task, NOTIFIER_GRACE_S)
                with contextlib.suppress(asyncio.CancelledError):
                    await purger
    finally:
        if context is not None:
            context.shaping.close()
        await wakeup.close()
        await db.close()


async def demo_merchant(context: Context, name: str) -> tuple[str, str]:
    """The demo merchant's id and a new API key of it, for ``serve --demo``.

    Made at the first start, found by name at later ones. Keys are stored hashed, so a later start cannot
    show the first key again: it adds a new one.
    """
    cursor: str | None = None
    while True:
        rows = await merchants.page(context, 500, cursor)
        for row in rows:
            if row.name == name:
                _, key = await merchants.add_key(context, row.id)
                return row.id, key
        if len(rows) < 500:
            break
        cursor = rows[-1].id
    row, key = await merchants.create(context, name)
    return row.id, key
