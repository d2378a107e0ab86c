"""Shared pieces of the benchmarks: free ports, child processes, the receiver's counters, results files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results"
PG = os.environ.get("HOOKLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OPERATOR = "hl_op_bench_operator"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str] | None = None, ready: str | None = None) -> Iterator[Any]:
    """A child process, stopped (TERM, then KILL) when the block ends; optionally wait for a line."""
    proc = subprocess.Popen(
        args,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE if ready else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        if ready:
            assert proc.stdout is not None
            deadline = time.monotonic() + 30
            for line in proc.stdout:
                if ready in line or time.monotonic() > deadline:
                    break
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.contextmanager
def receiver(delay: float = 0.0, arrivals: bool = False, extra: tuple[str, ...] = ()) -> Iterator[str]:
    """bench/receiver.py in its own process; ``arrivals``: it records each event id's arrival time;
    ``extra``: more of its options (e.g. ``--fail-key``)."""
    port = free_port()
    args = [sys.executable, str(HERE / "receiver.py"), str(port), str(delay), *extra]
    with process(args + (["--arrivals"] if arrivals else []), ready="ready"):
        yield f"http://127.0.0.1:{port}"


def stats(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url + "/stats", timeout=5) as response:
        data: dict[str, float] = json.loads(response.read())
        return data


def reset(url: str) -> None:
    urllib.request.urlopen(url + "/reset", timeout=5).close()


def arrivals(url: str) -> dict[str, Any]:
    """A recording receiver's ``{"arrivals": {event_id: time.time()}, "duplicates": n, "dropped": n}``."""
    with urllib.request.urlopen(url + "/arrivals", timeout=60) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def hookline_env(database_url: str, port: int) -> dict[str, str]:
    """The environment of a benchmarked hookline process (targets on 127.0.0.1 allowed, quiet logs)."""
    return {
        "HOOKLINE_DATABASE_URL": database_url,
        "HOOKLINE_PORT": str(port),
        "HOOKLINE_OPERATOR_KEY": OPERATOR,
        "HOOKLINE_ALLOW_PRIVATE_TARGETS": "true",
        "HOOKLINE_LOG_LEVEL": "WARNING",
    }


