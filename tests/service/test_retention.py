"""Retention: old finished deliveries, their attempts and old events go in batches; open, recent ones stay."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from hookline.core import ids
from hookline.service import retention
from hookline.storage import migrate
from hookline.storage import retention as retention_store
from hookline.storage.database import Database
from hookline.storage.tables import attempts, deliveries, delivery_bodies, events, merchants, object_versions

DAY = 86400.0
NOW = time.time()
OLD = NOW - 40 * DAY
RECENT = NOW - 1 * DAY
KEEP_S = 30 * DAY
MERCHANT = "mer_retention"


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await migrate.upgrade(database)
    async with database.write() as conn:
        await conn.execute(insert(merchants).values(id=MERCHANT, name="Old Co", created=OLD))
    try:
        yield database
    finally:
        await database.close()


class Rows:
    """Builds events, deliveries and attempts with chosen ages, straight into the tables."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.attempts: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []

    def event(self, name: str, received: float) -> str:
        self.events.append(
            {
                "merchant_id": MERCHANT,
                "id": name,
                "type": "order.success",
                "created": int(received),
                "received": received,
                "body_hash": "0" * 64,
                "object_id": None,
                "customer_id": None,
                "object": {"type": "order"},
                "context": None,
            }
        )
        return name

    def delivery(
        self,
        event_id: str,
        status: str,
        created: float,
        completed: float | None = None,
        tries: int = 1,
        body: str | None = None,
    ) -> str:
        """A delivery, with a body of its own or the body of the delivery ``body`` (of the same event)."""
        delivery_id = ids.new("dlv", now=created)
        if body is None:
            body = delivery_id
            self.bodies.append({"id": body, "merchant_id": MERCHANT, "event_id": event_id, "body": b"{}"})
        finished = status in ("success", "failed", "canceled")
        self.deliveries.append(
            {
                "id": delivery_id,
                "merchant_id": MERCHANT,
                "event_id": event_id,
                "event_type": "order.success",
                "route_id": "rte_x",
                "target_id": "tgt_x",
                "status": status,
                "attempts": tries,
                "attempt_base": 0,
                "next_attempt_at": None if finished else NOW + 60,
                "created": created,
                "completed": (completed or created + 5) if finished else None,
                "last_response_status": None,
                "last_error": None,
                "body_id": body,
                "is_test": False,
            }
        )
        for number in range(1, tries + 1):
            self.attempts.append(
                {
                    "id": ids.new("att", now=created),
                    "delivery_id": delivery_id,
                    "number": number,
                    "started": created + number,
                    "duration_ms": 3.0,
                    "request_headers": {},
                    "response_status": 500,
                    "response_headers": {},
                    "response_body": "",
                    "error_kind": "status",
                    "error": None,
                }
            )
        return delivery_id

    async def store(self, db: Database) -> None:
        async with db.write() as conn:
            for table, rows in (
                (events, self.events),
                (deliveries, self.deliveries),
                (attempts, self.attempts),
                (delivery_bodies, self.bodies),
            ):
                if rows:
                    await conn.execute(insert(table), rows)


async def _ids(db: Database, column: Any) -> set[str]:
    async with db.read() as conn:
        return set((await conn.execute(select(column))).scalars())


