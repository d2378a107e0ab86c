"""Per-key ordering: what ``"ordering": "customer"`` costs, and whether one blocked key slows the others.

Two measurements, each against a baseline measured in the same invocation (variants alternating, a fresh
database and fresh hookline processes for every run):

- **throughput**: ``--events`` (20,000) events over ``--keys`` (1,000) customers, posted in batches of 500 to
  one merchant with one route to the fast local receiver (bench/throughput.py's ``hookline_on``, fan-out 1);
  deliveries/s from the first ingest request to the last delivery received. Route ``"ordering": "customer"``
  against ``"ordering": "none"``; the ratio is the median ordered over the median unordered (goal >= 0.8).
- **hot key**: the open-loop sender of bench/latency.py at ``--rate`` (1,000) events/s for ``--duration``
  (10) s, one route with ``"ordering": "customer"``; ``--hot-share`` (10 %) of the events are about customer
  ``cust-0`` (the hot key), the others are spread over the other 999 customers. In the *hot* variant the
  receiver answers 500 (``Retry-After: 1``) to the first ``--hot-fails`` (5) requests of the hot key, so that
  key is held by its retries for ~5 s and its later events queue behind them; in the *baseline* variant it
  answers 200 to everything. Measured in both: the ingest -> delivered latency of the other keys' events
  only; the ratio is the median p50 / p99 of the hot runs over that of the baseline runs (goal <= 1.2).

    cd bench && ../.venv/bin/python ordering.py [--engine sqlite|postgres] [--rounds 2]
        [--only throughput|hot]

Writes bench/results/ordering_ENGINE.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from typing import Any

import orjson
from common import (
    arrivals,
    commands_for,
    database,
    event_body,
    open_loop_options,
    receiver,
    reset,
    running,
    stats,
    wait_count,
    write,
)
from latency import latency_stats, ms, open_loop
from throughput import hookline_on

HOT_KEY = "cust-0"
GOAL_THROUGHPUT = 0.8
GOAL_LATENCY = 1.2


def keyed_event(i: int, keys: int) -> dict[str, Any]:
    """``event_body(i)`` about customer ``cust-(i mod keys)``."""
    body = event_body(i)
    body["data"]["object"]["customer"] = f"cust-{i % keys}"
    return body


def hot_customer(i: int, args: argparse.Namespace) -> str:
    """Event i's customer in the hot-key runs: ``cust-0`` for ``--hot-share`` of them, else another one."""
    every = max(1, round(1 / args.hot_share)) if args.hot_share > 0 else 0
    if every and i % every == 0:
        return HOT_KEY
    return f"cust-{1 + i % (args.keys - 1)}"


