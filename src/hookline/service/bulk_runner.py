"""The bulk runner: carries out bulk jobs (bulk resend, replay) next to the delivery worker.

It claims one job at a time with a lease (``storage.bulk_jobs``), runs it batch by batch, and renews the lease
with every batch. Jobs are found by polling, every ``poll_interval_s``: they are rare and long, so a second
of delay before one starts costs nothing, and polling works the same for one process on SQLite and for many
on PostgreSQL. The poll is a plain read; only a claimable job leads to a write.

A process that dies leaves its job's lease to run out; any runner then resumes the job from its last
committed batch. A runner that is stopped gives its job back at once (the lease is dropped), so a restart
resumes it without waiting for the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from hookline.core.errors import HooklineError, Unavailable
from hookline.service import recovery
from hookline.service.context import Context
from hookline.storage import bulk_jobs
from hookline.storage.bulk_jobs import Lease, LeaseLost

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    batch_size: int = recovery.BATCH
    poll_interval_s: float = 1.0
    lease_s: float = 60.0
    retry_pause_s: float = 1.0  # after a database outage


class BulkRunner:
    """Runs jobs until ``stop`` is called."""

    def __init__(self, ctx: Context, settings: RunnerSettings | None = None) -> None:
        self._ctx = ctx
        self._settings = settings or RunnerSettings()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Stop after the batch in flight; the job is given back, to be resumed from its cursor."""
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = await self.run_one()
            except Unavailable:
                # Logged where it happened (``storage.availability``), at most every few seconds.
                worked = False
            except Exception:
                logger.exception("bulk runner round failed; retrying")
                worked = False
            if not worked:
                await self._pause(self._settings.poll_interval_s)

    async def run_until_idle(self) -> int:
        """Run jobs until none is claimable; the number run (for tests and one-off use)."""
        count = 0
        while not self._stopping.is_set() and await self.run_one():
            count += 1
        return count

    async def claim(self) -> Lease | None:
        return await bulk_jobs.claim(self._ctx.db, self._ctx.clock(), self._settings.lease_s)

    async def run_one(self) -> bool:
        """Claim a job and run it to its end (or until it is lost or we stop); False when there was none."""
        lease = await self.claim()
        if lease is None:
            return False
        logger.info("job %s (%s) started", lease.job.id, lease.job.kind)
        while lease is not None:
            if self._stopping.is_set():
                with contextlib.suppress(Unavailable):
                    await bulk_jobs.release(self._ctx.db, lease, self._ctx.clock())
                return True
            lease = await self.step(lease)
        return True

    async def step(self, lease: Lease) -> Lease | None:
        """One batch of the job; the lease to go on with, or None when the job is finished or not ours."""
        job_id = lease.job.id
        try:
            after = await recovery.run_batch(
                self._ctx, lease, self._settings.batch_size, self._settings.lease_s
            )
        except LeaseLost:
            logger.warning("job %s: lease lost to another runner; leaving it", job_id)
            return None
        except Unavailable:
            logger.warning("job %s: database unavailable; retrying the batch", job_id)
            await self._pause(self._settings.retry_pause_s)
            return lease  # if the lease runs out meanwhile, the next try finds it lost
        except HooklineError as exc:
            await self._fail(lease, exc.detail)
            return None
        except Exception as exc:
            logger.exception("job %s failed", job_id)
            await self._fail(lease, f"internal error: {type(exc).__name__}")
            return None
        if after is None:
            logger.info("job %s finished", job_id)
        return after

    async def _fail(self, lease: Lease, error: str) -> None:
        logger.warning("job %s failed: %s", lease.job.id, error)
        with contextlib.suppress(Unavailable):
            await bulk_jobs.fail(self._ctx.db, lease, error, self._ctx.clock())

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