@contextlib.asynccontextmanager
async def database(engine: str) -> AsyncIterator[str]:
    """A fresh database URL: an SQLite file in a temporary folder, or a migrated PostgreSQL database
    (created on the server of ``HOOKLINE_TEST_POSTGRES_URL``, dropped at the end)."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import asyncpg

    name = f"hl_bench_{uuid.uuid4().hex[:8]}"
    base = PG.rpartition("/")[0]
    admin = await asyncpg.connect(base + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, **hookline_env(f"{base}/{name}", 0)}
        migrate = [sys.executable, "-m", "hookline", "migrate"]
        subprocess.run(migrate, env=env, check=True, capture_output=True, timeout=120)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def hookline(
    command: str, env: dict[str, str], ready: str | None = None
) -> contextlib.AbstractContextManager[Any]:
    """``python -m hookline COMMAND`` as a child process (see ``process``)."""
    return process([sys.executable, "-m", "hookline", command], env, ready=ready)


def open_loop_options(parser: argparse.ArgumentParser, *, tick_ms: float) -> None:
    """The options of an open-loop load (``latency.open_loop``) and of waiting for its deliveries."""
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load (per rate)")
    parser.add_argument("--max-events", type=int, default=100_000, help="events of one load at most")
    parser.add_argument("--tick-ms", type=float, default=tick_ms, help="ms between two sends of the load")
    parser.add_argument("--max-inflight", type=int, default=128, help="ingest requests outstanding at most")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for deliveries")


def commands_for(engine: str) -> list[str]:
    """What runs hookline on an engine: ``serve`` on SQLite, ``api`` and one ``worker`` on PostgreSQL."""
    return ["serve"] if engine == "sqlite" else ["api", "worker"]


@contextlib.asynccontextmanager
async def running(database_url: str, commands: list[str], connections: int) -> AsyncIterator[Api]:
    """hookline's ``commands`` as child processes on the database, and an ``Api`` on a session of at most
    ``connections`` connections, once hookline is ready; the processes are stopped when the block ends."""
    import aiohttp

    env = hookline_env(database_url, free_port())
    with contextlib.ExitStack() as stack:
        for command in commands:
            stack.enter_context(hookline(command, env))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
            api = Api(session, f"http://127.0.0.1:{env['HOOKLINE_PORT']}")
            await api.ready()
            yield api


class Api:
    """The few calls of hookline's API the benchmarks need, on one aiohttp session."""

    def __init__(self, session: Any, base: str) -> None:
        self.session = session
        self.base = base
        self.op = {"Authorization": f"Bearer {OPERATOR}"}

    async def ready(self, timeout_s: float = 60) -> None:
        import aiohttp

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                async with self.session.get(self.base + "/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise SystemExit("hookline did not become ready")

    async def _post(self, path: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else self.op
        async with self.session.post(self.base + path, json=body, headers=headers) as r:
            if r.status >= 300:
                raise SystemExit(f"POST {path}: {r.status} {await r.text()}")
            data: dict[str, Any] = await r.json()
            return data

    async def merchant(self, name: str = "bench") -> dict[str, Any]:
        """A new merchant: ``{"id": ..., "api_key": ...}``."""
        return await self._post("/v1/merchants", {"name": name})

    async def route(self, merchant: dict[str, Any], name: str, url: str, **extra: Any) -> str:
        """A target at ``url`` and a route of every ``order.*`` event to it; the route's id."""
        target = await self._post("/v1/targets", {"url": url}, merchant["api_key"])
        route = {"name": name, "target_id": target["id"], "event_types": ["order.*"], **extra}
        return str((await self._post("/v1/routes", route, merchant["api_key"]))["id"])

    async def ingest(self, merchant_id: str, body: bytes, timeout_s: float = 120) -> int:
        """POST a serialized ``{"events": [...]}`` for the merchant; the HTTP status."""
        import aiohttp

        headers = {**self.op, "content-type": "application/json"}
        url = f"{self.base}/v1/events?merchant={merchant_id}"
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with self.session.post(url, data=body, headers=headers, timeout=timeout) as r:
            await r.read()
            return int(r.status)


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of an ascending list (inf for missing values sorts last)."""
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def batch_body(ids: list[str], start: int) -> bytes:
    """``{"events": [...]}`` with the given event ids, bodies from ``event_body``."""
    import orjson

    return orjson.dumps({"events": [{**event_body(start + k), "id": e} for k, e in enumerate(ids)]})


def wait_count(url: str, expected: int, timeout_s: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    while True:
        current = stats(url)
        if current["n"] >= expected or time.monotonic() > deadline:
            return current
        time.sleep(0.05)


def write(name: str, result: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def event_body(i: int) -> dict[str, Any]:
    """A realistic order event of about 1.5 KB once enveloped."""
    return {
        "id": f"evt-{i}",
        "type": "order.reminder",
        "data": {
            "object": {
                "type": "order",
                "merchant": "bench",
                "public_id": f"ord-{i}",
                "customer": f"cust-{i % 997}",
                "payment": "pay-1",
                "shipping_address": "addr-1",
                "sub_total": "25.00",
                "tax_total": "2.00",
                "shipping_total": "0.00",
                "discount_total": "2.50",
                "total": "24.50",
                "created": 1_700_000_000,
                "place": "2026-12-05",
                "cancelled": None,
                "tries": 0,
                "generic_error_count": 0,
                "status": 1,
                "status_display": "Unsent",
                "order_merchant_id": None,
                "rejected_message": None,
                "extra_data": {"note": "x" * 700},
            }
        },
    }


async def order_routes(ctx: Any, fan_out: int) -> str:
    """A new merchant with ``fan_out`` routes taking ``order.*`` to one target (in-process benchmarks, on
    ``service``); its id."""
    from hookline.service import merchants, routes, targets

    merchant, _ = await merchants.create(ctx, "bench")
    target = await targets.create(ctx, merchant.id, "https://example.com/hook")
    for n in range(fan_out):
        spec = {"name": f"r{n}", "target_id": target.id, "event_types": ["order.*"]}
        await routes.create(ctx, merchant.id, spec)
    return str(merchant.id)
