"""Deliveries per second through PostgreSQL with 1 and with 2 worker processes, in one run.

Starts `hookline api` on a fresh PostgreSQL database and a fast local receiver (aiohttp, 200 to everything)
in this process, ingests EVENTS events in batches with fan-out FANOUT, then starts N `hookline worker`
processes and times the drain of that backlog, from the first delivery received to the last. Ingestion is
timed separately, so the figure is the workers' own rate, not the API's.
Writes bench/results/workers.json and .md.

    .venv/bin/python bench/workers.py [--events 3000] [--fanout 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from aiohttp import web

PG = os.environ.get("HOOKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN = PG.rpartition("/")[0] + "/postgres"
OPERATOR = "hl_op_bench"
RESULTS = Path(__file__).parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def receiver(counter: dict[str, float]) -> tuple[web.AppRunner, str]:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        counter["n"] += 1
        counter["last"] = time.perf_counter()
        counter["first"] = counter["first"] or counter["last"]
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def spawn(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "hookline", command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run_once(workers: int, events: int, fanout: int) -> dict[str, float]:
    name = f"hl_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = PG.rpartition("/")[0] + "/" + name
    port = free_port()
    env = {
        **os.environ,
        "HOOKLINE_DATABASE_URL": url,
        "HOOKLINE_PORT": str(port),
        "HOOKLINE_OPERATOR_KEY": OPERATOR,
        "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
        "HOOKLINE_LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "-m", "hookline", "migrate"], env=env, check=True, capture_output=True)
    counter = {"n": 0.0, "last": 0.0, "first": 0.0}
    runner, target = await receiver(counter)
    procs = [spawn("api", env)]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for _ in range(200):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            op = {"Authorization": f"Bearer {OPERATOR}"}
            merchant = (await http.post("/v1/merchants", json={"name": "bench"}, headers=op)).json()
            mk = {"Authorization": f"Bearer {merchant['api_key']}"}
            for i in range(fanout):
                t = (await http.post("/v1/targets", json={"url": f"{target}/t{i}"}, headers=mk)).json()
                await http.post(
                    "/v1/routes",
                    headers=mk,
                    json={"name": f"r{i}", "target_id": t["id"], "event_types": ["order.*"]},
                )
            start = time.perf_counter()
            batch = 100
            for b in range(0, events, batch):
                body = {
                    "events": [
                        {
                            "id": f"e{b + j}",
                            "type": "order.reminder",
                            "data": {"object": {"public_id": f"o{b + j}", "customer": "c1"}},
                        }
                        for j in range(min(batch, events - b))
                    ]
                }
                r = await http.post(f"/v1/events?merchant={merchant['id']}", json=body, headers=op)
                r.raise_for_status()
            ingested = time.perf_counter() - start
            procs += [spawn("worker", env) for _ in range(workers)]
            expected = events * fanout
            deadline = time.perf_counter() + 300
            while counter["n"] < expected and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            elapsed = counter["last"] - counter["first"]
            return {
                "workers": workers,
                "deliveries": counter["n"],
                "expected": expected,
                "seconds": round(elapsed, 3),
                "ingest_seconds": round(ingested, 3),
                "ingested_events_per_s": round(events / ingested, 1),
                "deliveries_per_s": round(counter["n"] / elapsed, 1),
            }
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
        await runner.cleanup()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--fanout", type=int, default=3)
    args = parser.parse_args()
    rows = [await run_once(w, args.events, args.fanout) for w in (1, 2)]
    ratio = rows[1]["deliveries_per_s"] / rows[0]["deliveries_per_s"]
    result = {
        "events": args.events,
        "fanout": args.fanout,
        "runs": rows,
        "two_vs_one": round(ratio, 2),
        "machine": f"{os.cpu_count()} cores",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "workers.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# PostgreSQL: one vs two worker processes",
        "",
        f"{args.events} events x fan-out {args.fanout} ingested first, then drained by the workers to a fast "
        "local receiver (first to last delivery received); run `.venv/bin/python bench/workers.py`; "
        f"{os.cpu_count()} cores.",
        "",
        "| workers | deliveries | seconds | deliveries/s |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['workers']} | {r['deliveries']:.0f} | {r['seconds']} | {r['deliveries_per_s']} |" for r in rows
    ]
    lines += ["", f"Two workers / one worker: **{ratio:.2f}x**", ""]
    (RESULTS / "workers.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
