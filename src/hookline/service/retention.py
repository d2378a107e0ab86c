"""Retention: purge what is older than the operator keeps, in small batches that never hold up delivery.

A finished delivery (success, failed, canceled) goes with its attempts once it finished more than the
retention ago; an event goes once it was received that long ago and has no delivery left. Pending and held
deliveries, and their events, stay however old they are. An earlier version of an object goes once it was
replaced more than the retention ago, unless a stored event was accepted while it was valid: a payload
built later for that event (a replay) shows it. ``hookline purge`` runs it once; the worker process
runs it every ``HOOKLINE_RETENTION_INTERVAL_S`` (first a minute after start, so a restart loop does not turn
into a purge loop). Several worker processes may purge at once: they delete by primary key, and the loser of
a race deletes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from hookline.core.errors import Unavailable
from hookline.storage import retention
from hookline.storage.database import Database

logger = logging.getLogger(__name__)

BATCH = 1000  # rows per transaction
PAUSE_S = 0.05  # between batches: other writers (SQLite has one at a time) get their turn
FIRST_RUN_S = 60.0


@dataclass(frozen=True, slots=True)
class Purged:
    deliveries: int = 0
    attempts: int = 0
    events: int = 0
    versions: int = 0
    batches: int = 0


async def purge(
    db: Database,
    older_than_s: float,
    *,
    now: float,
    batch: int = BATCH,
    pause_s: float = PAUSE_S,
    progress: Callable[[Purged], None] = lambda _: None,
) -> Purged:
    """Delete everything older than ``older_than_s`` seconds before ``now``, ``batch`` rows at a time;
    ``progress`` sees the running totals after each batch (``hookline purge``'s progress bar)."""
    cutoff = now - older_than_s
    deliveries = attempts = events = batches = 0
    while ids := await retention.old_deliveries(db, cutoff, batch):
        done, gone_attempts = await retention.purge_deliveries(db, ids, cutoff)
        deliveries, attempts, batches = deliveries + done, attempts + gone_attempts, batches + 1
        progress(Purged(deliveries, attempts, events, batches=batches))
        if done == 0:
            break  # all of them changed meanwhile (resent, or another worker purged them): next run
        await asyncio.sleep(pause_s)
    # Events after their deliveries: those were what kept most of them.
    while keys := await retention.old_events(db, cutoff, batch):
        done = await retention.purge_events(db, keys, cutoff)
        events, batches = events + done, batches + 1
        progress(Purged(deliveries, attempts, events, batches=batches))
        if done == 0:
            break
        await asyncio.sleep(pause_s)
    # Object versions last: the events purged above were what kept some of them.
    versions = 0
    while found := await retention.old_versions(db, cutoff, batch):
        done = await retention.purge_versions(db, found, cutoff)
        versions, batches = versions + done, batches + 1
        progress(Purged(deliveries, attempts, events, versions, batches))
        if done == 0:
            break
        await asyncio.sleep(pause_s)
    return Purged(deliveries, attempts, events, versions, batches)


async def would_purge(db: Database, older_than_s: float, *, now: float) -> Purged:
    """What ``purge`` would delete now, deleting nothing (``hookline purge --dry-run``)."""
    return Purged(*await retention.count(db, now - older_than_s))


async def run_periodically(
    db: Database,
    older_than_s: float,
    interval_s: float,
    *,
    first_run_s: float = FIRST_RUN_S,
    clock: Callable[[], float] = time.time,
) -> None:
    """Purge every ``interval_s`` seconds until cancelled; never raises (a failed run waits for the next)."""
    if older_than_s <= 0 or interval_s <= 0:
        return  # retention off: keep everything
    await asyncio.sleep(first_run_s)
    while True:
        try:
            purged = await purge(db, older_than_s, now=clock())
            if purged.deliveries or purged.events or purged.versions:
                logger.info(
                    "retention: purged %d deliveries, %d attempts, %d events, %d object versions "
                    "in %d batches",
                    purged.deliveries,
                    purged.attempts,
                    purged.events,
                    purged.versions,
                    purged.batches,
                )
        except Unavailable:
            logger.warning("retention: database unavailable; trying again in %gs", interval_s)
        except Exception:
            logger.exception("retention: purge failed; trying again in %gs", interval_s)
        await asyncio.sleep(interval_s)
