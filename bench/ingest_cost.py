"""In-process ingest cost: microseconds of one event through ``service.ingest`` (parse, validate, route, build
the payloads, store), without HTTP, on a real database.

A merchant with two routes taking ``order.*`` (fan-out 2), batches of realistic order events (the size of
``common.event_body``), no worker in the process (the deliveries stay in the queue). Each round is one
batch, timed alone; the median and the quartiles of µs per event are reported, with the cost of the schema
check alone on the same events (``event_schemas.problems``) when the version measured has one (run an older
checkout's ``src`` through ``PYTHONPATH`` to compare).

    .venv/bin/python bench/ingest_cost.py --engine sqlite --rounds 30 --batch 100
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from common import database, event_body, order_routes, write

from hookline.config import Settings
from hookline.runtime import open_runtime
from hookline.service import ingest


def _quartiles(values: list[float]) -> dict[str, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return {"p25": round(q1, 1), "median": round(median, 1), "p75": round(q3, 1)}


def _schema_check_us(events: list[dict[str, Any]], repeat: int) -> float | None:
    """µs per event of the schema check alone, or None when this version has none."""
    try:
        from hookline.core import event_schemas
    except ImportError:
        return None
    for event in events:  # compile the validators first, as the first ingest of each type does
        event_schemas.problems(event["type"], event["data"]["object"])
    started = time.perf_counter()
    for _ in range(repeat):
        for event in events:
            event_schemas.problems(event["type"], event["data"]["object"])
    return (time.perf_counter() - started) / (repeat * len(events)) * 1e6


async def run(engine: str, rounds: int, batch: int) -> dict[str, Any]:
    async with database(engine) as url:
        settings = Settings(database_url=url, operator_key="hl_op_bench", log_level="WARNING")
        async with open_runtime(settings, worker=False, migrate_db=True) as runtime:
            ctx = runtime.context
            mid = await order_routes(ctx, 2)
            await ingest.ingest(ctx, mid, [event_body(i) for i in range(-batch, 0)])  # warm up
            per_event: list[float] = []
            for r in range(rounds):
                events = [event_body(r * batch + i) for i in range(batch)]
                started = time.perf_counter()
                await ingest.ingest(ctx, mid, events)
                per_event.append((time.perf_counter() - started) / batch * 1e6)
    check = _schema_check_us([event_body(i) for i in range(batch)], 20)
    return {
        "engine": engine,
        "rounds": rounds,
        "batch": batch,
        "fan_out": 2,
        "ingest_us_per_event": _quartiles(per_event),
        "schema_check_us_per_event": None if check is None else round(check, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--name", default=None, help="results file name (default ingest_cost_ENGINE)")
    args = parser.parse_args()
    result = asyncio.run(run(args.engine, args.rounds, args.batch))
    cost = result["ingest_us_per_event"]
    check = result["schema_check_us_per_event"]
    markdown = (
        f"| engine | batch | rounds | ingest µs/event p25 / median / p75 | schema check µs/event |\n"
        f"|---|---|---|---|---|\n"
        f"| {args.engine} | {args.batch} | {args.rounds} | {cost['p25']} / {cost['median']} / {cost['p75']} "
        f"| {'—' if check is None else check} |\n"
    )
    write(args.name or f"ingest_cost_{args.engine}", result, markdown)


if __name__ == "__main__":
    main()