async def _count(db: Database, table: Any) -> int:
    async with db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_purges_old_finished_rows_and_keeps_open_and_recent_ones(db: Database) -> None:
    rows = Rows()
    gone_events = [rows.event("e-done", OLD), rows.event("e-bare", OLD)]
    gone = [rows.delivery("e-done", "success", OLD, tries=2)]
    gone += [
        rows.delivery("e-done", "failed", OLD, tries=3, body=gone[0]),  # one body for both
        rows.delivery("e-done", "canceled", OLD, tries=0),
    ]
    kept_events = [
        rows.event("e-pending", OLD),
        rows.event("e-held", OLD),
        rows.event("e-mixed", OLD),
        rows.event("e-recent", RECENT),
        rows.event("e-resent", OLD),
        rows.event("e-bare-recent", RECENT),
    ]
    kept = [
        rows.delivery("e-pending", "pending", OLD, tries=4),
        rows.delivery("e-held", "held", OLD, tries=2),
        rows.delivery("e-mixed", "pending", OLD),
        rows.delivery("e-recent", "success", RECENT),
        # Created long ago, resent and finished yesterday: it ages from its completion.
        rows.delivery("e-resent", "success", OLD, completed=RECENT),
    ]
    # Its body is the pending delivery's too: it stays with that one.
    gone.append(rows.delivery("e-mixed", "success", OLD, tries=1, body=kept[2]))
    await rows.store(db)

    counted = await retention.would_purge(db, KEEP_S, now=NOW)
    seen: list[retention.Purged] = []
    purged = await retention.purge(db, KEEP_S, now=NOW, pause_s=0, progress=seen.append)

    assert (purged.deliveries, purged.attempts, purged.events) == (4, 6, 2)
    assert (counted.deliveries, counted.attempts, counted.events) == (4, 6, 2)  # the dry run's count
    assert seen[-1] == purged and [p.batches for p in seen] == list(range(1, purged.batches + 1))
    assert await _ids(db, deliveries.c.id) == set(kept)
    assert await _ids(db, events.c.id) == set(kept_events)
    assert not set(gone_events) & await _ids(db, events.c.id)
    remaining_attempts = await _ids(db, attempts.c.delivery_id)
    assert remaining_attempts == {kept[0], kept[1], kept[2], kept[3], kept[4]}
    assert await _ids(db, delivery_bodies.c.id) == set(kept)
    # A second run finds nothing more.
    again = await retention.purge(db, KEEP_S, now=NOW, pause_s=0)
    assert (again.deliveries, again.attempts, again.events) == (0, 0, 0)


def _version(kind: str, key: str, since: float, until: float, merchant: str = MERCHANT) -> dict[str, Any]:
    return {
        "merchant_id": merchant,
        "kind": kind,
        "public_id": key,
        "valid_from": since,
        "valid_until": until,
        "data": {"public_id": key},
        "parent_id": None,
    }


async def test_purges_the_object_versions_no_event_needs(db: Database) -> None:
    rows = Rows()
    rows.event("e-open", OLD)  # kept: a pending delivery
    rows.delivery("e-open", "pending", OLD)
    rows.event("e-done", OLD - 3 * DAY)  # purged with its finished delivery, in the same run
    rows.delivery("e-done", "success", OLD - 3 * DAY)
    await rows.store(db)
    async with db.write() as conn:
        await conn.execute(insert(merchants).values(id="mer_other", name="Other", created=OLD))
        await conn.execute(
            insert(object_versions),
            [
                _version("order", "no-event", OLD - 10 * DAY, OLD - 5 * DAY),
                _version("order", "needed", OLD - DAY, OLD + 1),  # e-open was accepted while it was valid
                _version("order", "ends-on-it", OLD - DAY, OLD),  # valid until e-open: e-open saw the next
                _version("order", "its-event-purged", OLD - 4 * DAY, OLD - 2 * DAY),
                _version("order", "replaced-lately", OLD, RECENT),  # within the retention: kept
                _version("order", "needed", OLD - DAY, OLD + 1, merchant="mer_other"),  # not its event
            ],
        )

    counted = await retention.would_purge(db, KEEP_S, now=NOW)
    purged = await retention.purge(db, KEEP_S, now=NOW, pause_s=0)

    assert purged.events == 1 and purged.versions == 4
    assert counted == retention.Purged(1, 1, 1, 4)  # the dry run counts what the purge then deletes
    async with db.read() as conn:
        left = (await conn.execute(select(object_versions.c.merchant_id, object_versions.c.public_id))).all()
    assert sorted(left) == [(MERCHANT, "needed"), (MERCHANT, "replaced-lately")]
    assert (await retention.purge(db, KEEP_S, now=NOW, pause_s=0)).versions == 0


async def test_purges_in_batches(db: Database) -> None:
    rows = Rows()
    for i in range(25):
        rows.delivery(rows.event(f"e-{i}", OLD - i), "success", OLD - i, tries=1)
    rows.delivery(rows.event("e-open", OLD), "pending", OLD)
    await rows.store(db)

    purged = await retention.purge(db, KEEP_S, now=NOW, batch=10, pause_s=0)

    assert (purged.deliveries, purged.attempts, purged.events) == (25, 25, 25)
    assert purged.batches >= 6  # three of deliveries, three of events at most 10 rows each
    assert await _count(db, deliveries) == 1
    assert await _ids(db, events.c.id) == {"e-open"}


