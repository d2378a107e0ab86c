"""Deliveries per second and CPU per delivery through PostgreSQL with 1, 2 and 4 worker processes, in one
run.

Starts `hookline api` on a fresh PostgreSQL database and a fast local receiver (aiohttp, 200 to everything)
in this process, ingests EVENTS events in batches with fan-out FANOUT, then starts N `hookline worker`
processes and times the drain of that backlog, from the first delivery received to the last. Ingestion is
timed separately, so the figure is the workers' own rate, not the API's.

CPU per delivery: the CPU time (user + system, from ``/proc``) that the worker processes and every
PostgreSQL process used from the moment the backlog became due to the last delivery, divided by the
deliveries. The routes are halted while the backlog is ingested and resumed once the workers have started,
so a worker's start-up is not counted. On two cores throughput cannot grow with workers; what this shows
is whether each delivery costs more when workers compete for the same queue (claims that collide, locks,
wasted wake-ups).
``--ordering customer`` makes the routes ordered (997 customers, so 997 keys per route).
Writes bench/results/workers[_ORDERING].json and .md.

    .venv/bin/python bench/workers.py [--events 3000] [--fanout 3] [--workers 1,2,4] [--ordering none]
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
from common import event_body

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


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """User + system clock ticks used so far by each of ``pids`` still alive."""
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on this machine (the server's own and each connection's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def used_s(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds used between the two readings (a process born in between counts from zero)."""
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")


async def counters(admin: asyncpg.Connection, name: str) -> dict[str, int]:
    """The database's transactions and rows so far (``pg_stat_database``; flushed within a second)."""
    row = await admin.fetchrow(
        "SELECT xact_commit + xact_rollback AS transactions, tup_returned + tup_fetched AS rows_read,"
        " tup_inserted + tup_updated + tup_deleted AS rows_written FROM pg_stat_database WHERE datname = $1",
        name,
    )
    assert row is not None
    return dict(row)


async def settled(pids: list[int]) -> None:
    """Wait (at most 30 s) until the processes have started: their CPU time stops growing for 0.5 s."""
    before = cpu_ticks(pids)
    for _ in range(60):
        await asyncio.sleep(0.5)
        now = cpu_ticks(pids)
        if now == before and sum(now.values()) > 0:
            return
        before = now


async def run_once(workers: int, events: int, fanout: int, ordering: str) -> dict[str, float]:
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
            route_ids: list[str] = []
            for i in range(fanout):
                t = (await http.post("/v1/targets", json={"url": f"{target}/t{i}"}, headers=mk)).json()
                route = await http.post(
                    "/v1/routes",
                    headers=mk,
                    json={
                        "name": f"r{i}",
                        "target_id": t["id"],
                        "event_types": ["order.*"],
                        "ordering": ordering,
                    },
                )
                route_ids.append(route.json()["id"])
                # Halted while the backlog is ingested (its deliveries are held): the workers start, settle,
                # and only then does the resume make the backlog due, so their start-up is not counted.
                await http.post(f"/v1/routes/{route_ids[-1]}/halt", headers=mk)
            start = time.perf_counter()
            batch = 100
            for b in range(0, events, batch):
                # 997 customers: with --ordering customer, 997 keys per route.
                body = {"events": [event_body(b + j) for j in range(min(batch, events - b))]}
                r = await http.post(f"/v1/events?merchant={merchant['id']}", json=body, headers=op)
                assert r.status_code == 202, r.text
            ingested = time.perf_counter() - start
            started = [spawn("worker", env) for _ in range(workers)]
            procs += started
            await settled([p.pid for p in started])
            await asyncio.sleep(1.1)  # the statistics of the ingest are flushed
            stats = await counters(admin, name)
            server = cpu_ticks(postgres_pids())
            workers_at = cpu_ticks([p.pid for p in started])
            for route_id in route_ids:
                (await http.post(f"/v1/routes/{route_id}/resume", headers=mk)).raise_for_status()
            expected = events * fanout
            deadline = time.perf_counter() + 300
            while counter["n"] < expected and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            elapsed = counter["last"] - counter["first"]
            worker_s = used_s(workers_at, cpu_ticks([p.pid for p in started]))
            server_s = used_s(server, cpu_ticks(postgres_pids()))
            delivered = max(counter["n"], 1)
            await asyncio.sleep(1.1)
            done = await counters(admin, name)
            per = {k: round((done[k] - stats[k]) / delivered, 2) for k in stats}
            return {
                "workers": workers,
                "deliveries": counter["n"],
                "expected": expected,
                "seconds": round(elapsed, 3),
                "ingest_seconds": round(ingested, 3),
                "ingested_events_per_s": round(events / ingested, 1),
                "deliveries_per_s": round(counter["n"] / elapsed, 1),
                "worker_cpu_s": round(worker_s, 2),
                "postgres_cpu_s": round(server_s, 2),
                "cpu_us_per_delivery": round(1e6 * (worker_s + server_s) / delivered, 1),
                "worker_cpu_us_per_delivery": round(1e6 * worker_s / delivered, 1),
                **{f"{k}_per_delivery": v for k, v in per.items()},
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
    parser.add_argument("--workers", default="1,2,4", help="worker process counts, comma-separated")
    parser.add_argument("--ordering", default="none", choices=["none", "object", "customer"])
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    load = os.getloadavg()
    rows = [await run_once(w, args.events, args.fanout, args.ordering) for w in counts]
    costs = [r["cpu_us_per_delivery"] for r in rows]
    spread = max(costs) / min(costs)
    result = {
        "events": args.events,
        "fanout": args.fanout,
        "ordering": args.ordering,
        "runs": rows,
        "cpu_per_delivery_max_over_min": round(spread, 3),
        "machine": f"{os.cpu_count()} cores",
        "load_before": [round(x, 2) for x in load],
    }
    name = "workers" if args.ordering == "none" else f"workers_{args.ordering}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    command = "`.venv/bin/python bench/workers.py" + (
        f" --ordering {args.ordering}`" if args.ordering != "none" else "`"
    )
    lines = [
        f"# PostgreSQL: {', '.join(map(str, counts))} worker processes (ordering: {args.ordering})",
        "",
        f"{args.events} events x fan-out {args.fanout} ingested first, then drained by the workers to a fast "
        f"local receiver (first to last delivery received); run {command}; {os.cpu_count()} cores; load "
        f"average before the run: {' '.join(f'{x:.2f}' for x in load)}. CPU: the workers' and every "
        "PostgreSQL process's, from the routes' resume (the workers started, routes halted until then) "
        "to the last delivery.",
        "",
        "| workers | deliveries | seconds | deliveries/s | worker CPU s | PostgreSQL CPU s "
        "| CPU µs per delivery | of it, workers' | transactions / delivery | rows read / delivery |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['workers']} | {r['deliveries']:.0f} | {r['seconds']} | {r['deliveries_per_s']} "
        f"| {r['worker_cpu_s']} | {r['postgres_cpu_s']} | {r['cpu_us_per_delivery']} "
        f"| {r['worker_cpu_us_per_delivery']} | {r['transactions_per_delivery']} "
        f"| {r['rows_read_per_delivery']} |"
        for r in rows
    ]
    lines += [
        "",
        f"CPU per delivery, most / least: **{spread:.3f}** (goal, issue 19: within 1.15).",
        "",
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
