"""The composition root: builds the database, the doorbell, the services and the worker from settings.

The only module that constructs adapters; everything else receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from hookline.config import Settings
from hookline.sender.http import open_sender
from hookline.service import auth
from hookline.service.context import Context
from hookline.storage import migrate
from hookline.storage.database import Database
from hookline.storage.wakeup import Wakeup
from hookline.worker import Worker, WorkerSettings

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    context: Context
    new_operator_key: str | None = None
    worker: Worker | None = None


def worker_settings(settings: Settings) -> WorkerSettings:
    return WorkerSettings(
        concurrency=settings.concurrency,
        per_target=settings.per_target_concurrency,
        claim_batch=settings.claim_batch,
        poll_interval_s=settings.poll_interval_s,
        lease_s=settings.lease_s,
    )


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, worker: bool, migrate_db: bool) -> AsyncIterator[Runtime]:
    """Everything a process needs, opened in order and closed in reverse."""
    db = Database(settings.database_url, pool_size=settings.pool_size)
    wakeup = Wakeup()
    try:
        if migrate_db:
            await migrate.upgrade(db)
        context = Context(
            db=db,
            wakeup=wakeup,
            entitlements=settings.entitlements,
            allow_private_targets=settings.allow_private_targets,
            require_https=settings.require_https,
        )
        runtime = Runtime(settings, context)
        runtime.new_operator_key = await auth.ensure_operator_key(context, settings.operator_key)
        if not worker:
            yield runtime
            return
        await wakeup.listen(db)
        async with open_sender(
            allow_private=settings.allow_private_targets,
            response_body_limit=settings.response_body_limit,
            max_connections=settings.concurrency,
            require_https=settings.require_https,
        ) as sender:
            runtime.worker = Worker(db, sender, wakeup, worker_settings(settings))
            task = asyncio.create_task(runtime.worker.run())
            try:
                yield runtime
            finally:
                runtime.worker.stop()
                await task
    finally:
        await wakeup.close()
        await db.close()