async def test_a_delivery_reopened_after_it_was_found_is_not_deleted(db: Database) -> None:
    rows = Rows()
    reopened = rows.delivery(rows.event("e-1", OLD), "failed", OLD, tries=2)
    await rows.store(db)
    found = await retention_store.old_deliveries(db, NOW - KEEP_S, 10)
    assert found == [reopened]
    # A resend between the read and the delete makes it pending again.
    async with db.write() as conn:
        await conn.execute(
            deliveries.update().where(deliveries.c.id == reopened).values(status="pending", completed=None)
        )
    assert await retention_store.purge_deliveries(db, found, NOW - KEEP_S) == (0, 0)
    assert await _count(db, attempts) == 2


async def test_the_worker_process_purges_periodically(db: Database) -> None:
    rows = Rows()
    rows.delivery(rows.event("e-1", OLD), "success", OLD)
    await rows.store(db)
    task = asyncio.create_task(retention.run_periodically(db, KEEP_S, 0.2, first_run_s=0.1))
    try:
        deadline = time.monotonic() + 15
        while await _count(db, events):
            assert time.monotonic() < deadline, "the periodic purge did not run"
            await asyncio.sleep(0.05)
        assert await _count(db, deliveries) == 0 and await _count(db, attempts) == 0
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_retention_zero_keeps_everything(db: Database) -> None:
    # Returns at once: nothing scheduled.
    await asyncio.wait_for(retention.run_periodically(db, 0, 600), 1)


async def _purge_command(db_url: str, *args: str, tty_answer: str | None = None) -> tuple[int, str, str]:
    """``python -m hookline purge --database-url db_url *args``: (exit code, stdout, stderr). With
    ``tty_answer``, stdin is a terminal on which that answer is typed (the confirmation prompt)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    command = [sys.executable, "-m", "hookline", "purge", "--database-url", db_url, *args]
    if tty_answer is None:
        stdin: int = asyncio.subprocess.DEVNULL
    else:
        master, stdin = pty.openpty()
        os.write(master, tty_answer.encode())
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=stdin, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if tty_answer is not None:
            os.close(master)
            os.close(stdin)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_purge_command(db: Database, db_url: str) -> None:
    rows = Rows()
    rows.delivery(rows.event("e-old", OLD), "success", OLD, tries=2)
    rows.delivery(rows.event("e-new", RECENT), "success", RECENT)
    await rows.store(db)

    code, out, err = await _purge_command(db_url, "--older-than-days", "30", "--dry-run")
    assert code == 0, err
    assert "would delete 1 deliveries, 2 attempts, 1 events and 0 object versions from before" in out
    assert await _ids(db, events.c.id) == {"e-old", "e-new"}

    # Without a terminal to ask on, it refuses rather than delete unasked.
    code, out, err = await _purge_command(db_url, "--older-than-days", "30")
    assert code == 2, err
    assert "not without confirmation; pass --yes" in err
    assert await _ids(db, events.c.id) == {"e-old", "e-new"}

    code, out, err = await _purge_command(db_url, "--older-than-days", "30", "--yes")
    assert code == 0, err
    assert "purged 1 deliveries, 2 attempts, 1 events and 0 object versions older than 30 days" in out
    assert await _ids(db, events.c.id) == {"e-new"}


async def test_purge_asks_and_a_no_deletes_nothing(db: Database, db_url: str) -> None:
    rows = Rows()
    rows.delivery(rows.event("e-old", OLD), "failed", OLD, tries=3)
    await rows.store(db)

    code, out, err = await _purge_command(db_url, tty_answer="n\n")
    assert code == 1, err
    assert (
        "Delete 1 deliveries, 3 attempts, 1 events and 0 object versions" in err and "nothing deleted" in err
    )
    assert await _count(db, deliveries) == 1

    code, out, err = await _purge_command(db_url, "--json", tty_answer="y\n")
    assert code == 0, err
    report = json.loads(out)
    assert (report["deliveries"], report["attempts"], report["events"], report["dry_run"]) == (1, 3, 1, False)
    assert await _count(db, deliveries) == 0 and await _count(db, events) == 0
