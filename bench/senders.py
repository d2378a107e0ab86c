"""The two senders side by side: hookline's aiohttp ``Sender`` and its libcurl ``CurlSender``, in one run.

N signed POSTs of a ~1.5 KB event, C in flight, from this process to bench/receiver.py (its own process),
through the real ``send`` of each sender: URL check, header merge, signing per POST as the worker does, and
the ``Outcome``. Rounds alternate the clients so the box's noise falls on both; figures are medians, with
every run listed. CPU is this process's user+sys time (getrusage) over the timed phase; a warm-up is
excluded. ``--pin`` pins this process to core 0 (the receiver keeps the others), as the reference baseline
did; leave it off on a box that other work shares.

    .venv/bin/python bench/senders.py [--n 20000] [--concurrency 100] [--rounds 5] [--warmup 1000] [--pin]

Writes bench/results/senders.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pycurl
from common import event_body, receiver, stats, write

from hookline.core import keypairs, signing
from hookline.sender.curl import open_curl_sender
from hookline.sender.http import open_sender

CLIENTS = {"aiohttp": open_sender, "curl": open_curl_sender}
KEY = b"bench-signing-key"
# Signed as the worker signs: HMAC (Ordergroove, Standard Webhooks v1) and Ed25519 (v1a).
SIGNERS = (keypairs.signer(keypairs.new_private_key()),)


async def drive(sender: Any, url: str, body: bytes, n: int, concurrency: int) -> int:
    """Send ``n`` signed POSTs from ``concurrency`` lanes; the number that failed."""
    numbers = iter(range(n))
    failed = 0

    async def lane() -> None:
        nonlocal failed
        for i in numbers:
            headers = signing.headers([KEY], f"msg_{i}", "evt", int(time.time()), body, SIGNERS)
            outcome = await sender.send(url, body, headers, 10.0)
            failed += outcome.error is not None

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return failed


async def measure(client: str, url: str, n: int, concurrency: int, warmup: int) -> dict[str, Any]:
    body = orjson.dumps({"id": "evt", "type": "order.reminder", "data": event_body(0)["data"]})
    async with CLIENTS[client](allow_private=True, max_connections=concurrency) as sender:
        await drive(sender, url + "/warmup", body, warmup, concurrency)
        before = resource.getrusage(resource.RUSAGE_SELF)
        clock = time.perf_counter()
        failed = await drive(sender, url + f"/{client}", body, n, concurrency)
        seconds = time.perf_counter() - clock
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "posts": n,
        "failed": failed,
        "seconds": round(seconds, 3),
        "per_s": round(n / seconds, 1),
        "cpu_us_per_post": round(cpu / n * 1e6, 1),
    }


def _runner() -> tuple[str, Callable[[Awaitable[Any]], Any]]:
    """uvloop as ``hookline`` runs on it (cli.py), else the stock loop."""
    try:
        import uvloop
    except ImportError:
        return "asyncio", asyncio.run
    return "uvloop", uvloop.run


def _markdown(result: dict[str, Any]) -> str:
    rows = result["clients"]
    lines = [
        "# Senders: aiohttp vs libcurl",
        "",
        f"{result['n']} signed POSTs per run, {result['concurrency']} in flight, {result['rounds']} rounds "
        f"interleaved, {result['loop']}, receiver in its own process; {result['cpus']} cores"
        f"{', sender pinned to core 0' if result['pinned'] else ''}. "
        "Run: `.venv/bin/python bench/senders.py`.",
        "",
        "| client | median POSTs/s | runs | median CPU µs / POST | runs | failed |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        runs = ", ".join(f"{r['per_s']:,.0f}" for r in row["runs"])
        cpus = ", ".join(f"{r['cpu_us_per_post']:.0f}" for r in row["runs"])
        lines.append(
            f"| {name} | **{row['per_s']:,.0f}** | {runs} | **{row['cpu_us_per_post']:.0f}** | {cpus} "
            f"| {row['failed']} |"
        )
    lines += ["", *(f"- {k}: **{v}x**" for k, v in result["ratios"].items()), ""]
    lines += [f"Versions: {result['versions']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--pin", action="store_true", help="pin this process to core 0")
    args = parser.parse_args()
    loop_name, run = _runner()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CLIENTS}
    with receiver() as url:
        if args.pin:
            os.sched_setaffinity(0, {0})
        for round_ in range(args.rounds):
            order = list(CLIENTS) if round_ % 2 == 0 else list(reversed(CLIENTS))
            for name in order:
                row = run(measure(name, url, args.n, args.concurrency, args.warmup))
                runs[name].append(row)
                print(f"round {round_ + 1} {name}: {row}", flush=True)
        received = stats(url)["n"]
    clients = {
        name: {
            "per_s": statistics.median(r["per_s"] for r in rows),
            "cpu_us_per_post": statistics.median(r["cpu_us_per_post"] for r in rows),
            "failed": sum(r["failed"] for r in rows),
            "runs": rows,
        }
        for name, rows in runs.items()
    }
    aio, curl = clients["aiohttp"], clients["curl"]
    result = {
        "n": args.n,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "loop": loop_name,
        "cpus": os.cpu_count(),
        "pinned": args.pin,
        "received_by_receiver": received,
        "clients": clients,
        "ratios": {
            "curl / aiohttp, POSTs/s": round(curl["per_s"] / aio["per_s"], 2),
            "aiohttp / curl, CPU per POST": round(aio["cpu_us_per_post"] / curl["cpu_us_per_post"], 2),
        },
        "versions": f"Python {platform.python_version()}, {pycurl.version}",
    }
    write("senders", result, _markdown(result))


if __name__ == "__main__":
    main()