def _median(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return round(statistics.median(v for v in values if v is not None), 2)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


async def throughput(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with receiver() as target:
        for r in range(args.rounds):
            for ordering in ("none", "customer"):
                row = await hookline_on(
                    args.engine,
                    target,
                    args.events,
                    1,
                    {"ordering": ordering},
                    lambda i: keyed_event(i, args.keys),
                )
                row.update(ordering=ordering, round=r + 1)
                print(f"throughput round {r + 1}, ordering {ordering}: {row}", flush=True)
                rows.append(row)
    med = {o: _median([x["per_s"] for x in rows if x["ordering"] == o]) for o in ("none", "customer")}
    ratio = _ratio(med["customer"], med["none"])
    met = ratio is not None and ratio >= GOAL_THROUGHPUT
    return {"runs": rows, "median_per_s": med, "ratio": ratio, "goal_met": met}


async def hot_variant(kind: str, target: str, args: argparse.Namespace) -> dict[str, Any]:
    def body(ids: list[str], start: int) -> bytes:
        events = []
        for k, e in enumerate(ids):
            event = {**event_body(start + k), "id": e}
            event["data"]["object"]["customer"] = hot_customer(start + k, args)
            events.append(event)
        return orjson.dumps({"events": events})

    async with (
        database(args.engine) as url,
        running(url, commands_for(args.engine), args.max_inflight + 8) as api,
    ):
        merchant = await api.merchant()
        await api.route(merchant, "r", f"{target}/hook", ordering="customer")
        warm = await open_loop(api, [merchant["id"]], 100, 1, 100, 0.05)  # not measured
        await asyncio.to_thread(wait_count, target, warm.accepted, 30)
        reset(target)
        load = await open_loop(
            api,
            [merchant["id"]],
            args.rate,
            args.duration,
            args.max_events,
            args.tick_ms / 1000,
            args.max_inflight,
            body,
        )
        expected = load.accepted + (args.hot_fails if kind == "hot" else 0)
        await asyncio.to_thread(wait_count, target, expected, args.drain_timeout)
        got = arrivals(target)
        failed = int(stats(target).get("failed", 0))
    index = {e: i for i, e in enumerate(load.sent)}
    others = [e for e in load.sent if hot_customer(index[e], args) != HOT_KEY]
    hot = [e for e in load.sent if hot_customer(index[e], args) == HOT_KEY]
    row = latency_stats(load, got["arrivals"], others)
    hot_row = latency_stats(load, got["arrivals"], hot)
    row.update(
        kind=kind,
        sent=len(load.sent),
        achieved_per_s=round(load.achieved_rate(args.tick_ms / 1000), 1),
        rejected=len(load.failed),
        capped_ticks=load.capped_ticks,
        hot_events=hot_row["events"],
        hot_delivered=hot_row["delivered"],
        hot_p50_ms=hot_row["p50_ms"],
        hot_p99_ms=hot_row["p99_ms"],
        answered_500=failed,
        duplicates=got["duplicates"],
    )
    print(
        f"{kind:>8}: sent {row['sent']} at {row['achieved_per_s']}/s; other keys' events {row['events']}, "
        f"delivered {row['delivered']}; p50 {ms(row['p50_ms'])} p95 {ms(row['p95_ms'])} "
        f"p99 {ms(row['p99_ms'])} ms; hot key {row['hot_delivered']}/{row['hot_events']} delivered, "
        f"p50 {ms(row['hot_p50_ms'])} ms; 500s {failed}",
        flush=True,
    )
    return row


async def hot_key(args: argparse.Namespace) -> dict[str, Any]:
    fail = ("--fail-key", HOT_KEY, "--fail-first", str(args.hot_fails))
    rows: list[dict[str, Any]] = []
    with receiver(arrivals=True) as healthy, receiver(arrivals=True, extra=fail) as failing:
        for r in range(args.rounds):
            for kind in ("baseline", "hot"):
                row = await hot_variant(kind, failing if kind == "hot" else healthy, args)
                row["round"] = r + 1
                rows.append(row)
    out: dict[str, Any] = {"runs": rows}
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        base = _median([x[key] for x in rows if x["kind"] == "baseline"])
        hot = _median([x[key] for x in rows if x["kind"] == "hot"])
        out[key] = {"baseline": base, "hot": hot, "ratio": _ratio(hot, base)}
    p50, p99 = out["p50_ms"]["ratio"], out["p99_ms"]["ratio"]
    out["goal_met"] = p50 is not None and p99 is not None and max(p50, p99) <= GOAL_LATENCY
    return out


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    a = args
    setup = (
        "`hookline serve` (SQLite)"
        if a.engine == "sqlite"
        else "`hookline api` + `hookline worker` (PostgreSQL)"
    )
    lines = [
        f"# Per-key ordering ({a.engine})",
        "",
        f"{setup}; {a.rounds} round(s) of each measurement, variants alternating, fresh database each; "
        f"{os.cpu_count()} cores shared by everything; load average before the run: {a.load_before}. "
        f"Run: `cd bench && ../.venv/bin/python {' '.join(sys.argv)}`.",
        "",
    ]
    if "throughput" in result:
        t = result["throughput"]
        lines += [
            f"## Throughput: {a.events} events over {a.keys} customer keys, fan-out 1, batches of 500",
            "",
            "| round | ordering | deliveries | seconds | deliveries/s | ingest events/s |",
            "|---|---|---|---|---|---|",
        ]
        for r in t["runs"]:
            lines.append(
                f"| {r['round']} | {r['ordering']} | {r['deliveries']} | {r['seconds']} | {r['per_s']} "
                f"| {r['ingest_events_per_s']} |"
            )
        med = t["median_per_s"]
        lines += [
            "",
            f"Median deliveries/s: none {med['none']}, customer {med['customer']}; "
            f"**customer / none = {t['ratio']}** (goal >= {GOAL_THROUGHPUT}: "
            f"{'met' if t['goal_met'] else 'not met'}).",
            "",
        ]
    if "hot" in result:
        h = result["hot"]
        lines += [
            f"## One hot key: {a.rate:g} events/s for {a.duration:g} s, ordering customer, "
            f"{a.hot_share:.0%} of the events on `{HOT_KEY}`, the rest over {a.keys - 1} keys",
            "",
            f"Hot variant: the receiver answers 500 (Retry-After: 1) to the hot key's first {a.hot_fails} "
            "requests. Latency (ingest request sent -> delivery received) of the other keys' events.",
            "",
            "| round | variant | achieved/s | other keys' events | delivered | p50 ms | p95 ms | p99 ms "
            "| hot key delivered | hot key p50 / p99 ms | 500s |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in h["runs"]:
            lines.append(
                f"| {r['round']} | {r['kind']} | {r['achieved_per_s']} | {r['events']} | {r['delivered']} "
                f"| {ms(r['p50_ms'])} | {ms(r['p95_ms'])} | {ms(r['p99_ms'])} "
                f"| {r['hot_delivered']}/{r['hot_events']} | {ms(r['hot_p50_ms'])} / {ms(r['hot_p99_ms'])} "
                f"| {r['answered_500']} |"
            )
        lines += ["", "| median of rounds | baseline | hot | hot / baseline |", "|---|---|---|---|"]
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            v = h[key]
            lines.append(f"| {key} | {ms(v['baseline'])} | {ms(v['hot'])} | {v['ratio']} |")
        lines += [
            "",
            f"Goal: p50 and p99 ratio <= {GOAL_LATENCY}: **{'met' if h['goal_met'] else 'not met'}**.",
            "",
        ]
    data = {
        "engine": a.engine,
        "rounds": a.rounds,
        "events": a.events,
        "keys": a.keys,
        "rate": a.rate,
        "duration_s": a.duration,
        "hot_share": a.hot_share,
        "hot_fails": a.hot_fails,
        "tick_ms": a.tick_ms,
        "cores": os.cpu_count(),
        "load_before": a.load_before,
        **result,
    }
    write(f"ordering_{a.engine}" + (f"_{a.name}" if a.name else ""), data, "\n".join(lines))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if args.only in ("", "throughput"):
        result["throughput"] = await throughput(args)
    if args.only in ("", "hot"):
        result["hot"] = await hot_key(args)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--only", choices=["", "throughput", "hot"], default="")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--events", type=int, default=20_000, help="events per throughput run")
    parser.add_argument("--keys", type=int, default=1000, help="customer keys")
    parser.add_argument("--rate", type=float, default=1000.0, help="offered events/s of the hot-key runs")
    parser.add_argument("--hot-share", type=float, default=0.1, help="share of the events on the hot key")
    parser.add_argument("--hot-fails", type=int, default=5, help="500s the hot key's receiver answers first")
    open_loop_options(parser, tick_ms=10.0)
    parser.add_argument("--name", default="", help="suffix of the results files (ordering_ENGINE[_NAME])")
    args = parser.parse_args()
    if args.events > 200_000 or args.keys < 2:
        parser.error("--events is bounded to 200,000 and --keys must be at least 2")
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report(asyncio.run(run(args)), args)


if __name__ == "__main__":
    main()
