"""End-to-end deliveries per second: hookline against the baselines, measured in one run.

Scenarios, each to the same fast local receiver (bench/receiver.py, its own process):

- ``hookline-sqlite``: `hookline serve` on an SQLite file; EVENTS events with fan-out FANOUT are posted in
  batches of 500; deliveries/s from the first ingest to the last 2xx received.
- ``hookline-postgres``: `hookline api` + one `hookline worker` on PostgreSQL, the same way.
- ``celery``: Celery 5 + Redis + requests (prefork, 2 processes: one per core), signing included; the
  EVENTS x FANOUT tasks are enqueued first and deliveries/s is measured at the receiver, first to last POST.
- ``aiohttp``: the bare client ceiling: the same number of signed POSTs from one process, 100 in flight.
- ``curl``: hookline's own libcurl sender (``CurlSender``, the worker's default) with nothing else: the same
  signed POSTs, 100 in flight, on uvloop as `hookline serve` runs. No storage, no queue: the most hookline's
  deliveries could reach on this machine, and ``curl / celery`` the highest ratio any hookline could show.

    uv sync --group bench && .venv/bin/python bench/throughput.py [--events 5000] [--fanout 2]

Writes bench/results/throughput.{json,md,png}.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop
from common import (
    HERE,
    OPERATOR,
    commands_for,
    database,
    event_body,
    free_port,
    hookline_env,
    process,
    receiver,
    reset,
    wait_count,
    write,
)
from senders import SIGNERS, drive

from hookline.core import signing
from hookline.sender.curl import open_curl_sender
from hookline.sender.port import Options

BATCH = 500


async def _ready(http: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("hookline did not become ready")


async def _setup(http: httpx.AsyncClient, target: str, fanout: int, route_extra: dict[str, Any]) -> str:
    op = {"Authorization": f"Bearer {OPERATOR}"}
    merchant = (await http.post("/v1/merchants", json={"name": "bench"}, headers=op)).json()
    key = {"Authorization": f"Bearer {merchant['api_key']}"}
    for i in range(fanout):
        t = (await http.post("/v1/targets", json={"url": f"{target}/t{i}"}, headers=key)).json()
        route = {"name": f"r{i}", "target_id": t["id"], "event_types": ["order.*"], **route_extra}
        (await http.post("/v1/routes", json=route, headers=key)).raise_for_status()
    return str(merchant["id"])


async def _ingest(
    http: httpx.AsyncClient, merchant_id: str, events: int, body: Callable[[int], dict[str, Any]]
) -> float:
    op = {"Authorization": f"Bearer {OPERATOR}", "content-type": "application/json"}
    start = time.time()
    for b in range(0, events, BATCH):
        data = orjson.dumps({"events": [body(i) for i in range(b, min(b + BATCH, events))]})
        r = await http.post(f"/v1/events?merchant={merchant_id}", content=data, headers=op, timeout=60)
        r.raise_for_status()
    return start


async def _hookline(
    target: str,
    env: dict[str, str],
    commands: list[str],
    events: int,
    fanout: int,
    route_extra: dict[str, Any],
    body: Callable[[int], dict[str, Any]],
) -> dict[str, Any]:
    hookline = [sys.executable, "-m", "hookline"]
    procs = [process([*hookline, c], env) for c in commands]
    for p in procs:
        p.__enter__()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{env['HOOKLINE_PORT']}") as http:
            await _ready(http)
            merchant_id = await _setup(http, target, fanout, route_extra)
            reset(target)
            start = await _ingest(http, merchant_id, events, body)
            ingested = time.time() - start
            got = wait_count(target, events * fanout, 600)
    finally:
        for p in reversed(procs):
            p.__exit__(None, None, None)
    seconds = got["last"] - start
    return {
        "deliveries": got["n"],
        "seconds": round(seconds, 3),
        "per_s": round(got["n"] / seconds, 1),
        "ingest_events_per_s": round(events / ingested, 1),
    }


async def hookline_on(
    engine: str,
    target: str,
    events: int,
    fanout: int,
    route_extra: dict[str, Any] | None = None,
    body: Callable[[int], dict[str, Any]] = event_body,
) -> dict[str, Any]:
    """`hookline serve` on a fresh SQLite file, or `api` + one `worker` on a fresh PostgreSQL database.

    ``route_extra``: more fields of every route (e.g. ``{"ordering": "customer"}``); ``body(i)``: event i."""
    async with database(engine) as url:
        env = hookline_env(url, free_port())
        return await _hookline(target, env, commands_for(engine), events, fanout, route_extra or {}, body)


def celery(target: str, events: int, fanout: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import celery_app
    import redis

    redis.Redis(db=15).flushdb()
    body = orjson.dumps({"id": "evt", "type": "order.reminder", "data": event_body(0)["data"]}).decode()
    n = events * fanout
    reset(target)
    for i in range(n):
        celery_app.deliver.delay(f"{target}/celery", f"msg_{i}", body)
    worker = ["celery", "-A", "celery_app", "worker", "-P", "prefork", "-c", "2", "--loglevel", "WARNING"]
    with process([str(Path(sys.executable).parent / worker[0]), *worker[1:]], {"PYTHONPATH": str(HERE)}):
        return _received(target, n, 600)


def _received(target: str, n: int, timeout: float) -> dict[str, Any]:
    """Deliveries/s at the receiver, its first POST to its last, once ``n`` have arrived."""
    got = wait_count(target, n, timeout)
    seconds = got["last"] - got["first"]
    return {"deliveries": got["n"], "seconds": round(seconds, 3), "per_s": round(got["n"] / seconds, 1)}


async def aiohttp_ceiling(target: str, events: int, fanout: int) -> dict[str, Any]:
    import aiohttp

    n = events * fanout
    body = orjson.dumps({"id": "evt", "type": "order.reminder", "data": event_body(0)["data"]})
    reset(target)
    queue = iter(range(n))

    async def sender(session: aiohttp.ClientSession) -> None:
        for i in queue:
            headers = signing.headers([b"bench-key"], f"msg_{i}", "evt", int(time.time()), body, SIGNERS)
            headers["content-type"] = "application/json"
            async with session.post(f"{target}/aiohttp", data=body, headers=headers) as response:
                await response.read()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        await asyncio.gather(*(sender(session) for _ in range(100)))
    return _received(target, n, 60)


async def curl_ceiling(target: str, events: int, fanout: int) -> dict[str, Any]:
    n = events * fanout
    body = orjson.dumps({"id": "evt", "type": "order.reminder", "data": event_body(0)["data"]})
    reset(target)
    async with open_curl_sender(Options(allow_private=True, max_connections=100)) as sender:
        failed = await drive(sender, f"{target}/curl", body, n, 100)
    if failed:
        raise SystemExit(f"the bare curl sender failed {failed} of {n} POSTs")
    return _received(target, n, 60)


def chart(rows: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(
        names,
        [rows[n]["per_s"] for n in names],
        color=["#2b6cb0", "#2c7a7b", "#a0aec0", "#718096", "#4a5568"],
    )
    ax.set_xlabel("deliveries per second (higher is better)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--fanout", type=int, default=2)
    parser.add_argument("--only", default="hookline-sqlite,hookline-postgres,celery,aiohttp,curl")
    parser.add_argument("--name", default="", help="suffix of the results files (throughput[_NAME])")
    args = parser.parse_args()
    wanted = args.only.split(",")
    rows: dict[str, dict[str, Any]] = {}
    with receiver() as target:
        if "hookline-sqlite" in wanted:
            rows["hookline-sqlite"] = asyncio.run(hookline_on("sqlite", target, args.events, args.fanout))
        if "hookline-postgres" in wanted:
            rows["hookline-postgres"] = asyncio.run(hookline_on("postgres", target, args.events, args.fanout))
        if "celery" in wanted:
            rows["celery"] = celery(target, args.events, args.fanout)
        if "aiohttp" in wanted:
            rows["aiohttp"] = asyncio.run(aiohttp_ceiling(target, args.events, args.fanout))
        if "curl" in wanted:
            rows["curl"] = uvloop.run(curl_ceiling(target, args.events, args.fanout))
    ratios = {}
    for name in ("hookline-sqlite", "hookline-postgres", "curl"):
        for base in ("celery", "aiohttp", "curl"):
            if name != base and name in rows and base in rows:
                ratios[f"{name} / {base}"] = round(rows[name]["per_s"] / rows[base]["per_s"], 2)
    stem = "throughput" + (f"_{args.name}" if args.name else "")
    result = {
        "load_average": os.getloadavg(),
        "events": args.events,
        "fanout": args.fanout,
        "cores": os.cpu_count(),
        "rows": rows,
        "ratios": ratios,
    }
    lines = [
        "# End-to-end throughput",
        "",
        f"{args.events} events x fan-out {args.fanout} = {args.events * args.fanout} signed deliveries to a "
        f"local receiver; {os.cpu_count()} cores shared by everything; load average at the end of the run: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}. "
        f"Run: `cd bench && ../.venv/bin/python throughput.py{f' --name {args.name}' if args.name else ''}`.",
        "",
        "| scenario | deliveries | seconds | deliveries/s |",
        "|---|---|---|---|",
        *(f"| {k} | {v['deliveries']:.0f} | {v['seconds']} | {v['per_s']} |" for k, v in rows.items()),
        "",
        *(f"- {k}: **{v}x**" for k, v in ratios.items()),
        "",
    ]
    write(stem, result, "\n".join(lines))
    chart(rows, Path(HERE / "results" / f"{stem}.png"))


if __name__ == "__main__":
    main()
