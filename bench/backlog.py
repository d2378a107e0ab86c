"""Backlog drain: N pending deliveries, then one worker drains them; does its memory stay flat?

1. `hookline api` alone (no worker) on a fresh SQLite file or PostgreSQL database; one merchant with
   ``--fanout`` routes to a fast local receiver (bench/receiver.py); ceil(N / fanout) events are ingested in
   batches of 500 (``--concurrency`` requests in flight), so N deliveries are pending. Progress is printed
   every 5 s; ingestion stops at ``--ingest-timeout`` s whatever it reached (then that smaller backlog is
   drained and reported).
2. The API is stopped and one `hookline worker` is started. Its RSS (psutil) and the receiver's count are
   sampled every ``--interval`` (0.5) s until every delivery has arrived or ``--drain-timeout`` s passed.

Reported: the drain rate (deliveries / s, first to last arrival, and from the worker's start), the worker's
RSS at start, after 10 % drained, at its peak and at the end, the growth from 10 % to 100 % drained, the
worker's CPU per delivery, and a PNG of RSS and deliveries over time.

    cd bench && ../.venv/bin/python backlog.py [--engine sqlite|postgres] [--deliveries 1000000]

Writes bench/results/backlog_ENGINE.{json,md,png}.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from common import (
    RESULTS,
    Api,
    batch_body,
    database,
    free_port,
    hookline,
    hookline_env,
    receiver,
    running,
    stats,
    write,
)

BATCH = 500
MB = 1024 * 1024


async def ingest(api: Api, merchant_id: str, events: int, args: argparse.Namespace) -> dict[str, Any]:
    """Post ``events`` events in batches, ``--concurrency`` requests at a time; stops at the time bound."""
    batches = iter(range(0, events, BATCH))
    done = {"events": 0, "failed": 0}
    start = time.monotonic()
    deadline = start + args.ingest_timeout

    async def poster() -> None:
        for b in batches:
            if time.monotonic() > deadline:
                return
            k = min(BATCH, events - b)
            status = await api.ingest(merchant_id, batch_body([f"b{b + j}" for j in range(k)], b), 300)
            done["events" if status == 202 else "failed"] += k

    async def progress() -> None:
        while True:
            await asyncio.sleep(5)
            rate = done["events"] / (time.monotonic() - start)
            print(f"ingest: {done['events']}/{events} events ({rate:.0f}/s)", flush=True)

    ticker = asyncio.create_task(progress())
    try:
        await asyncio.gather(*(poster() for _ in range(args.concurrency)))
    finally:
        ticker.cancel()
    seconds = time.monotonic() - start
    return {**done, "seconds": round(seconds, 1), "events_per_s": round(done["events"] / seconds, 1)}


async def fill(url: str, target: str, args: argparse.Namespace) -> dict[str, Any]:
    """Phase 1: the API alone, the routes, the backlog."""
    events = math.ceil(args.deliveries / args.fanout)
    async with running(url, ["api"], args.concurrency + 4) as api:
        merchant = await api.merchant()
        for i in range(args.fanout):
            await api.route(merchant, f"r{i}", f"{target}/t{i}")
        result = await ingest(api, merchant["id"], events, args)
    print(f"ingest: done: {result}", flush=True)
    return result


def sample(proc: Any, target: str, expected: int, args: argparse.Namespace) -> list[dict[str, float]]:
    """Phase 2: the worker's RSS, CPU and the receiver's count every ``--interval`` s until drained."""
    worker = psutil.Process(proc.pid)
    start = time.time()
    deadline = time.monotonic() + args.drain_timeout
    samples: list[dict[str, float]] = []
    shown = 0.0
    while time.monotonic() < deadline and proc.poll() is None:
        cpu = worker.cpu_times()
        got = stats(target)
        samples.append(
            {
                "t": round(time.time() - start, 2),
                "rss_mb": round(worker.memory_info().rss / MB, 1),
                "cpu_s": round(cpu.user + cpu.system, 2),
                "delivered": got["n"],
                "first": got["first"],
                "last": got["last"],
            }
        )
        if got["n"] >= expected:
            break
        if samples[-1]["t"] - shown >= 5:
            shown = samples[-1]["t"]
            print(
                f"drain: {got['n']:.0f}/{expected} delivered, worker RSS {samples[-1]['rss_mb']} MB",
                flush=True,
            )
        time.sleep(args.interval)
    for s in samples:
        s["start"] = start
    return samples


def db_size_mb(url: str) -> float | None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        files = [path, *path.parent.glob(path.name + "-*")]
        return round(sum(f.stat().st_size for f in files if f.exists()) / MB, 1)
    return None


def summarize(samples: list[dict[str, float]], expected: int) -> dict[str, Any]:
    last = samples[-1]
    delivered = int(last["delivered"])
    tenth = next((s for s in samples if s["delivered"] >= 0.1 * expected), last)
    rss = [s["rss_mb"] for s in samples]
    drain_s = last["last"] - last["first"] if delivered else 0.0
    since_start = last["last"] - last["start"] if delivered else 0.0
    return {
        "delivered": delivered,
        "drained": delivered >= expected,
        "drain_seconds": round(drain_s, 1),
        "drain_per_s": round(delivered / drain_s, 1) if drain_s else None,
        "per_s_from_worker_start": round(delivered / since_start, 1) if since_start else None,
        "rss_start_mb": rss[0],
        "rss_10pct_mb": tenth["rss_mb"],
        "rss_peak_mb": max(rss),
        "rss_end_mb": rss[-1],
        "peak_over_start": round(max(rss) / rss[0], 2),
        "growth_10pct_to_end_mb": round(rss[-1] - tenth["rss_mb"], 1),
        "worker_cpu_us_per_delivery": round(last["cpu_s"] / delivered * 1e6, 1) if delivered else None,
    }


def chart(samples: list[dict[str, float]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t"] for s in samples]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    rss = [s["rss_mb"] for s in samples]
    ax.plot(t, rss, color="#2b6cb0", label="worker RSS (MB)")
    ax.set_ylim(0, max(rss) * 1.2)
    ax.set_xlabel("seconds since the worker started")
    ax.set_ylabel("worker RSS, MB", color="#2b6cb0")
    other = ax.twinx()
    other.plot(t, [s["delivered"] / 1000 for s in samples], color="#a0aec0", linestyle="--")
    other.set_ylabel("delivered, thousands", color="#718096")
    other.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def report(
    args: argparse.Namespace, filled: dict[str, Any], size: float | None, samples: list[dict[str, float]]
) -> None:
    expected = filled["events"] * args.fanout
    result = summarize(samples, expected)
    engine = args.engine
    lines = [
        f"# Backlog drain ({engine})",
        "",
        f"{filled['events']} events x fan-out {args.fanout} = {expected} pending deliveries, ingested "
        f"through `hookline api` alone in {filled['seconds']} s ({filled['events_per_s']} events/s"
        + (f", database {size} MB" if size is not None else "")
        + "); then one `hookline worker` drained them to a local receiver, RSS sampled every "
        f"{args.interval:g} s. {os.cpu_count()} cores shared by everything; "
        f"load average before the run: {args.load_before}. "
        f"Run: `cd bench && ../.venv/bin/python {' '.join(sys.argv)}`.",
        "",
        "| deliveries | drained | drain s | deliveries/s (first to last) | from worker start /s "
        "| RSS start MB | RSS at 10 % MB | RSS peak MB | RSS end MB | peak / start | 10 % -> end MB "
        "| worker CPU us / delivery |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {result['delivered']} | {'yes' if result['drained'] else 'no'} | {result['drain_seconds']} "
        f"| {result['drain_per_s']} | {result['per_s_from_worker_start']} | {result['rss_start_mb']} "
        f"| {result['rss_10pct_mb']} | {result['rss_peak_mb']} | {result['rss_end_mb']} "
        f"| {result['peak_over_start']} | {result['growth_10pct_to_end_mb']:+} "
        f"| {result['worker_cpu_us_per_delivery']} |",
        "",
    ]
    data = {
        "engine": engine,
        "requested_deliveries": args.deliveries,
        "fanout": args.fanout,
        "ingest": filled,
        "database_mb": size,
        "cores": os.cpu_count(),
        "load_before": args.load_before,
        "result": result,
        "samples": [
            {k: v for k, v in s.items() if k in ("t", "rss_mb", "cpu_s", "delivered")} for s in samples
        ],
    }
    name = f"backlog_{engine}" + (f"_{args.name}" if args.name else "")
    write(name, data, "\n".join(lines))
    title = f"worker RSS while draining {expected} deliveries ({engine})"
    chart(samples, title, RESULTS / f"{name}.png")


async def run(args: argparse.Namespace) -> tuple[dict[str, Any], float | None, list[dict[str, float]]]:
    with receiver() as target:
        async with database(args.engine) as url:
            filled = await fill(url, target, args)
            size = db_size_mb(url)
            expected = filled["events"] * args.fanout
            env = hookline_env(url, free_port())
            with hookline("worker", env, ready="worker running") as proc:
                samples = await asyncio.to_thread(sample, proc, target, expected, args)
    return filled, size, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--fanout", type=int, default=2, help="routes per event (deliveries per event)")
    parser.add_argument("--concurrency", type=int, default=2, help="ingest requests in flight")
    parser.add_argument("--ingest-timeout", type=float, default=3600.0, help="seconds of ingestion at most")
    parser.add_argument("--drain-timeout", type=float, default=3600.0, help="seconds of draining at most")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between RSS samples")
    parser.add_argument("--name", default="", help="suffix of the results files (backlog_ENGINE[_NAME])")
    args = parser.parse_args()
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report(args, *asyncio.run(run(args)))


if __name__ == "__main__":
    main()
