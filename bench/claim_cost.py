"""The cost of one claim on PostgreSQL (``storage.queue.claim``): statement by statement on an autocommit
connection (``Database.each``, what workers do) against the same statements in one transaction (``BEGIN`` ...
``COMMIT``, what they did before), in one run.

A fresh migrated database; each claim asks for up to 10 deliveries. "empty": nothing is due (a worker woken
with nothing to do: the park and the claim statements). Rounds alternate between the two ways so that the
machine's drift falls on both; wall time and this process's CPU time per claim, medians over rounds.

    .venv/bin/python bench/claim_cost.py [--claims 500] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

from common import database, write

from hookline.storage import migrate, queue
from hookline.storage.database import Conn, Database


async def _time(db: Database, claims: int) -> tuple[float, float]:
    """µs of wall time and of this process's CPU per claim, over ``claims`` empty claims."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(claims):
        await queue.claim(db, time.time(), 10, 30.0)
    return (time.perf_counter() - wall) / claims * 1e6, (time.process_time() - cpu) / claims * 1e6


class _InOneTransaction(Database):
    """The claim's statements in one transaction, as before ``Database.each``."""

    @contextlib.asynccontextmanager
    async def each(self) -> AsyncIterator[Conn]:
        async with self.write() as conn:
            yield conn


async def run(claims: int, rounds: int) -> dict[str, Any]:
    async with database("postgres") as url:
        each, one = Database(url), _InOneTransaction(url)
        try:
            await migrate.upgrade(each)
            for db in (each, one):  # connect, prepare the statements
                await _time(db, 50)
            measured: dict[str, list[tuple[float, float]]] = {"each": [], "transaction": []}
            for _ in range(rounds):
                measured["each"].append(await _time(each, claims))
                measured["transaction"].append(await _time(one, claims))
        finally:
            await each.close()
            await one.close()
    return {
        way: {
            "wall_us": round(statistics.median(w for w, _ in values), 1),
            "cpu_us": round(statistics.median(c for _, c in values), 1),
        }
        for way, values in measured.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(run(args.claims, args.rounds))
    each, one = result["each"], result["transaction"]
    markdown = "\n".join(
        [
            "# One empty claim on PostgreSQL",
            "",
            f"{args.claims} claims per round, {args.rounds} rounds alternating, medians; run "
            "`cd bench && ../.venv/bin/python claim_cost.py`.",
            "",
            "| claim | wall µs | client CPU µs |",
            "|---|---|---|",
            f"| statement by statement (`Database.each`) | {each['wall_us']} | {each['cpu_us']} |",
            f"| in one transaction (before) | {one['wall_us']} | {one['cpu_us']} |",
            "",
            f"Statement by statement / one transaction: wall **{each['wall_us'] / one['wall_us']:.2f}**, "
            f"client CPU **{each['cpu_us'] / one['cpu_us']:.2f}**.",
            "",
        ]
    )
    write("claim_cost", {**result, "claims": args.claims, "rounds": args.rounds}, markdown)


if __name__ == "__main__":
    main()
