"""Bytes written per delivery: what storing a delivery and recording its one successful attempt writes, with
fan-out 1 and fan-out 10 (issue 19, goal 5).

In one process, on a fresh database: a merchant with ``F`` routes taking ``order.*`` (the same default
payload shape), ``N`` realistic order events ingested in batches through ``service.ingest`` (no worker, no
HTTP), then every delivery claimed and recorded as a 200 through ``storage.queue`` in batches, as a worker
does. Measured per delivery:

- PostgreSQL: the write-ahead log the server generated (``pg_current_wal_lsn`` before and after each
  phase; every change it stores passes through it) and the tables' size at the end
  (``pg_total_relation_size`` of every table, indexes and TOAST included);
- SQLite: the bytes this process wrote to the database's files (``wchar`` of ``/proc/self/io``: the
  write-ahead log's frames and the checkpoints that copy them back), and the file's size at the end.

    .venv/bin/python bench/bytes_written.py --engine postgres --events 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from common import database, event_body, order_routes, write
from sqlalchemy import text

from hookline.config import Settings
from hookline.core import autohalt_policy
from hookline.core.models import DeliveryStatus, Outcome, Result
from hookline.runtime import open_runtime
from hookline.service import ingest
from hookline.storage import queue
from hookline.storage.database import Database

_BATCH = 100


def _written() -> int:
    """Bytes this process has written through ``write`` and friends so far."""
    with open(f"/proc/{os.getpid()}/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar:"))


async def _wal(db: Database) -> int:
    async with db.read() as conn:
        lsn = (await conn.execute(text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))).scalar_one()
        return int(lsn)


async def _mark(db: Database) -> int:
    return await _wal(db) if db.is_postgres else _written()


async def _stored(db: Database) -> int:
    """The database's size: every table with its indexes (PostgreSQL), the file (SQLite)."""
    async with db.read() as conn:
        if db.is_postgres:
            query = (
                "SELECT sum(pg_total_relation_size(oid)) FROM pg_class"
                " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
            return int((await conn.execute(text(query))).scalar_one())
        pages = (await conn.execute(text("PRAGMA page_count"))).scalar_one()
        size = (await conn.execute(text("PRAGMA page_size"))).scalar_one()
        return int(pages) * int(size)


async def _drain(db: Database, total: int) -> None:
    """Claim every delivery and record it as a 200, a batch at a time."""
    done = 0
    policy = autohalt_policy.Policy()
    while done < total:
        now = time.time()
        jobs = await queue.claim(db, now, _BATCH, 60)
        if not jobs:
            raise RuntimeError(f"only {done} of {total} deliveries could be claimed")
        results = [
            Result(
                job,
                Outcome(started=now, duration_ms=1.0, request_headers={}, status=200),
                DeliveryStatus.SUCCESS,
                None,
                now,
            )
            for job in jobs
        ]
        await queue.record(db, results, policy=policy)
        done += len(jobs)


async def run(engine: str, events: int, fan_out: int) -> dict[str, Any]:
    async with database(engine) as url:
        settings = Settings(database_url=url, operator_key="hl_op_bench", log_level="WARNING")
        async with open_runtime(settings, worker=False, migrate_db=True) as runtime:
            ctx = runtime.context
            merchant_id = await order_routes(ctx, fan_out)
            before = await _mark(ctx.db)
            for start in range(0, events, _BATCH):
                await ingest.ingest(ctx, merchant_id, [event_body(i) for i in range(start, start + _BATCH)])
            ingested = await _mark(ctx.db)
            deliveries = events * fan_out
            await _drain(ctx.db, deliveries)
            drained = await _mark(ctx.db)
            stored = await _stored(ctx.db)
    return {
        "engine": engine,
        "events": events,
        "fan_out": fan_out,
        "deliveries": deliveries,
        "measure": "WAL bytes" if engine == "postgres" else "bytes written by the process",
        "ingest_bytes_per_delivery": round((ingested - before) / deliveries),
        "delivery_bytes_per_delivery": round((drained - ingested) / deliveries),
        "total_bytes_per_delivery": round((drained - before) / deliveries),
        "stored_bytes_per_delivery": round(stored / deliveries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--fan-outs", default="1,10")
    parser.add_argument("--name", default=None, help="results file name (default bytes_written_ENGINE)")
    args = parser.parse_args()
    found = [asyncio.run(run(args.engine, args.events, int(f))) for f in args.fan_outs.split(",")]
    lines = [
        f"{args.engine}, {args.events} events; {found[0]['measure']} per delivery\n",
        "| fan-out | deliveries | ingest | claim + record | total | stored at the end |",
        "|---|---|---|---|---|---|",
    ]
    for r in found:
        lines.append(
            f"| {r['fan_out']} | {r['deliveries']} | {r['ingest_bytes_per_delivery']:,} | "
            f"{r['delivery_bytes_per_delivery']:,} | {r['total_bytes_per_delivery']:,} | "
            f"{r['stored_bytes_per_delivery']:,} |"
        )
    write(args.name or f"bytes_written_{args.engine}", {"runs": found}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
