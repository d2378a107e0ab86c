"""Isolation: do stalled targets slow the healthy ones? Healthy deliveries' latency with 10 % of the targets
stalled, against an all-healthy run of the same load in the same invocation.

Setup: ``--targets`` (20) merchants, each with one route (``timeout_s`` = ``--timeout``, 2 s) to its own
target URL. Events are spread over the merchants: the open-loop sender (bench/latency.py) sends, every
``--tick-ms`` (50 ms), the events due in one batch request, to merchant r mod 20 for request r; each event
therefore has exactly one delivery (fan-out 1) and every merchant gets the same share, at ``--rate``
(1,000) events/s for ``--duration`` (10) s. In the *stalled* variant the first ``--stalled`` (2) merchants'
targets point at a second receiver that answers only after ``--stall-delay`` (3 s, more than the timeout),
so every attempt to them times out; in the *all-healthy* variant every target points at the recording
receiver. Measured in both: the latency (ingest request sent -> receiver got it) of the events of the other
18 merchants only, so the two variants compare the same events. Variants alternate (all-healthy, stalled,
all-healthy, ...) for ``--rounds`` rounds, each on a fresh database and fresh hookline processes; the ratio
is the median p99 of the stalled runs over the median p99 of the all-healthy runs (goal <= 1.2).

    cd bench && ../.venv/bin/python isolation.py [--engine sqlite|postgres] [--rounds 2]

Writes bench/results/isolation_ENGINE.{json,md,png}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from typing import Any

from common import (
    RESULTS,
    Api,
    arrivals,
    commands_for,
    database,
    open_loop_options,
    receiver,
    reset,
    running,
    stats,
    wait_count,
    write,
)
from latency import chart, latency_stats, ms, open_loop

GOAL_RATIO = 1.2


async def _merchants(api: Api, args: argparse.Namespace, healthy: str, stalled: str, kind: str) -> list[str]:
    ids = []
    for i in range(args.targets):
        merchant = await api.merchant(f"m{i}")
        dest = stalled if kind == "stalled" and i < args.stalled else healthy
        await api.route(merchant, "r", f"{dest}/m{i}", timeout_s=args.timeout)
        ids.append(str(merchant["id"]))
    return ids


async def variant(kind: str, healthy: str, stalled: str, args: argparse.Namespace) -> dict[str, Any]:
    async with (
        database(args.engine) as url,
        running(url, commands_for(args.engine), args.max_inflight + 8) as api,
    ):
        merchants = await _merchants(api, args, healthy, stalled, kind)
        await open_loop(api, merchants[args.stalled :], 100, 1, 100, 0.05)  # warm-up, not measured
        await asyncio.to_thread(wait_count, healthy, 100, 30)
        reset(healthy)
        reset(stalled)
        load = await open_loop(
            api,
            merchants,
            args.rate,
            args.duration,
            args.max_events,
            args.tick_ms / 1000,
            args.max_inflight,
        )
        measured = [e for e, m in load.merchant.items() if m >= args.stalled]
        expected = sum(1 for e, m in load.merchant.items() if e not in load.failed)
        if kind == "stalled":
            expected = sum(1 for e in measured if e not in load.failed)
        await asyncio.to_thread(wait_count, healthy, expected, args.drain_timeout)
        got = arrivals(healthy)
        stalled_attempts = int(stats(stalled)["n"])
    row = latency_stats(load, got["arrivals"], measured)
    row.update(
        kind=kind,
        sent=len(load.sent),
        achieved_per_s=round(load.achieved_rate(args.tick_ms / 1000), 1),
        rejected=len(load.failed),
        capped_ticks=load.capped_ticks,
        attempts_to_stalled=stalled_attempts,
    )
    row["_values"] = sorted(got["arrivals"][e] - load.sent[e] for e in measured if e in got["arrivals"])
    print(
        f"{kind:>11}: sent {row['sent']} at {row['achieved_per_s']}/s; healthy events {row['events']}, "
        f"delivered {row['delivered']}; p50 {ms(row['p50_ms'])} p95 {ms(row['p95_ms'])} "
        f"p99 {ms(row['p99_ms'])} ms; attempts to stalled targets {stalled_attempts}",
        flush=True,
    )
    return row


def _median(rows: list[dict[str, Any]], kind: str, key: str) -> float | None:
    values = [r[key] for r in rows if r["kind"] == kind]
    if not values or any(v is None for v in values):
        return None  # a run with undelivered healthy events has no finite percentile
    return round(statistics.median(values), 2)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        healthy, stalled = _median(rows, "all-healthy", key), _median(rows, "stalled", key)
        out[key] = {"all-healthy": healthy, "stalled": stalled}
        out[key]["ratio"] = round(stalled / healthy, 2) if healthy and stalled is not None else None
    ratio = out["p99_ms"]["ratio"]
    out["goal"] = f"p99 ratio <= {GOAL_RATIO}: " + (
        "met" if ratio is not None and ratio <= GOAL_RATIO else "not met"
    )
    return out


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    result = summary(rows)
    setup = (
        "`hookline serve` (SQLite)"
        if args.engine == "sqlite"
        else "`hookline api` + `hookline worker` (PostgreSQL)"
    )
    a = args
    lines = [
        f"# Isolation: healthy deliveries with {a.stalled} of {a.targets} targets stalled ({a.engine})",
        "",
        f"{setup}; {a.targets} merchants with one route each (timeout {a.timeout:g} s); "
        f"{a.rate:g} events/s for {a.duration:g} s spread over them (one batch request per "
        f"{a.tick_ms:g} ms, to the next merchant); stalled targets answer after {a.stall_delay:g} s. "
        f"Latency of the events of the {a.targets - a.stalled} healthy merchants only, in both variants; "
        f"{a.rounds} round(s), variants alternating, fresh database each; {os.cpu_count()} cores shared by "
        f"everything; load average before the run: {a.load_before}. "
        f"Run: `cd bench && ../.venv/bin/python {' '.join(sys.argv)}`.",
        "",
        "| round | variant | achieved/s | healthy events | delivered | p50 ms | p95 ms | p99 ms "
        "| attempts to stalled |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows):
        lines.append(
            f"| {i // 2 + 1} | {r['kind']} | {r['achieved_per_s']} | {r['events']} | {r['delivered']} "
            f"| {ms(r['p50_ms'])} | {ms(r['p95_ms'])} | {ms(r['p99_ms'])} | {r['attempts_to_stalled']} |"
        )
    lines += ["", "| median of rounds | all-healthy | stalled | stalled / all-healthy |", "|---|---|---|---|"]
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        v = result[key]
        lines.append(f"| {key} | {ms(v['all-healthy'])} | {ms(v['stalled'])} | {v['ratio']} |")
    lines += ["", f"Goal: {result['goal']} (p99 ratio {result['p99_ms']['ratio']}).", ""]
    data = {
        "engine": args.engine,
        "targets": args.targets,
        "stalled": args.stalled,
        "rate": args.rate,
        "duration_s": args.duration,
        "timeout_s": args.timeout,
        "stall_delay_s": args.stall_delay,
        "tick_ms": args.tick_ms,
        "rounds": args.rounds,
        "cores": os.cpu_count(),
        "load_before": args.load_before,
        "runs": [{k: v for k, v in r.items() if k != "_values"} for r in rows],
        "summary": result,
    }
    name = f"isolation_{args.engine}" + (f"_{args.name}" if args.name else "")
    write(name, data, "\n".join(lines))
    for i, r in enumerate(rows):
        r["label"] = f"{r['kind']} (round {i // 2 + 1})"
    title = f"healthy deliveries, {args.stalled}/{args.targets} targets stalled vs none ({args.engine})"
    chart(rows, title, RESULTS / f"{name}.png")


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    with receiver(arrivals=True) as healthy, receiver(delay=args.stall_delay) as stalled:
        for _ in range(args.rounds):
            for kind in ("all-healthy", "stalled"):
                rows.append(await variant(kind, healthy, stalled, args))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--stalled", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000.0, help="offered events/s (all merchants)")
    parser.add_argument("--timeout", type=float, default=2.0, help="the routes' timeout_s")
    parser.add_argument("--stall-delay", type=float, default=3.0, help="the stalled receiver's delay, s")
    parser.add_argument("--rounds", type=int, default=2)
    open_loop_options(parser, tick_ms=50.0)
    parser.add_argument("--name", default="", help="suffix of the results files (isolation_ENGINE[_NAME])")
    args = parser.parse_args()
    if args.stall_delay < args.timeout:
        parser.error("--stall-delay must be at least --timeout, or the stalled targets are merely slow")
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
