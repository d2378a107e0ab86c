"""Ingest -> delivered latency at fixed offered rates (fan-out 1), with an open-loop sender.

hookline runs as `hookline serve` on a fresh SQLite file (``--engine sqlite``), or as `hookline api` + one
`hookline worker` on a fresh PostgreSQL database (``--engine postgres``); ``--processes serve|split``
chooses either way for either engine (in one `serve` process, ingestion hands new deliveries straight to
its worker; split, they go through the queue and a wake-up). One merchant, one route to one recording
receiver (bench/receiver.py ``--arrivals``: ``{Hookline-Event-Id: arrival time}``).

For each rate the sender posts, every tick (10 ms), the events due by then in one batch request, whether or
not the earlier requests have been answered (open loop; at most ``--max-inflight`` requests outstanding, a
safety bound that is reported when hit). It keeps ``{event_id: time.time() just before the POST}``; the
receiver keeps ``{event_id: time.time() of arrival}``; latency = arrival - sent, per event, on one machine.
Each rate lasts ``--duration`` seconds or ``--max-events`` events, whichever is fewer, then the deliveries
are waited for (at most ``--drain-timeout`` s); events that never arrived count as infinitely late.
A 2 s warm-up at 100 events/s comes first and is not measured.

    cd bench && ../.venv/bin/python latency.py [--engine sqlite|postgres] [--processes serve|split]
        [--rates 100,1000,5000] [--duration 10] [--max-events 100000]

Writes bench/results/latency_ENGINE.{json,md,png}.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from common import (
    RESULTS,
    Api,
    arrivals,
    batch_body,
    database,
    open_loop_options,
    percentile,
    receiver,
    reset,
    running,
    wait_count,
    write,
)

MAX_BATCH = 500
GOAL_RATE = 1000
GOAL_P50_MS = 10.0
GOAL_P99_MS = 50.0


@dataclass
class Load:
    """What an open-loop run sent: per event id the send time and the merchant index it went to."""

    sent: dict[str, float] = field(default_factory=dict)
    merchant: dict[str, int] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    request_ms: list[float] = field(default_factory=list)
    requests: int = 0
    capped_ticks: int = 0
    first: float = 0.0
    last: float = 0.0

    @property
    def accepted(self) -> int:
        return len(self.sent) - len(self.failed)

    def achieved_rate(self, tick_s: float) -> float:
        window = self.last - self.first + tick_s
        return len(self.sent) / window if window > 0 else 0.0


async def _post(api: Api, merchant_id: str, ids: list[str], body: bytes, load: Load) -> None:
    began = time.time()
    try:
        status = await api.ingest(merchant_id, body)
    except (TimeoutError, aiohttp.ClientError):
        status = 0
    load.request_ms.append((time.time() - began) * 1000)
    if status != 202:
        load.failed.update(ids)


async def open_loop(
    api: Api,
    merchants: list[str],
    rate: float,
    duration_s: float,
    max_events: int,
    tick_s: float = 0.01,
    max_inflight: int = 128,
    body: Callable[[list[str], int], bytes] = batch_body,
) -> Load:
    """Send ``rate`` events/s for ``duration_s`` (at most ``max_events``); request r goes to merchant r mod n.
    ``body(ids, n)`` serializes a batch request (default ``batch_body``: event n onwards of ``event_body``).

    Bounded in time as well: sending stops at 2 x duration + 5 s even when the API falls behind.
    """
    total = min(int(rate * duration_s), max_events)
    prefix = f"{uuid.uuid4().hex[:6]}-{int(rate)}-"
    load = Load()
    inflight: set[asyncio.Task[None]] = set()
    start = time.monotonic()
    hard_stop = start + 2 * duration_s + 5
    n = tick = 0
    while n < total and time.monotonic() < hard_stop:
        due = min(total, int(rate * (time.monotonic() - start)) + 1)
        while n < due and len(inflight) < max_inflight:
            k = min(due - n, MAX_BATCH)
            m = load.requests % len(merchants)
            ids = [f"{prefix}{n + j}" for j in range(k)]
            data = body(ids, n)
            now = time.time()
            load.first = load.first or now
            load.last = now
            for e in ids:
                load.sent[e] = now
                load.merchant[e] = m
            task = asyncio.create_task(_post(api, merchants[m], ids, data, load))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            load.requests += 1
            n += k
        if n < due:
            load.capped_ticks += 1
        tick += 1
        await asyncio.sleep(max(0.0, start + tick * tick_s - time.monotonic()))
    if inflight:
        await asyncio.wait(inflight, timeout=180)
    return load


def latency_stats(load: Load, arrived: dict[str, float], ids: list[str] | None = None) -> dict[str, Any]:
    """Percentiles (ms) of arrival - sent over the accepted events ``ids`` (default: all accepted)."""
    chosen = [e for e in (ids if ids is not None else load.sent) if e not in load.failed]
    values = sorted((arrived[e] - load.sent[e]) * 1000 for e in chosen if e in arrived)
    delivered = len(values)
    ordered = values + [math.inf] * (len(chosen) - delivered)
    row: dict[str, Any] = {"events": len(chosen), "delivered": delivered, "missing": len(chosen) - delivered}
    for q in (50, 95, 99):
        v = percentile(ordered, q)
        row[f"p{q}_ms"] = None if math.isinf(v) or math.isnan(v) else round(v, 2)
    row["max_ms"] = round(values[-1], 2) if values and delivered == len(chosen) else None
    return row


def ms(value: float | None) -> str:
    return "missing" if value is None else f"{value:g}"


async def measure(
    api: Api, target: str, merchant_id: str, rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    reset(target)
    load = await open_loop(
        api, [merchant_id], rate, args.duration, args.max_events, args.tick_ms / 1000, args.max_inflight
    )
    await asyncio.to_thread(wait_count, target, load.accepted, args.drain_timeout)
    got = arrivals(target)
    row = latency_stats(load, got["arrivals"])
    last_arrival = max(got["arrivals"].values(), default=load.first)
    request_ms = sorted(load.request_ms)
    row.update(
        offered_per_s=rate,
        sent=len(load.sent),
        achieved_per_s=round(load.achieved_rate(args.tick_ms / 1000), 1),
        delivered_per_s=round(row["delivered"] / max(last_arrival - load.first, 1e-9), 1),
        rejected=len(load.failed),
        requests=load.requests,
        capped_ticks=load.capped_ticks,
        ingest_p50_ms=round(percentile(request_ms, 50), 2),
        ingest_p99_ms=round(percentile(request_ms, 99), 2),
        duplicates=got["duplicates"],
    )
    row["_values"] = sorted(got["arrivals"][e] - load.sent[e] for e in load.sent if e in got["arrivals"])
    print(
        f"{rate:>6g}/s: sent {row['sent']} at {row['achieved_per_s']}/s, delivered {row['delivered']}, "
        f"p50 {ms(row['p50_ms'])} p95 {ms(row['p95_ms'])} p99 {ms(row['p99_ms'])} ms",
        flush=True,
    )
    return row


async def run(engine: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    rates = [float(r) for r in args.rates.split(",")]
    commands = ["serve"] if args.processes == "serve" else ["api", "worker"]
    with receiver(arrivals=True) as target:
        async with database(engine) as url, running(url, commands, args.max_inflight + 8) as api:
            merchant = await api.merchant()
            await api.route(merchant, "r0", f"{target}/hook")
            await open_loop(api, [merchant["id"]], 100, 2, 200)  # warm-up, not measured
            await asyncio.to_thread(wait_count, target, 200, 30)
            return [await measure(api, target, merchant["id"], rate, args) for rate in rates]


def chart(rows: list[dict[str, Any]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for row in rows:
        values = [v * 1000 for v in row["_values"]]
        if values:
            ys = [(i + 1) / row["events"] * 100 for i in range(len(values))]
            ax.plot(values, ys, label=row.get("label") or f"{row['offered_per_s']:g}/s offered")
    ax.set_xscale("log")
    ax.set_xlabel("ingest -> delivered latency, ms (log)")
    ax.set_ylabel("% of events delivered within")
    ax.axvline(GOAL_P99_MS, color="#999", linestyle=":", linewidth=1)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def goal_line(rows: list[dict[str, Any]]) -> str:
    row = next((r for r in rows if r["offered_per_s"] == GOAL_RATE), None)
    if row is None:
        return f"Goal at {GOAL_RATE}/s: not measured in this run."
    p50, p99 = row["p50_ms"], row["p99_ms"]
    ok50 = p50 is not None and p50 <= GOAL_P50_MS
    ok99 = p99 is not None and p99 <= GOAL_P99_MS
    return (
        f"Goal at {GOAL_RATE}/s: p50 <= {GOAL_P50_MS:g} ms: **{'met' if ok50 else 'not met'}** "
        f"({ms(p50)} ms); p99 <= {GOAL_P99_MS:g} ms: **{'met' if ok99 else 'not met'}** ({ms(p99)} ms)."
    )


def report(engine: str, rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    processes = "`hookline serve`" if args.processes == "serve" else "`hookline api` + `hookline worker`"
    setup = f"{processes} ({'SQLite' if engine == 'sqlite' else 'PostgreSQL'})"
    lines = [
        f"# Latency, ingest -> delivered ({engine})",
        "",
        f"{setup}; fan-out 1; open-loop sender, one batch request per {args.tick_ms:g} ms tick; "
        f"each rate for {args.duration:g} s or {args.max_events} events; "
        f"{os.cpu_count()} cores shared by the receiver, hookline, the database and the sender; "
        f"load average before the run: {args.load_before}. "
        f"Run: `cd bench && ../.venv/bin/python {' '.join(sys.argv)}`.",
        "",
        "| offered/s | achieved/s | events | delivered | p50 ms | p95 ms | p99 ms | max ms | delivered/s "
        "| ingest request p50 / p99 ms | sender capped ticks |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['offered_per_s']:g} | {r['achieved_per_s']} | {r['events']} | {r['delivered']} "
            f"| {ms(r['p50_ms'])} | {ms(r['p95_ms'])} | {ms(r['p99_ms'])} | {ms(r['max_ms'])} "
            f"| {r['delivered_per_s']} | {r['ingest_p50_ms']} / {r['ingest_p99_ms']} | {r['capped_ticks']} |"
        )
    lines += ["", goal_line(rows), ""]
    result = {
        "engine": engine,
        "processes": args.processes,
        "duration_s": args.duration,
        "max_events": args.max_events,
        "tick_ms": args.tick_ms,
        "cores": os.cpu_count(),
        "load_before": args.load_before,
        "rows": [{k: v for k, v in r.items() if k != "_values"} for r in rows],
    }
    name = f"latency_{engine}" + (f"_{args.name}" if args.name else "")
    write(name, result, "\n".join(lines))
    chart(
        rows,
        f"hookline latency, {engine} ({args.processes}), fan-out 1, {args.tick_ms:g} ms ticks",
        RESULTS / f"{name}.png",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--processes",
        choices=["serve", "split"],
        help="one `serve` process, or `api` + `worker` (default: serve on SQLite, split on PostgreSQL)",
    )
    parser.add_argument("--rates", default="100,1000,5000", help="offered events/s, comma-separated")
    open_loop_options(parser, tick_ms=10.0)
    parser.add_argument("--name", default="", help="suffix of the results files (latency_ENGINE[_NAME])")
    args = parser.parse_args()
    args.processes = args.processes or ("serve" if args.engine == "sqlite" else "split")
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = asyncio.run(run(args.engine, args))
    report(args.engine, rows, args)


if __name__ == "__main__":
    main()
